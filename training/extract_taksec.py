"""TakSec/Prompt-Injection-Everywhere (MIT) snapshot -> direct injection payloads.

python training/extract_taksec.py GIT_DIR [--rev COMMIT]
"""

from __future__ import annotations

import argparse

from _common import DIRECT, SOURCES, git_ls, git_show, record, write_jsonl_gz


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="9b69c8ae7958f68d562d484103a7b14b66983d63")
    args = ap.parse_args()
    out = []
    for path in git_ls(args.gitdir, args.rev, "."):
        if path.endswith(".txt") and path != "Prompt-Injection-Protection.txt":
            text = git_show(args.gitdir, args.rev, path)
            out += [record(ln, DIRECT, "taksec") for ln in text.splitlines() if ln.strip()]
    write_jsonl_gz(SOURCES / "taksec.jsonl.gz", out)


if __name__ == "__main__":
    main()
