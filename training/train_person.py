"""data/person/*.jsonl.gz (+ data/pii/tune.jsonl.gz) -> src/agentguard/models/person_weights.json.gz

    python training/train_person.py

A logistic regression over the words of capitalised runs (features and candidates come
from ``agentguard.models.person`` itself, so training and run time cannot disagree). A
word is positive when it overlaps a PERSON span (a title such as "Dr." never is). The name
lists (Census first names, the 30,000 most frequent last names), wordfreq's Zipf bands and
the common lower-case words of the texts ship inside the weights file. Protocol: for each grid point (C), fit on
``data/person/train.jsonl.gz``, then pick the threshold with the best span F1 (same-type
overlap, as ``bench/eval_external.py`` counts it) on ``data/pii/tune.jsonl.gz``; the grid
point and threshold with the best tune F1 win, and the final model is fitted on train and
tune together. ``data/pii/dev.jsonl.gz`` is never read. Same inputs, same bytes: sorted
feature order, liblinear with a fixed seed, weights rounded to 1/1000, gzip mtime 0.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from agentguard.models.person import FORMAT_VERSION, PersonModel, candidates, is_title  # noqa: E402

DATA = ROOT / "data" / "person"
TUNE = ROOT / "data" / "pii" / "tune.jsonl.gz"
OUT = ROOT / "src" / "agentguard" / "models" / "person_weights.json.gz"
SEED = 20261204
GRID_C = (0.3, 1.0)
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(11))
N_LAST = 30000  # most frequent Census last names kept (of 88,799)
MIN_COUNT = 2  # a feature seen fewer times is left out
MIN_CONTEXT = 10  # likewise a word before or after a run ("pw:", "nw:")
SCALE = 0.001

Record = dict[str, Any]


def read(path: Path) -> list[Record]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def tune_records() -> list[Record]:
    rows = read(TUNE)
    return [
        {"text": r["text"], "spans": [[a, b] for a, b, t in r["spans"] if t == "PERSON"]}
        for r in rows
        if r["source"] == "uner-ewt"  # the only source of the file that labels PERSON
    ]


def common_words(rows: list[Record]) -> list[str]:
    """Lower-case words seen often lower-cased and rarely inside a name."""
    lower: Counter[str] = Counter()
    named: Counter[str] = Counter()
    for r in rows:
        text = r["text"]
        for word in text.split():
            word = word.strip(".,!?;:\"'()[]")
            if word.isalpha() and word.islower():
                lower[word] += 1
        for a, b in r["spans"]:
            for word in text[a:b].lower().split():
                named[word] += 1
    return sorted(w for w, n in lower.items() if n >= 5 and named[w] * 10 < n)


def freq_bands() -> dict[str, list[str]]:
    """wordfreq's English words by Zipf band: "6" (Zipf >= 6), "5", "4", "3" (>= 3)."""
    bands: dict[str, list[str]] = {}
    for r in read(DATA / "wordfreq.jsonl.gz"):
        zipf = 9 - r["cb"] / 100
        band = str(min(int(zipf), 6))
        if band >= "3":
            bands.setdefault(band, []).append(r["word"])
    return {band: sorted(words) for band, words in sorted(bands.items())}


def examples(model: PersonModel, rows: list[Record]) -> tuple[list[list[str]], list[int]]:
    """Each candidate word's features and label (1: it overlaps a PERSON span)."""
    feats: list[list[str]] = []
    labels: list[int] = []
    for r in rows:
        text, spans = r["text"], r["spans"]
        for cand in candidates(text):
            pos = cand.start
            marks = []
            for word in cand.words:
                at = text.index(word, pos)
                pos = at + len(word)
                named = any(a < pos and at < b for a, b in spans)
                marks.append(int(named and not is_title(word)))  # "Dr." is not the name
            feats.extend(model.features(cand))
            labels.extend(marks)
    return feats, labels


def fit(feats: list[list[str]], labels: list[int], c: float) -> tuple[dict[str, float], float]:
    counts = Counter(f for fs in feats for f in set(fs))
    vocab = sorted(
        f
        for f, n in counts.items()
        if n >= (MIN_CONTEXT if f.startswith(("pw:", "nw:")) else MIN_COUNT)
    )
    index = {f: i for i, f in enumerate(vocab)}
    rows, cols = [], []
    for i, fs in enumerate(feats):
        for j in sorted({index[f] for f in fs if f in index}):
            rows.append(i)
            cols.append(j)
    x = csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(feats), len(vocab))
    )
    clf = LogisticRegression(C=c, solver="liblinear", random_state=SEED, max_iter=1000)
    clf.fit(x, np.array(labels))
    weights = {f: round(float(w) / SCALE) for f, w in zip(vocab, clf.coef_[0], strict=True)}
    return {f: w * SCALE for f, w in weights.items() if w}, round(float(clf.intercept_[0]), 3)


def span_f1(model: PersonModel, rows: list[Record]) -> tuple[float, float, float]:
    predicted = correct = gold = found = 0
    for r in rows:
        pred = [(a, b) for a, b, _ in model.names(r["text"])]
        spans = r["spans"]
        gold += len(spans)
        found += sum(any(a < q and p < b for p, q in pred) for a, b in spans)
        predicted += len(pred)
        correct += sum(any(p < b and a < q for a, b in spans) for p, q in pred)
    prec = correct / predicted if predicted else 0.0
    rec = found / gold if gold else 0.0
    return prec, rec, 2 * prec * rec / (prec + rec) if prec + rec else 0.0


def main() -> None:
    train = read(DATA / "train.jsonl.gz")
    tune = tune_records()
    names = read(DATA / "names.jsonl.gz")
    first = [r["name"] for r in sorted(names, key=lambda r: (r["rank"], r["name"]))
             if r["list"] == "first"]  # fmt: skip
    last = [r["name"] for r in sorted(names, key=lambda r: (r["rank"], r["name"]))
            if r["list"] == "last"][:N_LAST]  # fmt: skip
    common = common_words(train + tune)
    ranks = ({n: i for i, n in enumerate(first, 1)}, {n: i for i, n in enumerate(last, 1)})
    bands = freq_bands()
    lists = (*ranks, frozenset(common), {w: b for b, words in bands.items() for w in words})
    shell = PersonModel({}, 0.0, *lists)
    feats, labels = examples(shell, train)
    print(f"train: {len(labels)} words, {sum(labels)} in names")
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for c in GRID_C:
        weights, bias = fit(feats, labels, c)
        for t in THRESHOLDS:
            model = PersonModel(weights, bias, *lists, t)
            p, r, f = span_f1(model, tune)
            print(f"  C={c} t={t}: tune P {p:.3f} R {r:.3f} F1 {f:.3f}")
            if f > best[0]:
                best = (f, c, t)
    f1, c, t = best
    print(f"chosen C={c} threshold={t} (tune F1 {f1:.3f}, model fitted on train only)")
    tune_feats, tune_labels = examples(shell, tune)
    weights, bias = fit(feats + tune_feats, labels + tune_labels, c)
    doc = {
        "format": FORMAT_VERSION,
        "scale": SCALE,
        "bias": bias,
        "threshold": t,
        "weights": {f: round(w / SCALE) for f, w in sorted(weights.items())},
        "first": first,
        "last": last,
        "common": common,
        "freq": bands,
        "meta": {
            "C": c,
            "seed": SEED,
            "tune_f1_train_only": round(f1, 4),
            "train_words": len(labels) + len(tune_labels),
            "data": "data/person/train.jsonl.gz + data/pii/tune.jsonl.gz (see data/README.md)",
        },
    }
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    blob = gzip.compress(body.encode(), compresslevel=9, mtime=0)
    OUT.write_bytes(blob)
    print(f"{OUT.relative_to(ROOT)}: {len(blob)} bytes, {len(weights)} weights, "
          f"sha256 {hashlib.sha256(blob).hexdigest()}")  # fmt: skip


if __name__ == "__main__":
    main()
