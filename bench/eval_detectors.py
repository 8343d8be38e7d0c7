"""How well the detectors hold up on public labelled data nobody here wrote, beside the peers
in the same run, and how fast all of them run together: the figures the README quotes.

    make bench-detectors            # or: python bench/eval_detectors.py
    python bench/eval_detectors.py --team   # also the team-written regression sets

Every quality figure is measured on a *development* split that nothing was trained or tuned
on (held out by source where the data allows; each line names its data). The data, their
sources and licences: ``data/README.md``. Per family, the detail comes from:

* injection — ``bench/eval_injection_model.py`` (data/injection/dev): documents flagged by
  the rules alone and by rules + the learned model, at the shipped thresholds (not at a
  threshold chosen on dev); no peer detects prompt injection without a model download;
* secrets — ``bench/eval_external.py secrets`` (data/secrets/dev): document-level TPR on
  texts holding a secret, FPR on look-alikes, beside Yelp's detect-secrets;
* PII — ``bench/eval_external.py pii`` (data/pii): span precision, recall and F1 per type,
  beside Microsoft Presidio's pattern recognizers (no spaCy model: none may be downloaded);
* tone — ``bench/eval_tone.py`` (data/tone/dev): offensive posts flagged vs neutral posts
  flagged, beside better-profanity.

Speed: all families at once (``scan_text`` with PII, secrets, injection with its model on,
as for a tool result, and tone) on the mixed stdlib corpus of ``bench/bench_detectors.py``,
one core; and a 1 KB outbound body through the content layer (``bench/bench_content.py``).
The team-written sets in ``tests/detect/data`` stay regression tests; ``--team`` prints
their tables too (``bench/eval_team.py``). No figure here touches the network: peers run
with networking forbidden.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _detect_peers as peers
import bench_content
import bench_detectors
import eval_external
import eval_injection_model
import eval_team
import eval_tone
from _report import Figure, machine, print_figures
from agentguard.detect.injection import InjectionDetector
from agentguard.detect.pii import PIIDetector
from agentguard.detect.secrets import SecretsDetector
from agentguard.detect.tone import ToneDetector
from agentguard.scan import scan_text


def speed_figures(corpus_mb: float, calls: int) -> list[Figure]:
    """All families together on mixed English text (MB/s, best of 3, one core), and the
    content layer's p50 on a 1 KB outbound body."""
    corpus = bench_detectors.build_corpus(int(corpus_mb * 1e6), bench_detectors.SEED, 20)
    families = [
        PIIDetector(),
        SecretsDetector(),
        InjectionDetector(model="all"),
        ToneDetector(),
    ]
    seconds, _ = bench_detectors.best_of(
        bench_detectors.per_doc(lambda d: scan_text(d, families), corpus.docs), 3
    )
    rate = corpus.size / 1e6 / seconds
    names, parts, _ = bench_content.run(calls, 1024)
    content = statistics.median(parts["content"])
    return [
        Figure(
            "speed",
            "all families at once (pii + secrets + injection with its model + tone), one core",
            f"{corpus.size / 1e6:.1f} MB of stdlib docstrings, pydoc topics and source "
            f"in {len(corpus.docs)} documents (bench/bench_detectors.py corpus)",
            f"{rate:.1f} MB/s",
            aim=">= 20 MB/s",
            met=rate >= 20,
        ),
        Figure(
            "speed",
            "a 1 KB outbound body through the content layer (p50)",
            f"bench/bench_content.py: send_email, {calls} decisions, rules for {', '.join(names)}",
            f"{content:.1f} µs",
            aim="<= 200 µs",
            met=content <= 200,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--team", action="store_true", help="also the team-written sets")
    parser.add_argument("--mb", type=float, default=2.0, help="speed corpus size (MB)")
    parser.add_argument("--calls", type=int, default=2000, help="content-layer decisions")
    options = parser.parse_args()
    peers.forbid_network()
    started = time.perf_counter()
    print("agentguard detectors on external data, beside peers in the same run")
    print(f"measured {machine()}")
    figures: list[Figure] = []
    figures += eval_injection_model.figures()
    figures += eval_external.secrets_figures()
    figures += eval_external.pii_figures()
    figures += eval_tone.figures()
    bench_detectors.pin_one_core()
    figures += speed_figures(options.mb, options.calls)
    print_figures(figures)
    missed = [f for f in figures if f.met is False]
    print(f"\n{len(figures)} figures; aims missed: {len(missed)} of "
          f"{sum(f.met is not None for f in figures)}")  # fmt: skip
    if options.team:
        print("\n\n== team-written regression sets (tests/detect/data)\n")
        eval_team.main([])
    print(f"\ntotal time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
