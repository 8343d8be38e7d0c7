"""Build data/pii/{tune,dev}.jsonl.gz from public NER snapshots (see data/README.md).

    python data/pii/build_pii_data.py --uner-ewt DIR --wnut17 DIR

Each DIR is a checkout (or git archive) of that repository at the commit the data card
names. Records: ``{"id", "text", "spans", "source", "split"}``; ``spans`` are
``[start, end, type]`` character ranges, type ``PERSON`` or ``LOCATION``.
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Record = dict[str, Any]
_TYPES = {"PER": "PERSON", "LOC": "LOCATION", "person": "PERSON", "location": "LOCATION"}


def _spans_of(tokens: list[str], tags: list[str], text: str) -> list[list[Any]] | None:
    """Character spans of the tagged entities; ``None`` when a token is not in ``text``."""
    offsets: list[tuple[int, int]] = []
    pos = 0
    for tok in tokens:
        at = text.find(tok, pos)
        if at < 0:
            return None
        offsets.append((at, at + len(tok)))
        pos = at + len(tok)
    spans: list[list[Any]] = []
    for i, tag in enumerate(tags):
        kind = _TYPES.get(tag[2:])
        if tag.startswith("B-") and kind:
            spans.append([offsets[i][0], offsets[i][1], kind])
        elif tag.startswith("I-") and kind and spans and spans[-1][2] == kind:
            spans[-1][1] = offsets[i][1]
    return spans


def read_uner(path: Path) -> Iterator[tuple[str, str, list[list[Any]]]]:
    """(sentence id, text, spans) of a UNER ``.iob2`` file (it keeps the original text)."""
    sent_id, text, tokens, tags = "", "", [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("# sent_id = "):
            sent_id = line[len("# sent_id = ") :]
        elif line.startswith("# text = "):
            text = line[len("# text = ") :]
        elif line.startswith("#"):
            continue
        elif line.strip():
            cols = line.split("\t")
            tokens.append(cols[1])
            tags.append(cols[2])
        elif tokens:
            spans = _spans_of(tokens, tags, text)
            if spans is not None:
                yield sent_id, text, spans
            tokens, tags = [], []


def read_conll(path: Path) -> Iterator[tuple[str, list[list[Any]]]]:
    """(text, spans) of a WNUT17 CoNLL file: tokens joined by single spaces."""
    tokens: list[str] = []
    tags: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip():
            tok, tag = line.split("\t")[:2]
            tokens.append(tok)
            tags.append(tag.strip())
        elif tokens:
            text = " ".join(tokens)
            spans = _spans_of(tokens, tags, text)
            if spans is not None:
                yield text, spans
            tokens, tags = [], []


def build(uner: Path, wnut: Path) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {"tune": [], "dev": []}
    seen: set[str] = set()
    for part, split in (("dev", "tune"), ("test", "dev")):
        for sent_id, text, spans in read_uner(uner / f"en_ewt-ud-{part}.iob2"):
            if text in seen:
                continue
            seen.add(text)
            rec = {"id": f"uner-ewt/{sent_id}", "text": text, "spans": spans}
            out[split].append({**rec, "source": "uner-ewt", "split": split})
    for name in ("emerging.dev.conll", "emerging.test.annotated"):
        for i, (text, spans) in enumerate(read_conll(wnut / name)):
            if text in seen:
                continue
            seen.add(text)
            rec = {"id": f"wnut17/{name.split('.')[1]}-{i:05d}", "text": text, "spans": spans}
            out["dev"].append({**rec, "source": "wnut17", "split": "dev"})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uner-ewt", type=Path, required=True)
    ap.add_argument("--wnut17", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    for split, records in build(args.uner_ewt, args.wnut17).items():
        with gzip.GzipFile(args.out / f"{split}.jsonl.gz", "wb", mtime=0) as fh:
            for rec in records:
                fh.write((json.dumps(rec, ensure_ascii=False) + "\n").encode())
        print(split, len(records))


if __name__ == "__main__":
    main()
