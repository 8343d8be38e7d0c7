"""Build data/tone/{tune,dev}.jsonl.gz from public source snapshots (see data/README.md).

    python data/tone/build_tone_data.py --surge DIR --convabuse DIR --hatecheck DIR \
        --stormfront DIR

Each DIR is a checkout (or ``git archive COMMIT | tar -x -C DIR``) of that repository at
the commit the data card names: surge-ai/toxicity, amandacurry/convabuse,
paul-rottger/hatecheck-data and Vicomtech/hate-speech-dataset. Records: ``{"id", "text",
"label", "source", "kind", "split"}``; ``label`` 1 = offensive (toxic, abusive or hateful
by the source's own annotation; see below), 0 = not; ``kind`` is the source's finer label
(HateCheck functionality, ConvAbuse majority severity, Stormfront/Surge class).

Labels, per source:

- surge-ai/toxicity: ``is_toxic`` as given (``Toxic`` → 1).
- ConvAbuse: the ``user`` utterance (the turn the annotators judged). Each annotator chose
  one of not abusive / ambiguous / mildly / strongly / very strongly abusive; label 1 when
  more annotators chose an abusive grade than "not abusive", 0 when fewer, dropped on a
  tie (ambiguous votes count for neither side).
- HateCheck: ``label_gold`` (``hateful`` → 1), except where its gold label answers a
  different question from ours (hateful *to a protected group*, not offensive): non-hateful
  profanity (``profanity_nh``: "No fucking way.") and abuse aimed at objects, individuals or
  groups that are not protected (``target_obj_nh``, ``target_indiv_nh``,
  ``target_group_nh``: "You are a complete asshole.") are offensive and become 1;
  ``slur_reclaimed_nh`` (in-group use of a reclaimed slur) is contested for a brand
  account and is left out.
- Stormfront: ``hate`` → 1, ``noHate`` → 0 (``relation`` and ``idk/skip`` left out).
  Every ``hate`` sentence is kept, and 2,400 ``noHate`` ones drawn with
  ``random.Random(SEED)`` from the de-duplicated ones in id order (the whole set would
  quadruple the bench's time: better-profanity reads 20-200 texts a second).

Splits: ``dev`` is all of surge-ai/toxicity (held out by source) and ConvAbuse's own
``test`` split (held out by split: its train and valid parts are in ``tune``); ``tune`` is
everything else. Within a source a text is kept once (case and whitespace folded); a text
given both labels within a source is dropped; a tune text that is also in dev is dropped
from tune. Only Stormfront's ``noHate`` sentences are sampled, so the output depends only
on the snapshots and SEED. Files are written sorted by id, gzip mtime 0.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Record = dict[str, Any]
SEED = 20261205
STORMFRONT_NEGATIVES = 2400
#: HateCheck functionalities that are non-hateful but offensive (profanity, abuse)
_HATECHECK_OFFENSIVE = frozenset(
    {"profanity_nh", "target_obj_nh", "target_indiv_nh", "target_group_nh"}
)

_GRADES = ("1", "0", "-1", "-2", "-3")
_GRADE_NAME = {
    "1": "not-abusive",
    "0": "ambiguous",
    "-1": "mild",
    "-2": "strong",
    "-3": "very-strong",
}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def surge(root: Path) -> Iterator[Record]:
    with (root / "toxicity_en.csv").open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            toxic = row["is_toxic"].strip() == "Toxic"
            yield {
                "id": f"surge-toxicity/{i:04d}",
                "text": _clean(row["text"]),
                "label": int(toxic),
                "source": "surge-toxicity",
                "kind": "toxic" if toxic else "not-toxic",
            }


def _truthy(value: str | None) -> bool:
    return (value or "").strip() in ("1", "1.0")


def convabuse(root: Path, part: str, source: str) -> Iterator[Record]:
    path = root / "2_splits" / f"ConvAbuseEMNLP{part}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            votes: Counter[str] = Counter()
            for a in range(1, 9):
                for grade in _GRADES:
                    if _truthy(row.get(f"Annotator{a}_is_abuse.{grade}")):
                        votes[grade] += 1
                        break
            abusive = votes["-1"] + votes["-2"] + votes["-3"]
            if abusive == votes["1"] or not row["user"].strip():
                continue
            top = max(_GRADES, key=lambda g: (votes[g], g != "0"))
            yield {
                "id": f"convabuse-{part}/{int(float(row['example_id'])):05d}",
                "text": _clean(row["user"]),
                "label": int(abusive > votes["1"]),
                "source": source,
                "kind": _GRADE_NAME[top],
            }


def hatecheck(root: Path) -> Iterator[Record]:
    with (root / "test_suite_cases.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            func = row["functionality"]
            if func == "slur_reclaimed_nh":
                continue
            label = row["label_gold"] == "hateful" or func in _HATECHECK_OFFENSIVE
            yield {
                "id": f"hatecheck/{int(float(row['case_id'])):05d}",
                "text": _clean(row["test_case"]),
                "label": int(label),
                "source": "hatecheck",
                "kind": func,
            }


def stormfront(root: Path) -> Iterator[Record]:
    with (root / "annotations_metadata.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["label"] not in ("hate", "noHate"):
                continue
            text = (root / "all_files" / f"{row['file_id']}.txt").read_text(encoding="utf-8")
            if not text.strip():
                continue
            yield {
                "id": f"stormfront/{row['file_id']}",
                "text": _clean(text),
                "label": int(row["label"] == "hate"),
                "source": "stormfront",
                "kind": row["label"],
            }


def _dedupe(records: list[Record], stats: Counter[str]) -> list[Record]:
    """One record per folded text and source; texts labelled both ways are dropped."""
    labels: dict[tuple[str, str], set[int]] = {}
    for r in records:
        labels.setdefault((r["source"], _norm(r["text"])), set()).add(r["label"])
    seen: set[tuple[str, str]] = set()
    out = []
    for r in sorted(records, key=lambda r: r["id"]):
        key = (r["source"], _norm(r["text"]))
        if len(labels[key]) > 1:
            stats[f"conflicting-label:{r['source']}"] += 1
            continue
        if key in seen:
            stats[f"duplicate:{r['source']}"] += 1
            continue
        seen.add(key)
        out.append(r)
    return out


def build(args: argparse.Namespace) -> tuple[dict[str, list[Record]], Counter[str]]:
    stats: Counter[str] = Counter()
    dev = _dedupe([*surge(args.surge), *convabuse(args.convabuse, "test", "convabuse-test")], stats)
    tune = _dedupe(
        [
            *convabuse(args.convabuse, "train", "convabuse-trainvalid"),
            *convabuse(args.convabuse, "valid", "convabuse-trainvalid"),
            *hatecheck(args.hatecheck),
            *stormfront(args.stormfront),
        ],
        stats,
    )
    dev_texts = {_norm(r["text"]) for r in dev}
    kept = []
    for r in tune:
        if _norm(r["text"]) in dev_texts:
            stats[f"in-dev:{r['source']}"] += 1
            continue
        kept.append(r)
    negatives = [r for r in kept if r["source"] == "stormfront" and not r["label"]]
    sampled = {r["id"] for r in random.Random(SEED).sample(negatives, STORMFRONT_NEGATIVES)}
    stats["not-sampled:stormfront"] = len(negatives) - len(sampled)
    kept = [r for r in kept if r["label"] or r["source"] != "stormfront" or r["id"] in sampled]
    out = {"tune": kept, "dev": dev}
    for split, rows in out.items():
        for r in rows:
            r["split"] = split
        rows.sort(key=lambda r: r["id"])
    return out, stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--surge", type=Path, required=True)
    ap.add_argument("--convabuse", type=Path, required=True)
    ap.add_argument("--hatecheck", type=Path, required=True)
    ap.add_argument("--stormfront", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    splits, stats = build(args)
    for split, records in splits.items():
        with gzip.GzipFile(args.out / f"{split}.jsonl.gz", "wb", mtime=0) as fh:
            for rec in records:
                fh.write((json.dumps(rec, ensure_ascii=False) + "\n").encode())
        by: dict[str, list[int]] = {}
        for r in records:
            by.setdefault(r["source"], [0, 0])[r["label"]] += 1
        print(split, len(records), {k: (v[1], v[0]) for k, v in sorted(by.items())})
    print(dict(sorted(stats.items())))


if __name__ == "__main__":
    main()
