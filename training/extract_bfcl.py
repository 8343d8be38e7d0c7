"""ShishirPatil/gorilla (Apache-2.0) snapshot -> ordinary agent user prompts.

    python training/extract_bfcl.py GIT_DIR [--rev COMMIT]

The user turns of the Berkeley Function Calling Leaderboard's question files
(``bfcl_eval/data/BFCL_v4_*.json``, one JSON object a line): requests people make of a
tool-using agent ("Find flights from Boston to Denver next Friday", "Move report.pdf to
temp"). Function schemas and answers are not used. A deterministic sample of LIMIT.
"""

from __future__ import annotations

import argparse
import json

from _common import PROMPT, SOURCES, git_ls, git_show, record, take, write_jsonl_gz

DATA = "berkeley-function-call-leaderboard/bfcl_eval/data"
LIMIT = 3000


def user_turns(question: object) -> list[str]:
    """The ``content`` of every user message, however deeply the turns are nested."""
    if isinstance(question, dict):
        content = question.get("content")
        return [content] if question.get("role") == "user" and isinstance(content, str) else []
    if isinstance(question, list):
        return [t for q in question for t in user_turns(q)]
    return []


def items(text: str) -> list[dict[str, object]]:
    """A question file's records: most are one JSON object a line, a few one JSON document."""
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError:
        doc = json.loads(text)
        return [d for d in (doc if isinstance(doc, list) else [doc]) if isinstance(d, dict)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="6ea57973c7a6097fd7c5915698c54c17c5b1b6c8")
    args = ap.parse_args()
    out = []
    for path in git_ls(args.gitdir, args.rev, DATA):
        name = path.rsplit("/", 1)[-1]
        if path.count("/") != DATA.count("/") + 1 or not name.startswith("BFCL_v4_"):
            continue
        for item in items(git_show(args.gitdir, args.rev, path)):
            turns = user_turns(item.get("question"))
            out += [record(t, PROMPT, "bfcl") for t in turns if 3 <= len(t.split()) <= 200]
    write_jsonl_gz(SOURCES / "bfcl.jsonl.gz", take(out, LIMIT))


if __name__ == "__main__":
    main()
