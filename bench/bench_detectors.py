"""Throughput of the content detectors (MB/s, one core, best of 3), side by side with
Microsoft Presidio (pattern recognizers, no NER model) and Yelp's detect-secrets.

    make bench-detectors      # or: python bench/bench_detectors.py [--mb 5] [--peer-mb 1]

Corpus, built deterministically (seeded) from text every Python install has, with no
imports of the modules it reads: the docstrings of the standard library (parsed with
``ast``, split into paragraphs) and the ``pydoc_data.topics`` help text as English prose,
and runs of 30 source lines from the same files as code, about half and half by bytes,
grouped into documents of 3–10 paragraphs; one labelled text from the eval sets
(tests/detect/data: PII, secrets, injection) is inserted every ``--every`` paragraphs. Its
exact bytes depend on the Python version (the stdlib differs), so the script prints the
corpus size and a SHA-256 prefix.

Each detector is called once per document (``detect(doc)``, which prepares the text for
its own family); ``agentguard, all families`` is ``scan_text`` with every detector, which
prepares each document once for all of them (case fold and one probe scan: the shared
pre-pass of ``agentguard.detect.prepass``, run by hyperscan, or by ``str.find``/``re`` with
``--prepass re``). The peers are slow, so they get only the first
``--peer-mb`` MB of documents; agentguard is timed on that slice too, and the ratio column
compares figures on the same slice. Presidio analyses each document with its
``AnalyzerEngine``; detect-secrets scans the slice written to one ``.txt`` file, as
``detect-secrets scan`` does. How each peer is set up, and why Presidio gets a no-op NLP
engine rather than a spaCy model: see ``bench/_detect_peers.py``. The process is pinned to
one CPU and any network access fails.

Last, the literal pre-filter (find every occurrence of ~40 keywords and vendor prefixes in
lower-cased text): one ``str.find`` loop per literal (what the pre-pass does without
hyperscan) against one ``re`` alternation, ``google-re2``, ``pyahocorasick`` and
``hyperscan``, each when installed; and agentguard's own pre-pass, which finds the probes of
every family (literals and short patterns) in each document.
"""

from __future__ import annotations

import argparse
import ast
import gc
import hashlib
import os
import platform
import random
import re
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _detect_peers as peers
from agentguard.detect import prepass
from agentguard.detect.base import Detector
from agentguard.detect.pii import PIIDetector
from agentguard.detect.secrets import SecretsDetector
from agentguard.scan import scan_text

SEED = 20240917
CODE_LINES = 30
SKIP_DIRS = frozenset(
    {
        "test", "tests", "idlelib", "lib2to3", "turtledemo", "ensurepip", "site-packages",
        "dist-packages", "__pycache__", "pydoc_data",
    }
)  # fmt: skip
#: vendor prefixes and anchors for the pre-filter comparison (lower-cased like the text)
VENDOR_LITERALS = (
    "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-",
    "xoxp-", "xoxa-", "xapp-", "hooks.slack.com", "sk-", "sk_live_", "rk_live_", "eyj",
    "aiza", "ya29.", "hf_", "npm_", "pypi-", "sg.", "-----begin ", "://", "accountkey=",
    "sig=", "discord.com/api/webhooks", "sk-ant-", "sharedaccesssignature",
)  # fmt: skip
FALLBACK_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "cred", "auth", "bearer")


# ---------------------------------------------------------------------------- corpus


@dataclass(frozen=True, slots=True)
class Corpus:
    docs: list[str]
    prose_bytes: int
    code_bytes: int
    inserted: int

    @property
    def size(self) -> int:
        return sum(len(d.encode("utf-8")) for d in self.docs)

    def digest(self) -> str:
        h = hashlib.sha256()
        for doc in self.docs:
            h.update(doc.encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest()[:16]


def stdlib_sources() -> list[tuple[str, str]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if SKIP_DIRS.intersection(rel.parts[:-1]):
            continue
        out.append((rel.as_posix(), path.read_text(encoding="utf-8", errors="replace")))
    return out


def paragraphs(text: str) -> list[str]:
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if len(p.strip()) >= 40]


def docstrings(source: str) -> Iterator[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield doc


def cycle(pool: list[str], rng: random.Random) -> Iterator[str]:
    """The pool in a seeded random order, reshuffled on each pass."""
    order = list(pool)
    while True:
        rng.shuffle(order)
        yield from order


def build_corpus(target_bytes: int, seed: int, every: int) -> Corpus:
    from pydoc_data.topics import topics

    rng = random.Random(seed)
    sources = stdlib_sources()
    prose = [p for _, src in sources for doc in docstrings(src) for p in paragraphs(doc)]
    prose += [p for key in sorted(topics) for p in paragraphs(topics[key])]
    code = []
    for _, src in sources:
        lines = src.splitlines()
        for i in range(0, len(lines) - CODE_LINES // 2, CODE_LINES):
            chunk = "\n".join(lines[i : i + CODE_LINES])
            if len(chunk.strip()) >= 200:
                code.append(chunk)
    samples = [
        row["text"]
        for name in ("pii_eval.jsonl", "secrets_eval.jsonl", "injection_eval.jsonl")
        for row in peers.load_jsonl(name)
    ]
    prose_it, code_it = cycle(prose, rng), cycle(code, rng)
    sample_it = cycle(samples, rng) if samples else None
    docs: list[str] = []
    size = prose_bytes = code_bytes = inserted = count = 0
    while size < target_bytes:
        parts: list[str] = []
        is_code = code_bytes < prose_bytes
        for _ in range(rng.randint(3, 10)):
            parts.append(next(code_it) if is_code else next(prose_it))
            count += 1
            if sample_it is not None and count % every == 0:
                parts.append(next(sample_it))
                inserted += 1
        doc = "\n\n".join(parts)
        n = len(doc.encode("utf-8"))
        if is_code:
            code_bytes += n
        else:
            prose_bytes += n
        size += n
        docs.append(doc)
    return Corpus(docs, prose_bytes, code_bytes, inserted)


def head(docs: Sequence[str], max_bytes: int) -> list[str]:
    out, size = [], 0
    for doc in docs:
        if size >= max_bytes:
            break
        out.append(doc)
        size += len(doc.encode("utf-8"))
    return out


def mb(docs: Sequence[str]) -> float:
    return sum(len(d.encode("utf-8")) for d in docs) / 1e6


# ---------------------------------------------------------------------------- timing


def best_of(run: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Fastest of ``repeat`` runs in seconds, and what the run returned (a finding count)."""
    best, result = float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_doc(fn: Callable[[str], Sequence[object]], docs: Sequence[str]) -> Callable[[], int]:
    def run() -> int:
        return sum(len(fn(doc)) for doc in docs)

    return run


@dataclass(slots=True)
class Row:
    name: str
    full: float | None  # MB/s on the whole corpus
    part: float | None  # MB/s on the peer slice
    findings: int | None  # on the peer slice
    note: str = ""


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def agentguard_detectors() -> tuple[list[tuple[str, Detector]], str]:
    found: list[tuple[str, Detector]] = [
        ("agentguard pii", PIIDetector()),
        ("agentguard secrets", SecretsDetector()),
    ]
    note = ""
    try:
        from agentguard.detect.injection import InjectionDetector

        found.append(("agentguard injection", InjectionDetector()))
    except Exception as exc:  # another team is editing it: report, do not fail
        note = f"agentguard injection not measured: {type(exc).__name__}: {exc}"
    return found, note


# ---------------------------------------------------------------------------- pre-filter


def prefilter_rows(text: str, literals: Sequence[str], repeat: int) -> list[tuple[str, float, int]]:
    """(implementation, MB/s, occurrences) for each literal search that is installed."""
    size = len(text.encode("utf-8")) / 1e6
    rows: list[tuple[str, float, int]] = []

    def find_loop() -> int:
        n = 0
        for word in literals:
            find = text.find
            pos = find(word)
            while pos != -1:
                n += 1
                pos = find(word, pos + len(word))
        return n

    pattern = "|".join(re.escape(w) for w in sorted(literals, key=len, reverse=True))
    compiled = re.compile(pattern)
    candidates: list[tuple[str, Callable[[], int]]] = [
        (f"str.find loop, {len(literals)} literals (pre-pass without hyperscan)", find_loop),
        ("re: one alternation, finditer", lambda: sum(1 for _ in compiled.finditer(text))),
    ]
    try:
        import re2  # google-re2

        compiled2: Any = re2.compile(pattern)
        candidates.append(
            (
                f"google-re2 {peers.version_of('google-re2')}: alternation",
                lambda: sum(1 for _ in compiled2.finditer(text)),
            )
        )
    except ImportError:
        print(f"google-re2 not installed; install it with: {peers.INSTALL_HINT}")
    try:
        import ahocorasick

        automaton: Any = ahocorasick.Automaton()
        for i, word in enumerate(literals):
            automaton.add_word(word, i)
        automaton.make_automaton()
        candidates.append(
            (
                f"pyahocorasick {peers.version_of('pyahocorasick')}: Automaton.iter",
                lambda: sum(1 for _ in automaton.iter(text)),
            )
        )
    except ImportError:
        print(f"pyahocorasick not installed; install it with: {peers.INSTALL_HINT}")
    try:
        import hyperscan

        database: Any = hyperscan.Database()
        database.compile(
            expressions=[re.escape(w).encode() for w in literals],
            ids=list(range(len(literals))),
            elements=len(literals),
        )
        data = text.encode("utf-8")

        def scan_hs() -> int:
            hits = [0]

            def on_match(*_: object) -> None:
                hits[0] += 1

            database.scan(data, match_event_handler=on_match)
            return hits[0]

        candidates.append((f"hyperscan {peers.version_of('hyperscan')}: block scan", scan_hs))
    except ImportError:
        print(f"hyperscan not installed; install it with: {peers.INSTALL_HINT} (Linux x86-64)")
    for name, run in candidates:
        seconds, hits = best_of(run, repeat)
        rows.append((name, size / seconds, hits))
    return rows


def prepass_positions(doc: str) -> list[int]:
    """Every position the pre-pass finds in ``doc``, for all probes of all families (the
    ``re`` engine finds nothing up front: it leaves each check to scan for itself)."""
    found = prepass.prepare(doc).hits() or {}
    return [pos for positions in found.values() for pos in positions]


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=5.0, help="corpus size to build (MB)")
    parser.add_argument("--peer-mb", type=float, default=1.0, help="input given to peers (MB)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--every", type=int, default=20, help="eval text every N paragraphs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    parser.add_argument("--no-prefilter", action="store_true")
    parser.add_argument(
        "--prepass",
        choices=("hyperscan", "re"),
        default=None,
        help="pre-pass engine (default: hyperscan when installed)",
    )
    options = parser.parse_args()
    if options.prepass is not None:
        prepass.set_engine(options.prepass)
    peers.forbid_network()
    pinned = pin_one_core()

    started = time.perf_counter()
    corpus = build_corpus(int(options.mb * 1e6), options.seed, options.every)
    part = head(corpus.docs, int(options.peer_mb * 1e6))
    built = time.perf_counter() - started
    full_mb, part_mb = corpus.size / 1e6, mb(part)

    print(f"agentguard detector throughput — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {pinned}; best of {options.repeat}"
    )
    engine = prepass.engine_name()
    if engine == "hyperscan":
        engine += " " + peers.version_of("hyperscan")
    print(f"detector pre-pass: {engine}")
    print(
        f"corpus: {full_mb:.2f} MB in {len(corpus.docs)} documents (seed {options.seed}, "
        f"sha256 {corpus.digest()}…, built in {built:.1f} s): "
        f"{corpus.prose_bytes / 1e6:.2f} MB stdlib docstrings + pydoc topics, "
        f"{corpus.code_bytes / 1e6:.2f} MB stdlib source, {corpus.inserted} eval texts "
        f"inserted (one every {options.every} paragraphs)"
    )
    print(
        f"peer input capped at the first {len(part)} documents = {part_mb:.2f} MB; "
        f"agentguard is timed on that slice too"
    )

    rows: list[Row] = []
    detectors, note = agentguard_detectors()
    if note:
        print(note)
    for name, detector in detectors:
        full_s, _ = best_of(per_doc(detector.detect, corpus.docs), options.repeat)
        part_s, found = best_of(per_doc(detector.detect, part), options.repeat)
        rows.append(Row(name, full_mb / full_s, part_mb / part_s, found))
    everything = [d for _, d in detectors]
    label = "agentguard, all families (" + " + ".join(n.split()[1] for n, _ in detectors) + ")"
    full_s, _ = best_of(per_doc(lambda d: scan_text(d, everything), corpus.docs), options.repeat)
    part_s, found = best_of(per_doc(lambda d: scan_text(d, everything), part), options.repeat)
    rows.append(Row(label, full_mb / full_s, part_mb / part_s, found))

    presidio = peers.load_peer(peers.Presidio, "presidio-analyzer")
    if presidio is not None:
        part_s, found = best_of(per_doc(presidio.analyze, part), options.repeat)
        rows.append(
            Row(
                f"Presidio {presidio.version} ({presidio.recognizers} pattern recognizers)",
                None,
                part_mb / part_s,
                found,
                "no NLP model",
            )
        )
    secrets_peer = peers.load_peer(peers.DetectSecrets, "detect-secrets")
    if secrets_peer is not None:
        path = secrets_peer.write("\n".join(part), "slice.txt")
        part_s, found = best_of(lambda: len(secrets_peer.scan_path(path)), options.repeat)
        rows.append(
            Row(
                f"detect-secrets {secrets_peer.version} ({secrets_peer.plugins} plugins)",
                None,
                part_mb / part_s,
                found,
                "scan_file, one .txt file",
            )
        )
        secrets_peer.close()

    breakdown = []  # what was found on the slice, untimed
    ours = Counter(f.type for doc in part for f in scan_text(doc, everything) if f.score >= 0.5)
    breakdown.append(("agentguard, score ≥ 0.5", ours))
    if presidio is not None:
        breakdown.append(
            ("Presidio, any score", Counter(h.type for doc in part for h in presidio.analyze(doc)))
        )
    reference = next((r.part for r in rows if r.name.startswith("Presidio")), None)
    print()
    print(
        f"{'detector':48} {'MB/s full':>10} {'MB/s slice':>11} {'× Presidio':>11} "
        f"{'findings':>9}  (slice = first {part_mb:.2f} MB)"
    )
    for row in rows:
        full = f"{row.full:10.2f}" if row.full is not None else f"{'—':>10}"
        ratio = f"{row.part / reference:10.1f}×" if reference and row.part else f"{'—':>11}"
        slice_ = f"{row.part:11.3f}" if row.part is not None else f"{'—':>11}"
        tail = f"  {row.note}" if row.note else ""
        print(f"{row.name:48} {full} {slice_} {ratio} {row.findings or 0:9d}{tail}")
    if reference is None:
        print("(no ratio: Presidio is not installed)")
    print("(findings column: on the slice, at each detector's default minimum score)")
    print("findings on the slice by type:")
    for name, kinds in breakdown:
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))

    if not options.no_prefilter:
        try:
            from agentguard.detect.secrets import detector as secrets_module

            keywords = tuple(getattr(secrets_module, "_KEYWORDS", FALLBACK_KEYWORDS))
        except ImportError:
            keywords = FALLBACK_KEYWORDS
        literals = tuple(dict.fromkeys((*keywords, *VENDOR_LITERALS)))
        text = "\n\n".join(corpus.docs).lower()
        print()
        measured = prefilter_rows(text, literals, options.repeat)
        seconds, hits = best_of(per_doc(prepass_positions, corpus.docs), options.repeat)
        needles = sum(len(needles) for needles in prepass.registered())
        measured.append(
            (
                f"agentguard pre-pass ({prepass.engine_name()}): {needles} needles, per doc",
                full_mb / seconds,
                hits,
            )
        )
        print(
            f"literal pre-filter: every occurrence of {len(literals)} literals in the "
            f"lower-cased corpus ({len(text.encode('utf-8')) / 1e6:.2f} MB, one string)"
        )
        print(f"{'implementation':48} {'MB/s':>10} {'matches':>9}")
        for name, speed, hits in measured:
            print(f"{name:48} {speed:10.1f} {hits:9d}")
        print(
            "(str.find and re/re2 count non-overlapping matches; Aho-Corasick and hyperscan "
            "count every match, overlapping ones included; the pre-pass row counts the "
            "candidate positions of every family's probes in the documents)"
        )
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
