"""PII scoring on ``data/pii/`` for ``eval_external.py``: agentguard beside Presidio.

Data (see the ``data/pii`` section of ``data/README.md``): ``{tune,dev}.jsonl.gz`` hold the
NER sentences (PERSON, LOCATION), ``structured_{tune,dev}.jsonl.gz`` the phone numbers,
street addresses, e-mail addresses and identifier numbers. A split is read from both files.

Scoring. Each source is scored only on the types it labels (the types found in its spans,
over both splits): a prediction of another type there is neither right nor wrong, since
nobody labelled it. A gold span is found when a prediction of the same type overlaps it; a
prediction is correct when it overlaps a gold span of its type. On a source that labels
LOCATION (named places) but not ADDRESS, agentguard's ADDRESS predictions (and Presidio's
LOCATION, which it maps to ADDRESS) are scored as LOCATION, as before street addresses
were labelled anywhere.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import _detect_peers as peers
from _report import Figure, prf
from agentguard.detect.pii import PIIDetector

PII_DATA = Path(__file__).resolve().parent.parent / "data" / "pii"
FILES = ("{split}.jsonl.gz", "structured_{split}.jsonl.gz")

Record = dict[str, Any]
TypedSpan = tuple[str, int, int]
PredictTyped = Callable[[str], list[TypedSpan]]
Counts = list[int]  # gold, gold found, predicted, predicted correct
#: how each source's dev part is held out (the data card says more)
HELD_OUT = {
    "uner-ewt": "EWT test part",
    "wnut17": "by source",
    "meddocan": "Spanish clinical cases, its dev+test parts",
    "scrubadub-faker": "synthetic, dev locales",
    "usaddress": "stand-alone US addresses, half",
    "libphonenumber": "stand-alone example numbers, half of the regions",
}
#: the aim of each type's figure on dev; types not named here: "F1 >= Presidio's"
AIMS = {"PERSON": "span F1 >= 0.70", "ADDRESS": "span F1 >= 0.70", "LOCATION": ""}


def load(split: str) -> list[Record]:
    out: list[Record] = []
    for pattern in FILES:
        path = PII_DATA / pattern.format(split=split)
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                out += [json.loads(line) for line in fh]
    return out


def labelled_types(records: Iterable[Record]) -> dict[str, set[str]]:
    """source -> the types its spans carry."""
    out: dict[str, set[str]] = {}
    for r in records:
        out.setdefault(r["source"], set()).update(t for _, _, t in r["spans"])
    return out


def tools() -> list[tuple[str, PredictTyped]]:
    """agentguard (``PIIDetector()``) and, when installed, Presidio (patterns, no NER)."""
    detector = PIIDetector()
    out: list[tuple[str, PredictTyped]] = [
        ("agentguard", lambda t: [(f.type, f.start, f.end) for f in detector.detect(t)])
    ]
    presidio = peers.load_peer(peers.Presidio, "presidio")
    if presidio is not None:
        ours = peers.PRESIDIO_TO_OURS

        def presidio_predict(text: str) -> list[TypedSpan]:
            hits = presidio.analyze(text)
            return [(ours[h.type], h.start, h.end) for h in hits if h.type in ours]

        out.append((f"presidio {presidio.version} (patterns, no NER)", presidio_predict))
    return out


def _hit(x: TypedSpan, ys: list[TypedSpan]) -> bool:
    return any(x[0] == y[0] and x[1] < y[2] and y[1] < x[2] for y in ys)


def score(
    records: list[Record], predict: PredictTyped, labelled: dict[str, set[str]]
) -> dict[tuple[str, str], Counts]:
    """(type, source) -> [gold, gold found, predicted, predicted correct]."""
    out: dict[tuple[str, str], Counts] = {}
    for r in records:
        kinds = labelled[r["source"]]
        as_location = "LOCATION" in kinds and "ADDRESS" not in kinds
        gold = [(t, a, b) for a, b, t in r["spans"]]
        pred = [
            ("LOCATION" if as_location and t == "ADDRESS" else t, a, b)
            for t, a, b in predict(r["text"])
        ]
        pred = [p for p in pred if p[0] in kinds]
        for kind in kinds:
            out.setdefault((kind, r["source"]), [0, 0, 0, 0])
        for g in gold:
            c = out[(g[0], r["source"])]
            c[0] += 1
            c[1] += _hit(g, pred)
        for p in pred:
            c = out[(p[0], r["source"])]
            c[2] += 1
            c[3] += _hit(p, gold)
    return out


def by_type(counts: dict[tuple[str, str], Counts]) -> dict[str, tuple[Counts, list[str]]]:
    """type -> (counts summed over the sources that label it, those sources)."""
    out: dict[str, tuple[Counts, list[str]]] = {}
    for (kind, source), c in sorted(counts.items()):
        total, sources = out.setdefault(kind, ([0, 0, 0, 0], []))
        for i in range(4):
            total[i] += c[i]
        sources.append(source)
    return out


def _prf_text(c: Counts) -> str:
    if not c[0]:
        return f"no labelled span here; predicted {c[2]} (all wrong)" if c[2] else "-"
    p, r, f = prf(*c)
    return f"F1 {f:.3f} (P {p:.3f}, R {r:.3f}; gold {c[0]}, predicted {c[2]})"


def pii_section() -> None:
    print("== pii: data/pii (span P/R/F1 per labelled type; overlap of the same type)")
    measured = tools()
    labelled = labelled_types([*load("tune"), *load("dev")])
    for split, what in (
        ("dev", "dev split: held out, never tuned on"),
        ("tune", "tune split: rules may be tuned on it"),
    ):
        records = load(split)
        n = {s: sum(r["source"] == s for r in records) for s in labelled}
        names = ", ".join(f"{s} {k}" for s, k in sorted(n.items()) if k)
        print(f"-- {what}: {len(records)} texts ({names})")
        results = [(name, score(records, predict, labelled)) for name, predict in measured]
        for kind in sorted(by_type(results[0][1])):
            for name, counts in results:
                total, sources = by_type(counts)[kind]
                print(f"   {kind:<13} {name:<36} {'all':<15} {_prf_text(total)}")
                if len(sources) > 1:
                    for source in sources:
                        c = counts[(kind, source)]
                        print(f"   {'':<13} {'':<36} {source:<15} {_prf_text(c)}")


def _aim(kind: str) -> str:
    return AIMS.get(kind, "F1 >= Presidio's")


def pii_figures() -> list[Figure]:
    """One figure per labelled type on the dev split, Presidio's beside it."""
    measured = tools()
    labelled = labelled_types([*load("tune"), *load("dev")])
    records = load("dev")
    results = [(name, by_type(score(records, p, labelled))) for name, p in measured]
    ours = results[0][1]
    peer_name, peer = results[1] if len(results) > 1 else ("", {})
    figures: list[Figure] = []
    for kind, (counts, sources) in ours.items():
        p, r, f = prf(*counts)
        texts = sum(r["source"] in sources for r in records)
        parts = ", ".join(f"{s} ({HELD_OUT.get(s, 'dev')})" for s in sources)
        data = f"data/pii dev: {parts}; {texts} texts, {counts[0]} labelled spans"
        peer_text, peer_f1 = "", None
        if kind in peer:
            pp, pr, peer_f1 = prf(*peer[kind][0])
            peer_text = f"{peer_name}: span F1 {peer_f1:.3f} (P {pp:.3f}, R {pr:.3f})"
        aim = _aim(kind)
        met: bool | None = None
        if aim.startswith("span F1 >= "):
            met = f >= float(aim.rsplit(" ", 1)[1])
        elif aim and peer_f1 is not None:
            met = f >= peer_f1
        measure = f"{kind} span F1 (P, R)"
        if kind == "LOCATION":
            measure += ": place names, scored against ADDRESS predictions"
        figures.append(
            Figure(
                "pii",
                measure,
                data,
                f"span F1 {f:.3f} (P {p:.3f}, R {r:.3f})",
                peer_text,
                aim,
                met,
            )
        )
    return figures
