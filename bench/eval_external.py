"""Detectors measured on external labelled data that nobody here wrote (``data/``).

    python bench/eval_external.py            # every section
    python bench/eval_external.py secrets    # one section
    python bench/eval_external.py pii

Secrets (``data/secrets/``, see its section of ``data/README.md``): ``dev`` is held out by
source and only measured; ``tune`` is what the rules were tuned on. Each split is reported
on its own, for agentguard and Yelp's detect-secrets in the same run.

Scoring. A document is flagged when agentguard reports a SECRET finding with a score of at
least 0.5 (``SecretsDetector(min_score=0.5)``), or detect-secrets (default plugins and
filters, each text scanned as one ``.txt`` file) reports anything. TPR = flagged documents
with a secret / documents with a secret; FPR = flagged look-alike documents / look-alike
documents. Span precision and recall are counted on the documents whose secrets have spans
(plus every look-alike document): recall = labelled spans overlapped by a prediction /
labelled spans; precision = predictions overlapping a labelled span / predictions.
detect-secrets reports lines, not spans: its prediction is the whole line, which can only
flatter it next to agentguard's spans.

PII (``data/pii/``, see its section of ``data/README.md``; the scoring is in ``_pii_eval.py``):
span precision, recall and F1 per labelled type, on ``dev`` (held out) and ``tune``, for
agentguard (``PIIDetector()``, its default ``min_score`` 0.3) and Presidio (pattern
recognizers, no NLP model; see ``_detect_peers.py``) in the same run, pooled over the sources
that label the type and per source. Each source is scored only on the types it labels. A
gold span is found when a prediction of the same type overlaps it; a prediction is correct
when it overlaps a gold span of its type. LOCATION (named places, labelled by the NER
sources) is scored against agentguard's ADDRESS predictions on those sources.

``secrets_figures()`` and ``pii_figures()`` hand the dev-split figures to
``eval_detectors.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _detect_peers as peers
from _pii_eval import pii_figures as pii_figures  # for eval_detectors.py
from _pii_eval import pii_section
from _report import Figure
from agentguard.detect.secrets import SecretsDetector

ROOT = Path(__file__).resolve().parent.parent
SECRETS_DATA = ROOT / "data" / "secrets"
THRESHOLD = 0.5

Span = tuple[int, int]
Predict = Callable[[str], list[Span]]


@dataclass(slots=True)
class Scores:
    positives: int = 0
    flagged_positives: int = 0
    negatives: int = 0
    flagged_negatives: int = 0
    gold_spans: int = 0
    found_spans: int = 0
    predicted: int = 0
    correct: int = 0

    def line(self) -> str:
        def ratio(a: int, b: int) -> str:
            return f"{a / b:.3f}" if b else "  -  "

        return (
            f"TPR {ratio(self.flagged_positives, self.positives)} "
            f"({self.flagged_positives}/{self.positives})  "
            f"FPR {ratio(self.flagged_negatives, self.negatives)} "
            f"({self.flagged_negatives}/{self.negatives})  "
            f"span P {ratio(self.correct, self.predicted)}  "
            f"span R {ratio(self.found_spans, self.gold_spans)}"
        )


def load(split: str, where: Path = SECRETS_DATA) -> list[dict[str, Any]]:
    with gzip.open(where / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(records: list[dict[str, Any]], predict: Predict) -> tuple[Scores, list[str]]:
    s = Scores()
    misses: list[str] = []
    for r in records:
        pred = predict(r["text"])
        gold = [(a, b) for a, b in r["spans"]]
        if r["label"]:
            s.positives += 1
            s.flagged_positives += bool(pred)
            if not pred:
                misses.append(f"FN {r['id']} {r['kind']}: {r['text'][:120]!r}")
        else:
            s.negatives += 1
            s.flagged_negatives += bool(pred)
            if pred:
                misses.append(f"FP {r['id']} {r['kind']}: {r['text'][:120]!r}")
        if r["label"] and not gold:
            continue  # no spans to compare with
        s.gold_spans += len(gold)
        s.found_spans += sum(any(_overlaps(g, p) for p in pred) for g in gold)
        s.predicted += len(pred)
        s.correct += sum(any(_overlaps(p, g) for g in gold) for p in pred)
    return s, misses


def agentguard_predict() -> Predict:
    detector = SecretsDetector(min_score=THRESHOLD)
    return lambda text: [(f.start, f.end) for f in detector.detect(text)]


def detect_secrets_predict(peer: peers.DetectSecrets) -> Predict:
    def predict(text: str) -> list[Span]:
        starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                starts.append(i + 1)
        out = []
        for line_no, _kind in peer.scan_text(text):
            lo = starts[line_no - 1]
            hi = text.find("\n", lo)
            out.append((lo, len(text) if hi == -1 else hi))
        return sorted(set(out))

    return predict


def secrets_section(show_misses: int) -> None:
    print("== secrets: data/secrets (document-level TPR/FPR; span precision/recall)")
    tools: list[tuple[str, Predict]] = [("agentguard", agentguard_predict())]
    peer = peers.load_peer(peers.DetectSecrets, "detect-secrets")
    if peer is not None:
        tools.append((f"detect-secrets {peer.version}", detect_secrets_predict(peer)))
    for split, what in (
        ("dev", "dev split: held out by source, never tuned on"),
        ("tune", "tune split: the rules were tuned on it"),
    ):
        records = load(split)
        print(f"-- {what} ({len(records)} texts, data/secrets/{split}.jsonl.gz)")
        for name, predict in tools:
            scores, misses = score(records, predict)
            print(f"   {name:<22} {scores.line()}")
            if name == "agentguard" and show_misses:
                for m in misses[:show_misses]:
                    print("      ", m)
    if peer is not None:
        peer.close()


def secrets_figures() -> list[Figure]:
    """Document-level TPR and FPR on the dev split, detect-secrets beside agentguard."""
    records = load("dev")
    positives = sum(r["label"] for r in records)
    data = (
        f"data/secrets dev (held out by source): {positives} texts with a secret, "
        f"{len(records) - positives} look-alikes"
    )
    ours, _ = score(records, agentguard_predict())
    peer_text = ""
    peer = peers.load_peer(peers.DetectSecrets, "detect-secrets")
    if peer is not None:
        theirs, _ = score(records, detect_secrets_predict(peer))
        peer_text = f"detect-secrets {peer.version}: {_rates(theirs)}"
        peer.close()
    tpr = ours.flagged_positives / ours.positives if ours.positives else 0.0
    fpr = ours.flagged_negatives / ours.negatives if ours.negatives else 1.0
    return [
        Figure(
            "secrets",
            "documents with a secret flagged (TPR) vs look-alikes flagged (FPR)",
            data,
            _rates(ours),
            peer_text,
            "TPR >= 0.95 at FPR <= 0.05",
            tpr >= 0.95 and fpr <= 0.05,
        )
    ]


def _rates(s: Scores) -> str:
    tpr = s.flagged_positives / s.positives if s.positives else 0.0
    fpr = s.flagged_negatives / s.negatives if s.negatives else 0.0
    return f"TPR {tpr:.3f} at FPR {fpr:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sections", nargs="*", help="secrets, pii (the default: all)")
    parser.add_argument("--misses", type=int, default=0, help="print this many errors")
    args = parser.parse_args()
    if not args.sections or "secrets" in args.sections:
        secrets_section(args.misses)
    if not args.sections or "pii" in args.sections:
        pii_section()


if __name__ == "__main__":
    main()
