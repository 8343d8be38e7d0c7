"""A markdown documentation repository (the OWASP guides, CC-BY-SA-4.0) -> benign
security-themed sentences and documents.

    python training/extract_markdown.py GIT_DIR --rev COMMIT --under cheatsheets --name owasp-cheatsheets

Sentences of 6-60 words become ``security`` records (hard negatives: they talk about
attacks, injection and testing without being one); paragraphs become ``doc`` records
(what a browsing tool would return).
"""

from __future__ import annotations

import argparse

from _common import (
    DOC,
    SECURITY,
    SOURCES,
    git_ls,
    git_show,
    markdown_paragraphs,
    record,
    sentences,
    take,
    write_jsonl_gz,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", required=True)
    ap.add_argument("--under", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--max-sentences", type=int, default=3000)
    ap.add_argument("--max-docs", type=int, default=800)
    args = ap.parse_args()
    sents, docs = [], []
    for path in git_ls(args.gitdir, args.rev, args.under):
        if not path.endswith(".md"):
            continue
        paras = markdown_paragraphs(git_show(args.gitdir, args.rev, path))
        for p in paras:
            words = len(p.split())
            if words >= 40:
                docs.append(record(p, DOC, args.name))
            sents += [
                record(s, SECURITY, args.name) for s in sentences(p) if 6 <= len(s.split()) <= 60
            ]
    out = take(sents, args.max_sentences) + take(docs, args.max_docs)
    write_jsonl_gz(SOURCES / f"{args.name}.jsonl.gz", out)


if __name__ == "__main__":
    main()
