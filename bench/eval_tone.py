"""The tone detector's offensive-language flag measured on public labelled data that nobody
here wrote (``data/tone/``), beside the better-profanity peer.

    python bench/eval_tone.py               # dev and tune, both tools
    python bench/eval_tone.py --misses 20   # and agentguard's errors on tune (never dev)

Data (``data/tone/``, see its section of ``data/README.md``, built by
``data/tone/build_tone_data.py``): short texts labelled 1 = offensive (toxic, abusive or
hateful by the source's own annotators), 0 = not. ``dev`` is held out from tuning: all of
surge-ai/toxicity (social-media comments, toxic or not; held out by source) and
ConvAbuse's own test split (what users typed to conversational agents, abusive or not;
held out by split, its train and validation splits being in tune). ``tune`` is what the word
list and its context rules may be tuned on: ConvAbuse's train and validation splits,
HateCheck's functional test cases (hateful sentences and their hard negatives: counter-
speech quoting hate, slur homonyms such as a sea dyke, neutral mentions of groups) and
sentences from a white-supremacist forum labelled hate or not (Stormfront). Each split is
reported as a whole and per source, for both tools in the same run.

Scoring. A text is flagged by agentguard when ``ToneDetector()`` (default settings)
returns a ``PROFANITY`` finding with a score of at least ``FLAG_THRESHOLD`` (0.5): the line
the detector documents for acting on a finding, below which sit mild words and lone
informal slang (“damn”, “bruh”). SHOUTING, banned phrases and disclaimers are not counted:
they are not offensive language. better-profanity flags a text when
``profanity.contains_profanity(text)`` is true (its default word list). TPR = offensive
texts flagged / offensive texts; FPR = other texts flagged / other texts.

What the labels ask is broader than what a word list can see: much of the positive class
is insult, threat or prejudice in clean words (“women are so stupid”, “you are useless”),
which the tone detector leaves out of scope (see ``agentguard.detect.tone.detector``), so
TPR here is bounded well below 1 for any list; the per-source lines show where.

The peer is optional: ``pip install 'better-profanity>=0.7'``; without it only agentguard
is measured. It reads only 20–200 texts a second, so its texts are shared out among the
cores and a run takes minutes (agentguard: well under a second a split). Nothing here uses
the network.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Figure
from agentguard.detect.tone import FLAG_THRESHOLD, PROFANITY, ToneDetector

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "tone"
AIM = "TPR >= 0.95 at FPR <= 0.03"
AIM_TPR, AIM_FPR = 0.95, 0.03

#: flags for a list of texts, in order
Predict = Callable[[list[str]], list[bool]]


@dataclass(slots=True)
class Counts:
    positives: int = 0
    flagged_positives: int = 0
    negatives: int = 0
    flagged_negatives: int = 0

    @property
    def tpr(self) -> float:
        return self.flagged_positives / self.positives if self.positives else 0.0

    @property
    def fpr(self) -> float:
        return self.flagged_negatives / self.negatives if self.negatives else 0.0

    def line(self) -> str:
        return (
            f"TPR {self.tpr:.3f} ({self.flagged_positives}/{self.positives})  "
            f"FPR {self.fpr:.3f} ({self.flagged_negatives}/{self.negatives})"
        )

    def rates(self) -> str:
        return f"TPR {self.tpr:.3f} at FPR {self.fpr:.3f}"


@dataclass(slots=True)
class Result:
    total: Counts = field(default_factory=Counts)
    by_source: dict[str, Counts] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def load(split: str, where: Path = DATA) -> list[dict[str, Any]]:
    with gzip.open(where / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def score(records: list[dict[str, Any]], predict: Predict) -> Result:
    result = Result()
    for r, flagged in zip(records, predict([r["text"] for r in records]), strict=True):
        for c in (result.total, result.by_source.setdefault(r["source"], Counts())):
            if r["label"]:
                c.positives += 1
                c.flagged_positives += flagged
            else:
                c.negatives += 1
                c.flagged_negatives += flagged
        if flagged != bool(r["label"]):
            kind = "FN" if r["label"] else "FP"
            result.errors.append(f"{kind} {r['id']} {r.get('kind', '')}: {r['text'][:140]!r}")
    return result


def agentguard_predict() -> Predict:
    detector = ToneDetector()

    def flag(text: str) -> bool:
        return any(f.type == PROFANITY and f.score >= FLAG_THRESHOLD for f in detector.detect(text))

    return lambda texts: [flag(t) for t in texts]


def _bp_flags(texts: list[str]) -> list[bool]:
    from better_profanity import profanity

    return [profanity.contains_profanity(t) for t in texts]


def better_profanity_predict() -> tuple[str, Predict] | None:
    """``(name and version, predict)``, or ``None`` when better-profanity is not installed.

    better-profanity reads some 20–200 texts a second, so texts are shared out among the
    machine's cores in chunks, and a text's answer is kept for the rest of the run."""
    try:
        import better_profanity  # noqa: F401
    except ImportError:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        name = f"better-profanity {version('better-profanity')}"
    except PackageNotFoundError:
        name = "better-profanity"

    def predict(texts: list[str]) -> list[bool]:
        todo = sorted({t for t in texts if t not in _BP_SEEN})
        chunks = [todo[i : i + 200] for i in range(0, len(todo), 200)]
        workers = min(os.cpu_count() or 1, len(chunks))
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                results = list(pool.map(_bp_flags, chunks))
        else:
            results = [_bp_flags(c) for c in chunks]
        for chunk, flags in zip(chunks, results, strict=True):
            _BP_SEEN.update(zip(chunk, flags, strict=True))
        return [_BP_SEEN[t] for t in texts]

    return name, predict


_BP_SEEN: dict[str, bool] = {}


def _tools() -> list[tuple[str, Predict]]:
    tools: list[tuple[str, Predict]] = [("agentguard", agentguard_predict())]
    peer = better_profanity_predict()
    if peer is None:
        print("better-profanity is not installed: the peer is skipped")
    else:
        tools.append(peer)
    return tools


_SPLITS = (
    ("dev", "dev split: held out from tuning, only measured"),
    ("tune", "tune split: the word list and context rules may be tuned on it"),
)


def report(show_misses: int = 0) -> None:
    tools = _tools()
    print(
        f"== tone: data/tone (text flagged: a PROFANITY finding scoring >= {FLAG_THRESHOLD} "
        "for agentguard; contains_profanity() for better-profanity)"
    )
    for split, what in _SPLITS:
        records = load(split)
        print(f"-- {what} ({len(records)} texts, data/tone/{split}.jsonl.gz)")
        for name, predict in tools:
            result = score(records, predict)
            print(f"   {name:<24} {result.total.line()}")
            for source, counts in sorted(result.by_source.items()):
                print(f"      {source:<21} {counts.line()}")
            if split == "tune" and name == "agentguard" and show_misses:
                for err in result.errors[:show_misses]:
                    print("      ", err)


def figures() -> list[Figure]:
    """Offensive texts flagged (TPR) vs other texts flagged (FPR) on dev (the figure that
    matters) and on tune, better-profanity beside agentguard."""
    peer = better_profanity_predict()
    ours_predict = agentguard_predict()
    out = []
    for split, what in (("dev", "held out from tuning"), ("tune", "tuned on")):
        records = load(split)
        positives = sum(r["label"] for r in records)
        sources = ", ".join(sorted({r["source"] for r in records}))
        data = (
            f"data/tone {split} ({what}; {sources}): {positives} offensive texts, "
            f"{len(records) - positives} others"
        )
        ours = score(records, ours_predict).total
        peer_text = ""
        if peer is not None:
            peer_text = f"{peer[0]}: {score(records, peer[1]).total.rates()}"
        out.append(
            Figure(
                family="tone",
                measure="offensive texts flagged (TPR) vs other texts flagged (FPR)",
                data=data,
                ours=ours.rates(),
                peer=peer_text,
                aim=AIM,
                met=ours.tpr >= AIM_TPR and ours.fpr <= AIM_FPR,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--misses", type=int, default=0, help="print this many agentguard errors on tune"
    )
    args = parser.parse_args()
    report(args.misses)


if __name__ == "__main__":
    main()
