"""The learned injection model against the rule detector, on the dev split only.

    python bench/eval_injection_model.py

Every figure is computed on data/injection/dev.jsonl.gz: sources never trained or tuned on
(see data/README.md). User-input figures: positives are direct attacks and bare attack
texts ("direct", "plant"), negatives benign security-themed sentences and ordinary
prompts. Tool-result figures: positives are documents with a planted attack ("planted"),
negatives the same documents clean ("doc"). "TPR at FPR=x" picks the threshold on dev
itself: an oracle figure, shown only to compare the rankings.

Speed is measured on local files only: the installed standard library's documentation
(pydoc topics) and source, as one long document and as many 1-4 kB documents.
"""

from __future__ import annotations

import gzip
import importlib
import json
import platform
import random
import sys
import sysconfig
import time
from collections import defaultdict
from pathlib import Path

from agentguard.detect.injection import FLAG_THRESHOLD, InjectionDetector
from agentguard.models.injection import (
    TOOL_RESULT_THRESHOLD,
    USER_INPUT_THRESHOLD,
    InjectionModel,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Figure

DEV = Path(__file__).resolve().parent.parent / "data" / "injection" / "dev.jsonl.gz"
USER_POS, USER_NEG = {"direct", "plant"}, {"security", "prompt"}


def tpr_at_fpr(pos: list[float], neg: list[float], fpr: float) -> float:
    ranked = sorted(neg, reverse=True)
    k = int(fpr * len(ranked))
    t = ranked[k] if k < len(ranked) else 0.0
    return sum(s > t for s in pos) / max(len(pos), 1)


def rate(flags: list[bool]) -> str:
    return f"{sum(flags) / max(len(flags), 1):.3f} (n={len(flags)})"


def report(title: str, rows: list[dict], flag: str, threshold_note: str) -> None:  # type: ignore[type-arg]
    print(f"\n== {title} [{threshold_note}]")
    by: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in rows:
        by[r["kind"], r["source"]].append(r[flag])
    for (kind, source), flags in sorted(by.items()):
        what = "TPR" if kind in USER_POS | {"planted"} else "FPR"
        print(f"  {what} {kind:9s} {source:34s} {rate(flags)}")


def scored_rows() -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    """The dev split scored by the model and the rules: (user-input rows, tool-result rows),
    each row flagged ``m`` (model at its threshold for that origin), ``r`` (rules at
    ``FLAG_THRESHOLD``) and ``both``."""
    with gzip.open(DEV, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    model = InjectionModel.load()
    rules = InjectionDetector()
    for r in rows:
        r["model"] = model.score(r["text"])
        r["rules"] = max((f.score for f in rules.detect(r["text"])), default=0.0)
    user = [r for r in rows if r["kind"] in USER_POS | USER_NEG]
    tool = [r for r in rows if r["kind"] in {"planted", "doc"}]
    for r in user:
        r["m"] = r["model"] >= USER_INPUT_THRESHOLD
    for r in tool:
        r["m"] = r["model"] >= TOOL_RESULT_THRESHOLD
    for r in rows:
        r["r"] = r["rules"] >= FLAG_THRESHOLD
        r["both"] = r["m"] or r["r"]
    return user, tool


def _share(rows: list[dict], flag: str, kinds: set[str]) -> tuple[float, int, int]:  # type: ignore[type-arg]
    hits = [r[flag] for r in rows if r["kind"] in kinds]
    return (sum(hits) / max(len(hits), 1), sum(hits), len(hits))


def figures() -> list[Figure]:
    """The dev-split figures at the shipped thresholds, for ``bench/eval_detectors.py``."""
    user, tool = scored_rows()
    out = []
    sources = sorted({r["source"] for r in user if r["kind"] in USER_POS})
    negatives = sorted({r["source"] for r in user if r["kind"] == "security"})
    data_user = (
        f"data/injection/dev (held out by source): attacks from {', '.join(sources)} vs "
        f"benign security-themed texts from {', '.join(negatives)}"
    )
    for flag, what in (
        ("r", "rules only (the default: detectors.injection.model: results)"),
        ("both", "rules + model (detectors.injection.model: all)"),
    ):
        tpr, tp, p = _share(user, flag, USER_POS)
        fpr, fp, n = _share(user, flag, {"security"})
        ofpr, ofp, on = _share(user, flag, {"prompt"})
        out.append(
            Figure(
                "injection",
                f"what agents are sent, {what}: documents flagged",
                data_user,
                f"TPR {tpr:.3f} ({tp}/{p}) at FPR {fpr:.3f} ({fp}/{n}); "
                f"FPR on ordinary agent requests {ofpr:.3f} ({ofp}/{on})",
                aim="TPR >= 0.90 at FPR <= 0.01",
                met=tpr >= 0.90 and fpr <= 0.01,
            )
        )
    docs = sorted({r["source"].removesuffix("+planted") for r in tool})
    for flag, what in (("r", "rules only"), ("both", "rules + model (the default)")):
        tpr, tp, p = _share(tool, flag, {"planted"})
        fpr, fp, n = _share(tool, flag, {"doc"})
        out.append(
            Figure(
                "injection",
                f"tool results, {what}: documents flagged",
                f"data/injection/dev (held out by source): documents from {', '.join(docs)}, "
                "with an instruction planted vs clean",
                f"TPR {tpr:.3f} ({tp}/{p}) at FPR {fpr:.3f} ({fp}/{n})",
                aim="TPR >= 0.80 at FPR <= 0.02",
                met=tpr >= 0.80 and fpr <= 0.02,
            )
        )
    return out


def main() -> None:
    user, tool = scored_rows()
    print(f"data: {DEV.name} ({len(user) + len(tool)} records, dev split only)")
    for flag, name in (("m", "model"), ("r", "rules"), ("both", "rules OR model")):
        for title, part, note in (
            ("user input", user, f"model >= {USER_INPUT_THRESHOLD}"),
            ("tool results", tool, f"model >= {TOOL_RESULT_THRESHOLD}"),
        ):
            report(
                f"{name}: {title}",
                part,
                flag,
                note if flag != "r" else f"rules >= {FLAG_THRESHOLD}",
            )
        for title, part, pos, neg in (
            ("user input", user, USER_POS, {"security"}),
            ("tool results", tool, {"planted"}, {"doc"}),
        ):
            p = [r[flag] for r in part if r["kind"] in pos]
            n = [r[flag] for r in part if r["kind"] in neg]
            print(f"  overall {name} {title}: TPR {rate(p)}  FPR {rate(n)}")
    print("\n== oracle: TPR at a dev-chosen FPR (comparison of rankings only)")
    for key in ("model", "rules"):
        up = [r[key] for r in user if r["kind"] in USER_POS]
        un = [r[key] for r in user if r["kind"] == "security"]
        tp = [r[key] for r in tool if r["kind"] == "planted"]
        tn = [r[key] for r in tool if r["kind"] == "doc"]
        print(
            f"  {key:5s} user input vs security-themed: TPR@FPR=0.01 {tpr_at_fpr(up, un, 0.01):.3f}"
            f"  TPR@FPR=0.02 {tpr_at_fpr(up, un, 0.02):.3f};"
            f" tool results vs clean docs: TPR@FPR=0.01 {tpr_at_fpr(tp, tn, 0.01):.3f}"
            f"  TPR@FPR=0.02 {tpr_at_fpr(tp, tn, 0.02):.3f}"
        )
    speed(InjectionModel.load())


def english_text(size: int) -> str:
    """Mixed English text from local files only: the standard library's docs and source."""
    topics = importlib.import_module("pydoc_data.topics").topics
    parts = [topics[k] for k in sorted(topics)]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.glob("*.py")):
        parts.append(path.read_text(encoding="utf-8", errors="replace"))
        if sum(map(len, parts)) > size:
            break
    text = "\n".join(parts)
    return (text * (1 + size // len(text)))[:size]


def speed(model: InjectionModel) -> None:
    blob = english_text(8_000_000)
    size = len(blob.encode()) / 1e6
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        model.score(blob)
        best = min(best, time.perf_counter() - t0)
    print(f"\nspeed (one core, {platform.python_implementation()} {platform.python_version()}):")
    print(
        f"  score() on {size:.1f} MB of stdlib docs + source, one document: {size / best:.1f} MB/s"
    )
    rng = random.Random(0)
    docs, at = [], 0
    while at < len(blob):
        n = rng.randint(1000, 4000)
        docs.append(blob[at : at + n])
        at += n
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for d in docs:
            model.score(d)
        best = min(best, time.perf_counter() - t0)
    print(f"  score() on {len(docs)} documents of 1-4 kB: {size / best:.1f} MB/s")
    t0 = time.perf_counter()
    for d in docs:
        model.segments(d, min_score=TOOL_RESULT_THRESHOLD)
    took = time.perf_counter() - t0
    print(f"  segments(min_score=tool threshold) on the same documents: {size / took:.1f} MB/s")


if __name__ == "__main__":
    main()
