"""Precision, recall and F1 per type on the team-written labelled sets (tests/detect/data),
for agentguard and, side by side, Microsoft Presidio (PII) and Yelp's detect-secrets
(secrets). These sets are regression tests: the rules were written with them in view, so
their figures flatter the detectors. The figures on external data, which the README
quotes, come from ``bench/eval_detectors.py``.

    python bench/eval_team.py      # or: python bench/eval_detectors.py --team

Scoring. agentguard findings count from a score of 0.5 (each detector is built with
``min_score=0.5``). Presidio counts everything ``AnalyzerEngine.analyze`` returns (its
default threshold, 0) — a line also gives its figures from 0.5. A prediction matches a
labelled entity when both have the same type and their spans overlap. Recall = labelled
entities matched by at least one prediction / labelled entities; precision = predictions
matching at least one labelled entity / predictions; F1 is their harmonic mean; "micro" pools
the counts over types.

Presidio entity names are mapped to ours (``_detect_peers.PRESIDIO_TO_OURS``):
EMAIL_ADDRESS→EMAIL, PHONE_NUMBER→PHONE, CREDIT_CARD, IBAN_CODE→IBAN, US_SSN, IP_ADDRESS,
PERSON, LOCATION→ADDRESS, DATE_TIME→DATE_OF_BIRTH (any date: Presidio has no birth-date
type) and ES_NIF / ES_NIE / IT_FISCAL_CODE / UK_NINO / DE_TAX_ID→NATIONAL_ID; other Presidio
types (URL, US_DRIVER_LICENSE, …) are counted but not scored. Without a spaCy model Presidio
reports no PERSON or LOCATION (see ``_detect_peers.py`` for why no model is used).

detect-secrets reports a line number and a plugin name, not a span: any secret it reports
becomes a SECRET prediction covering its whole line, and matches every labelled secret that
touches that line (a line-level hit counts for all the entities on that line), which can only
flatter it next to agentguard's span-level matching. Each text is scanned as one ``.txt``
file, as ``detect-secrets scan`` would.

Also printed: for secrets, recall on the texts with secrets and the false-positive rate on
the look-alike texts (UUIDs, digests, paths …: texts with no entity); for injection (when
the module and its data exist) recall on attacks and the false-positive rate on benign
security-themed texts (and on general ones); for tone, recall per subtype and the
false-positive rate on hard negatives (the Scunthorpe problem, acronyms). No peer is run
for injection or tone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _detect_peers as peers
from agentguard.detect.pii import PII_TYPES, PIIDetector
from agentguard.detect.secrets import SecretsDetector

THRESHOLD = 0.5

Span = tuple[str, int, int]  # (type, start, end)
Predict = Callable[[str], list[Span]]


@dataclass(slots=True)
class Tally:
    """Counts for one tool and one type."""

    gold: int = 0
    found: int = 0  # labelled entities matched
    predicted: int = 0
    correct: int = 0  # predictions that match a labelled entity

    def add(self, other: Tally) -> None:
        self.gold += other.gold
        self.found += other.found
        self.predicted += other.predicted
        self.correct += other.correct

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.found / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(slots=True)
class Result:
    """One tool over one eval set."""

    by_type: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    #: ids of texts with at least one scored prediction
    flagged: set[str] = field(default_factory=set)
    #: per text id: labelled entities matched / labelled entities
    hits: dict[str, tuple[int, int]] = field(default_factory=dict)
    unscored: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def micro(self, types: Iterable[str]) -> Tally:
        total = Tally()
        for t in types:
            total.add(self.by_type[t])
        return total


def overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def gold_spans(row: dict[str, Any]) -> list[Span]:
    return [(e["type"], e["start"], e["end"]) for e in row["entities"]]


def evaluate(rows: Sequence[dict[str, Any]], predict: Predict, scored: set[str]) -> Result:
    """Score ``predict`` on ``rows``; predictions of a type outside ``scored`` are only
    counted in ``Result.unscored``."""
    result = Result()
    start = time.perf_counter()
    for row in rows:
        gold = gold_spans(row)
        predicted = []
        for p in predict(row["text"]):
            if p[0] in scored:
                predicted.append(p)
            else:
                result.unscored[p[0]] += 1
        for g in gold:
            result.by_type[g[0]].gold += 1
            if any(overlaps(g, p) for p in predicted):
                result.by_type[g[0]].found += 1
        for p in predicted:
            result.by_type[p[0]].predicted += 1
            if any(overlaps(p, g) for g in gold):
                result.by_type[p[0]].correct += 1
        if predicted:
            result.flagged.add(row["id"])
        found = sum(1 for g in gold if any(overlaps(g, p) for p in predicted))
        result.hits[row["id"]] = (found, len(gold))
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------------- predictors


def agentguard_predict(detector: Any) -> Predict:
    def predict(text: str) -> list[Span]:
        return [(f.type, f.start, f.end) for f in detector.detect(text) if f.score >= THRESHOLD]

    return predict


def presidio_predict(presidio: peers.Presidio, threshold: float) -> Predict:
    def predict(text: str) -> list[Span]:
        return [
            (peers.PRESIDIO_TO_OURS.get(h.type, h.type), h.start, h.end)
            for h in presidio.analyze(text)
            if h.score >= threshold
        ]

    return predict


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, numbered from 1 at index 0."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line) + 1))
        pos += len(line) + 1
    return spans


def detect_secrets_predict(scanner: peers.DetectSecrets) -> Predict:
    def predict(text: str) -> list[Span]:
        lines = line_spans(text)
        out: dict[int, Span] = {}
        for number, _plugin in scanner.scan_text(text):
            start, end = lines[min(number, len(lines)) - 1]
            out[number] = ("SECRET", start, end)  # one prediction per reported line
        return list(out.values())

    return predict


# ---------------------------------------------------------------------------- printing


def fmt(value: float | None) -> str:
    return f"{value:5.2f}" if value is not None else "    —"


def prf(t: Tally) -> str:
    return f"{fmt(t.precision)} {fmt(t.recall)} {fmt(t.f1)}"


def print_table(
    title: str, types: Sequence[str], results: Sequence[tuple[str, Result, set[str]]]
) -> None:
    """One row per type; one P/R/F1 group per tool; types a tool cannot report show —."""
    print(title)
    head = f"{'type':15} {'n':>4} "
    for name, _, _ in results:
        head += f"| {name[:17]:^17} "
    print(head)
    print(f"{'':15} {'':>4} " + "| P     R     F1    " * len(results))

    def cells(pick: Callable[[Result, set[str]], Tally | None]) -> str:
        out = ""
        for _, result, covered in results:
            tally = pick(result, covered)
            out += f"| {prf(tally)} " if tally is not None else f"| {'not covered':^17} "
        return out

    def one_type(t: str) -> Callable[[Result, set[str]], Tally | None]:
        return lambda result, covered: result.by_type[t] if t in covered else None

    for t in types:
        n = results[0][1].by_type[t].gold
        print(f"{t:15} {n:4d} " + cells(one_type(t)))
    n = sum(results[0][1].by_type[t].gold for t in types)
    print(f"{'micro, all':15} {n:4d} " + cells(lambda result, _: result.micro(types)))
    if any(set(types) - covered for _, _, covered in results):
        for name, result, covered in results:
            if set(types) - covered:
                mine = [t for t in types if t in covered]
                n = sum(results[0][1].by_type[t].gold for t in mine)
                print(
                    f"{'micro, ' + name.split()[0] + ' types':22} n={n:3d}: "
                    f"{name}: {prf(result.micro(mine))}   "
                    + "   ".join(
                        f"{other}: {prf(r.micro(mine))}" for other, r, _ in results if other != name
                    )
                )


def rate(ids: set[str], flagged: set[str]) -> str:
    hit = len(ids & flagged)
    return f"{hit}/{len(ids)} = {hit / len(ids):.1%}" if ids else "n/a"


def entity_recall(result: Result, ids: Iterable[str]) -> str:
    found = total = 0
    for i in ids:
        f, n = result.hits[i]
        found, total = found + f, total + n
    return f"{found}/{total} = {found / total:.1%}" if total else "n/a"


# ---------------------------------------------------------------------------- families


def eval_pii(presidio: peers.Presidio | None) -> None:
    rows = peers.load_jsonl("pii_eval.jsonl")
    if not rows:
        print("PII: no tests/detect/data/pii_eval.jsonl, skipped\n")
        return
    types = sorted({e["type"] for r in rows for e in r["entities"]} | PII_TYPES)
    ours = evaluate(rows, agentguard_predict(PIIDetector(min_score=THRESHOLD)), set(PII_TYPES))
    results = [("agentguard ≥0.5", ours, set(PII_TYPES))]
    peer_half: Result | None = None
    if presidio is not None:
        covered = {
            peers.PRESIDIO_TO_OURS[e] for e in presidio.entities() if e in peers.PRESIDIO_TO_OURS
        }
        theirs = evaluate(rows, presidio_predict(presidio, 0.0), covered)
        peer_half = evaluate(rows, presidio_predict(presidio, THRESHOLD), covered)
        results.append(("Presidio (all)", theirs, covered))
    n_gold = sum(len(r["entities"]) for r in rows)
    negatives = {r["id"] for r in rows if not r["entities"]}
    print_table(
        f"PII — {len(rows)} texts, {n_gold} labelled entities, {len(negatives)} texts without any",
        types,
        results,
    )
    for name, result, _ in results:
        print(f"{name}: texts without PII flagged: {rate(negatives, result.flagged)}")
    if presidio is not None and peer_half is not None:
        _, theirs, covered = results[1]
        print(
            f"Presidio at score ≥ 0.5 instead: micro P/R/F1 {prf(peer_half.micro(types))}, "
            f"texts without PII flagged: {rate(negatives, peer_half.flagged)}"
        )
        missing = sorted(set(types) - covered)
        print(
            f"Presidio does not cover: {', '.join(missing)} (PERSON and LOCATION need its NER "
            f"model); NATIONAL_ID only via ES NIF/NIE, IT fiscal code, UK NINO, DE tax ID; "
            f"DATE_OF_BIRTH is scored from DATE_TIME (any date)"
        )
        top = ", ".join(f"{k} {v}" for k, v in theirs.unscored.most_common())
        print(f"Presidio findings of types we do not score (ignored): {top or 'none'}")
    print()


def eval_secrets(scanner: peers.DetectSecrets | None) -> None:
    rows = peers.load_jsonl("secrets_eval.jsonl")
    if not rows:
        print("Secrets: no tests/detect/data/secrets_eval.jsonl, skipped\n")
        return
    ours = evaluate(rows, agentguard_predict(SecretsDetector(min_score=THRESHOLD)), {"SECRET"})
    results = [("agentguard ≥0.5", ours, {"SECRET"})]
    if scanner is not None:
        theirs = evaluate(rows, detect_secrets_predict(scanner), {"SECRET"})
        results.append(("detect-secrets", theirs, {"SECRET"}))
    positives = {r["id"] for r in rows if r["entities"]}
    negatives = {r["id"] for r in rows if not r["entities"]}
    n_gold = sum(len(r["entities"]) for r in rows)
    print_table(
        f"Secrets — {len(rows)} texts: {len(positives)} with {n_gold} secrets, "
        f"{len(negatives)} look-alikes (detect-secrets matched per line, see docstring)",
        ["SECRET"],
        results,
    )
    for name, result, _ in results:
        print(
            f"{name:16} recall on positives {entity_recall(result, positives):>16}   "
            f"positive texts flagged {rate(positives, result.flagged):>16}   "
            f"FP rate on look-alikes {rate(negatives, result.flagged):>14}"
        )
    # recall by the subtype named in the id (pos-NNN-<subtype>)
    by_sub: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["entities"]:
            by_sub[r["id"].split("-", 2)[2] if r["id"].count("-") >= 2 else "?"].append(r["id"])
    print("recall by subtype (entities found / labelled):")
    cells = []
    for sub in sorted(by_sub):
        figures = []
        for _, result, _ in results:
            f = sum(result.hits[i][0] for i in by_sub[sub])
            figures.append(str(f))
        n = sum(results[0][1].hits[i][1] for i in by_sub[sub])
        cells.append(f"{sub} {'/'.join(figures)} of {n}")
    names = " / ".join(name for name, _, _ in results)
    print(f"  ({names})")
    for i in range(0, len(cells), 4):
        print("  " + "; ".join(cells[i : i + 4]))
    if scanner is not None:
        missed = sorted(
            sub for sub, ids in by_sub.items() if sum(results[1][1].hits[i][0] for i in ids) == 0
        )
        print(f"detect-secrets finds none of: {', '.join(missed) or '—'}")
        neg_plugins: Counter[str] = Counter()
        for r in rows:
            if r["id"] in negatives and r["id"] in results[1][1].flagged:
                neg_plugins.update(p for _, p in scanner.scan_text(r["text"]))
        print(
            "detect-secrets plugins firing on look-alikes: "
            + (", ".join(f"{k} {v}" for k, v in neg_plugins.most_common()) or "none")
        )
    print()


def eval_injection() -> None:
    rows = peers.load_jsonl("injection_eval.jsonl")
    if not rows:
        print("Injection: no tests/detect/data/injection_eval.jsonl, skipped")
        return
    try:
        from agentguard.detect.injection import InjectionDetector, detect_in_argument

        detector = InjectionDetector(min_score=THRESHOLD)

        def findings(row: dict[str, Any]) -> list[Any]:
            # rows with a "kind" are typed tool arguments (a path, a shell word, SQL)
            if row.get("kind"):
                return detect_in_argument(row["text"], row["kind"], detector=detector)
            return detector.detect(row["text"])

        flagged = {r["id"] for r in rows if any(f.score >= THRESHOLD for f in findings(r))}
    except Exception as exc:  # another team is editing it: report, do not fail
        print(f"Injection: not evaluated ({type(exc).__name__}: {exc})")
        return
    attacks = {r["id"] for r in rows if r["label"] == "attack"}
    security = {r["id"] for r in rows if r["label"] == "benign" and r["subtype"] == "security"}
    general = {r["id"] for r in rows if r["label"] == "benign" and r["subtype"] != "security"}
    print(f"Injection — {len(rows)} texts; agentguard ≥0.5 (no peer: neither detects injection)")
    print(f"recall on attacks: {rate(attacks, flagged)}")
    print(f"FP rate on benign security-themed texts: {rate(security, flagged)}")
    print(f"FP rate on benign general texts: {rate(general, flagged)}")
    subtypes = sorted({r["subtype"] for r in rows if r["label"] == "attack"})
    cells = []
    for sub in subtypes:
        ids = {r["id"] for r in rows if r["label"] == "attack" and r["subtype"] == sub}
        cells.append(f"{sub} {len(ids & flagged)}/{len(ids)}")
    print("recall by attack subtype: " + ", ".join(cells))


def eval_tone() -> None:
    rows = peers.load_jsonl("tone_eval.jsonl")
    if not rows:
        print("Tone: no tests/detect/data/tone_eval.jsonl, skipped")
        return
    try:
        from agentguard.detect.tone import ToneDetector

        detector = ToneDetector()
        found = {r["id"]: detector.detect(r["text"]) for r in rows}
    except Exception as exc:  # another team is editing it: report, do not fail
        print(f"Tone: not evaluated ({type(exc).__name__}: {exc})")
        return
    flagged = {i for i, fs in found.items() if any(f.score >= THRESHOLD for f in fs)}
    typed = {
        r["id"]
        for r in rows
        if r["label"] == "flag"
        and any(f.score >= THRESHOLD and f.type == r["type"] for f in found[r["id"]])
    }
    positives = {r["id"] for r in rows if r["label"] == "flag"}
    hard = {r["id"] for r in rows if r["label"] == "clean" and r["subtype"] == "hard_negative"}
    general = {r["id"] for r in rows if r["label"] == "clean" and r["subtype"] != "hard_negative"}
    print(f"\nTone — {len(rows)} texts; agentguard ≥0.5 (no peer is run)")
    print(f"recall (a finding of the labelled type): {rate(positives, typed)}")
    print(f"FP rate on hard negatives (Scunthorpe, acronyms …): {rate(hard, flagged)}")
    print(f"FP rate on general clean texts: {rate(general, flagged)}")
    cells = []
    for sub in sorted({r["subtype"] for r in rows if r["label"] == "flag"}):
        ids = {r["id"] for r in rows if r["label"] == "flag" and r["subtype"] == sub}
        cells.append(f"{sub} {len(ids & typed)}/{len(ids)}")
    print("recall by subtype: " + ", ".join(cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    peers.forbid_network()
    started = time.perf_counter()
    presidio = peers.load_peer(peers.Presidio, "presidio-analyzer")
    scanner = peers.load_peer(peers.DetectSecrets, "detect-secrets")
    versions = []
    if presidio is not None:
        versions.append(f"Presidio {presidio.version} ({presidio.recognizers} pattern recognizers)")
    if scanner is not None:
        versions.append(f"detect-secrets {scanner.version} ({scanner.plugins} plugins)")
    print(f"agentguard detector accuracy vs {', '.join(versions) or 'no peer'}")
    print(
        "match = same type and overlapping spans; P = correct predictions / predictions, "
        "R = labelled entities found / labelled\n"
    )
    eval_pii(presidio)
    eval_secrets(scanner)
    eval_injection()
    eval_tone()
    if scanner is not None:
        scanner.close()
    print(f"\ntotal time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
