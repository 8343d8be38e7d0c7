"""Train the shipped prompt-injection model from data/injection/train*.

    python training/train_injection.py        (or: make train-detectors)

Reads only the train split. A fixed fifth of it (by text digest) is the tuning portion:
the model is fitted on the rest, and the two thresholds are chosen on the tuning portion.
Deterministic: liblinear with a fixed seed, a sorted vocabulary, weights quantised to
integers, gzip without a timestamp; it prints the SHA-256 of what it wrote.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from agentguard.models.injection import (  # noqa: E402
    FORMAT_VERSION,
    WEIGHTS_FILE,
    InjectionModel,
    token_spans,
    window_starts,
)

WINDOW, STRIDE = 32, 8
C = 0.5
MAX_FEATURES = 60_000
QUANT = 32767
USER_FPR, TOOL_FPR = 0.01, 0.02
OUT = ROOT / "src" / "agentguard" / "models" / WEIGHTS_FILE


def load(split: str) -> list[dict[str, object]]:
    rows = []
    for path in sorted((ROOT / "data" / "injection").glob(f"{split}*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def is_tuning(r: dict[str, object]) -> bool:
    return int(hashlib.sha256(str(r["text"]).encode()).hexdigest(), 16) % 5 == 0


def windows(r: dict[str, object]) -> list[tuple[list[str], int]]:
    """(features, label) per window; a planted document's windows are labelled by the span."""
    text = str(r["text"])
    spans = token_spans(text)
    tokens = [text[a:b].lower() for a, b in spans]
    out = []
    span = r.get("span")
    if isinstance(span, list):
        inside = [i for i, (a, b) in enumerate(spans) if a >= span[0] and b <= span[1]]
        need = min(len(inside), 10) if inside else 1
    for a in window_starts(len(tokens), WINDOW, STRIDE):
        toks = tokens[a : a + WINDOW]
        feats = toks + [f"{x} {y}" for x, y in pairwise(toks)]
        if isinstance(span, list):
            hit = sum(1 for i in inside if a <= i < a + WINDOW)
            if hit >= need:
                out.append((feats, 1))
            elif hit == 0:
                out.append((feats, 0))
        else:
            out.append((feats, int(r["label"])))  # type: ignore[call-overload]
    return out


def fit(rows: list[dict[str, object]]) -> tuple[dict[str, float], float]:
    data = [w for r in rows for w in windows(r)]
    df: dict[str, int] = {}
    for feats, _ in data:
        for f in set(feats):
            df[f] = df.get(f, 0) + 1
    vocab = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= 2))}
    indptr, indices, values, labels = [0], [], [], []
    for feats, label in data:
        counts: dict[int, int] = {}
        for f in feats:
            j = vocab.get(f)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        for j in sorted(counts):
            indices.append(j)
            values.append(float(counts[j]))
        indptr.append(len(indices))
        labels.append(label)
    x = csr_matrix((values, indices, indptr), shape=(len(data), len(vocab)))
    y = np.array(labels)
    print(f"windows: {len(data)} ({int(y.sum())} positive), vocabulary: {len(vocab)}")
    clf = LogisticRegression(
        C=C, class_weight="balanced", solver="liblinear", random_state=0, max_iter=2000
    )
    clf.fit(x, y)
    names = sorted(vocab, key=vocab.__getitem__)
    return dict(zip(names, clf.coef_[0].tolist(), strict=True)), float(clf.intercept_[0])


def encode(weights: dict[str, float], bias: float, meta: dict[str, object]) -> bytes:
    top = sorted(weights, key=lambda f: (-abs(weights[f]), f))[:MAX_FEATURES]
    scale = max(abs(weights[f]) for f in top) / QUANT
    quant = {f: round(weights[f] / scale) for f in top}
    doc = {
        "format": FORMAT_VERSION,
        "window": WINDOW,
        "stride": STRIDE,
        "bias": round(bias, 6),
        "scale": float(f"{scale:.9g}"),
        "unigrams": {f: q for f, q in sorted(quant.items()) if q and " " not in f},
        "bigrams": {f: q for f, q in sorted(quant.items()) if q and " " in f},
        "meta": meta,
    }
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return gzip.compress(body.encode(), compresslevel=9, mtime=0)


def threshold(scores: list[float], fpr: float) -> float:
    """The lowest 4-decimal threshold that flags at most ``fpr`` of these benign scores."""
    ranked = sorted(scores, reverse=True)
    allowed = math.floor(fpr * len(ranked))
    t = math.ceil(ranked[allowed] * 10_000) / 10_000 if allowed < len(ranked) else 0.0
    while sum(s >= t for s in ranked) > allowed:
        t = round(t + 0.0001, 4)
    return min(t, 1.0)


def main() -> None:
    rows = load("train")
    fit_rows = [r for r in rows if not is_tuning(r)]
    tune = [r for r in rows if is_tuning(r)]
    weights, bias = fit(fit_rows)
    draft = InjectionModel.from_bytes(encode(weights, bias, {}))
    user_neg = [draft.score(str(r["text"])) for r in tune if r["kind"] in {"security", "prompt"}]
    tool_neg = [draft.score(str(r["text"])) for r in tune if r["kind"] == "doc"]
    meta: dict[str, object] = {
        "user_input_threshold": threshold(user_neg, USER_FPR),
        "tool_result_threshold": threshold(tool_neg, TOOL_FPR),
        "trained_on": "data/injection/train*.jsonl.gz (tuning fifth held out)",
        "fit_rows": len(fit_rows),
        "tuning_rows": len(tune),
    }
    blob = encode(weights, bias, meta)
    final = InjectionModel.from_bytes(blob)
    for kind in ("direct", "plant", "planted"):
        pos = [final.score(str(r["text"])) for r in tune if r["kind"] == kind]
        t = meta["tool_result_threshold" if kind == "planted" else "user_input_threshold"]
        print(f"tuning {kind}: TPR {sum(s >= t for s in pos) / max(len(pos), 1):.3f} of {len(pos)}")  # type: ignore[operator]
    OUT.write_bytes(blob)
    print(f"user_input_threshold = {meta['user_input_threshold']}")
    print(f"tool_result_threshold = {meta['tool_result_threshold']}")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(blob)} bytes)")
    print(f"sha256 {hashlib.sha256(blob).hexdigest()}")


if __name__ == "__main__":
    main()
