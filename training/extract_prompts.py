"""f/awesome-chatgpt-prompts (CC0-1.0) snapshot -> ordinary user prompts.

    python training/extract_prompts.py GIT_DIR [--rev COMMIT]

prompts.csv at a fixed commit of late 2024 (the file has since grown to several MB; later
versions are not used). Persona requests ("I want you to act as a linux terminal") are benign role-play:
hard negatives for role-play jailbreaks.
"""

from __future__ import annotations

import argparse
import csv
import io

from _common import PROMPT, SOURCES, git_show, record, write_jsonl_gz


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="078df58ab884d730740cad1bd503d9e104873357")
    args = ap.parse_args()
    rows = csv.DictReader(io.StringIO(git_show(args.gitdir, args.rev, "prompts.csv")))
    out = [record(r["prompt"], PROMPT, "awesome-chatgpt-prompts") for r in rows]
    write_jsonl_gz(SOURCES / "awesome-chatgpt-prompts.jsonl.gz", out)


if __name__ == "__main__":
    main()
