"""yizhongw/self-instruct (Apache-2.0) snapshot -> ordinary user requests.

    python training/extract_selfinstruct.py GIT_DIR [--rev COMMIT]

The human-written instructions of ``human_eval/user_oriented_instructions.jsonl`` (252
requests motivated by real apps: Grammarly, Gmail, Sheets, ...) and ``data/seed_tasks.jsonl``
(175 seed tasks), each with its first instance's input appended after a blank line when it
has one (so many prompts carry an email, a table, code or a paragraph to work on). Model
outputs and the generated (GPT-3) instructions are not used.
"""

from __future__ import annotations

import argparse
import json

from _common import PROMPT, SOURCES, git_show, record, write_jsonl_gz


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="0b26ccaa415992100fa32df62d41b994cf928e23")
    args = ap.parse_args()
    out = []
    for path in ("human_eval/user_oriented_instructions.jsonl", "data/seed_tasks.jsonl"):
        for line in git_show(args.gitdir, args.rev, path).splitlines():
            if not line.strip():
                continue
            task = json.loads(line)
            text = task["instruction"].strip()
            instances = task.get("instances") or [{}]
            given = str(instances[0].get("input", "")).strip()
            if given:
                text += "\n\n" + given
            out.append(record(text, PROMPT, "self-instruct"))
    write_jsonl_gz(SOURCES / "self-instruct.jsonl.gz", out)


if __name__ == "__main__":
    main()
