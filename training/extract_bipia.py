"""microsoft/BIPIA (MIT) snapshot -> attacks to plant, agent documents, user questions.

    python training/extract_bipia.py SNAPSHOT_GIT_DIR [--rev COMMIT]

BIPIA's own train/test division is kept ("part"): train attacks go into train documents,
test attacks into test documents. Attack categories that are ordinary tasks on their own
("What is the capital of Brazil?") are left out: out of context they are benign requests.
"""

from __future__ import annotations

import argparse
import json

from _common import DOC, PLANT, PROMPT, SOURCES, git_show, record, take, write_jsonl_gz

TASK_CATEGORIES = {
    "Information Retrieval",
    "Content Creation",
    "Learning and Tutoring",
    "Programming Help",
    "Task Automation",
    "Business Intelligence",
    "Conversational Agent",
    "Research Assistance",
    "Sentiment Analysis",
}


def table_to_csv(md: str) -> str:
    rows = [ln.strip().strip("|").split("|") for ln in md.splitlines() if ln.strip()]
    return "\n".join(",".join(cell.strip() for cell in row) for row in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="1a2a91da6bb12838e05d1b2e54d98e2f37b835f3")
    args = ap.parse_args()
    out = []
    for part in ("train", "test"):
        for kind in ("text", "code"):
            attacks = json.loads(
                git_show(args.gitdir, args.rev, f"benchmark/{kind}_attack_{part}.json")
            )
            for category, items in attacks.items():
                if (category in TASK_CATEGORIES and category != "Language Translation") or (
                    category == "Language Translation" and part == "train"
                ):
                    continue
                out += [record(t, PLANT, f"bipia-{kind}-attack", part=part) for t in items]
        for task in ("email", "table", "code"):
            lines = git_show(args.gitdir, args.rev, f"benchmark/{task}/{part}.jsonl").splitlines()
            rows = [json.loads(ln) for ln in lines if ln.strip()]
            docs = []
            for row in rows:
                ctx = row["context"]
                ctx = "\n".join(ctx) if isinstance(ctx, list) else str(ctx)
                docs.append(record(ctx, DOC, f"bipia-{task}", part=part))
                if task == "table":
                    docs.append(record(table_to_csv(ctx), DOC, "bipia-table-csv", part=part))
                q = str(row.get("question", "")).removeprefix("Q: ").strip()
                if task != "code" and q:
                    out.append(record(q, PROMPT, f"bipia-{task}-question", part=part))
            out += take(docs, 500)
    write_jsonl_gz(SOURCES / "bipia.jsonl.gz", out)


if __name__ == "__main__":
    main()
