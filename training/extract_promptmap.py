"""utkusen/promptmap (MIT) snapshot -> direct attacks: system-prompt extraction, jailbreaks
and goal-hijacking ("distraction") prompts from its test rules.

    python training/extract_promptmap.py GIT_DIR [--rev COMMIT]

Only ``rules/{prompt_stealing,jailbreak,distraction}/``; the ``harmful``, ``hate`` and
``social_bias`` rules are harmful requests, not injections, and are left out.
"""

from __future__ import annotations

import argparse

from _common import DIRECT, SOURCES, git_ls, git_show, record, write_jsonl_gz
from ruamel.yaml import YAML

KINDS = ("prompt_stealing", "jailbreak", "distraction")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="d305132e38f28b4cdca5c5b4586f11904ed1836d")
    args = ap.parse_args()
    yaml = YAML(typ="safe")
    out = []
    for kind in KINDS:
        for path in git_ls(args.gitdir, args.rev, f"rules/{kind}"):
            rule = yaml.load(git_show(args.gitdir, args.rev, path))
            if isinstance(rule, dict) and isinstance(rule.get("prompt"), str):
                out.append(record(rule["prompt"], DIRECT, "promptmap", family=kind))
    write_jsonl_gz(SOURCES / "promptmap.jsonl.gz", out)


if __name__ == "__main__":
    main()
