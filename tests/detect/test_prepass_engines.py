"""The two pre-pass engines give the same findings on every labelled set (PII, secrets,
injection, tone), and so does the first use of each engine from many threads at once.

First use is when the engine is chosen, its module imported and, for hyperscan, its
database compiled and a scratch space made per thread. That happens once per process, so
the threaded tests run in a fresh interpreter, which imports this file and calls
:func:`first_use_from_threads` (with hyperscan hidden there when the ``re`` engine is
tested: it is the default wherever hyperscan is missing).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from agentguard.detect import prepass
from agentguard.detect.base import Finding
from agentguard.detect.injection import ARGUMENT_KINDS, InjectionDetector, detect_in_argument
from agentguard.detect.pii import PIIDetector
from agentguard.detect.secrets import SecretsDetector
from agentguard.detect.tone import ToneDetector
from agentguard.scan import scan_text

try:
    importlib.import_module("hyperscan")
    HYPERSCAN = True
except ImportError:
    HYPERSCAN = False

DATA = Path(__file__).parent / "data"
SETS = ("pii", "secrets", "injection", "tone")
THREADS = 16
ENGINES = [
    "re",
    pytest.param(
        "hyperscan",
        marks=pytest.mark.skipif(not HYPERSCAN, reason="hyperscan is not importable here"),
    ),
]
# Every family at its defaults (as scan_text runs them together) and at the lowest score,
# so that weak candidates must agree too.
DEFAULTS = (PIIDetector(), SecretsDetector(), InjectionDetector(), ToneDetector())
DETECTORS = (
    *DEFAULTS,
    PIIDetector(region="GB", min_score=0.0),
    InjectionDetector(min_score=0.0),
    ToneDetector(min_score=0.0),
)
KINDS = sorted(ARGUMENT_KINDS)  # a frozenset's order differs between processes


Found = list[list[Finding]]


def labelled_texts(family: str) -> list[str]:
    lines = (DATA / f"{family}_eval.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


ALL_TEXTS = [text for family in SETS for text in labelled_texts(family)]


def findings(text: str) -> Found:
    """What every detector finds in ``text``, alone and in one shared pass, and what the
    argument checks find in it as each kind of tool argument."""
    found = [detector.detect(text) for detector in DETECTORS]
    found.append(scan_text(text, DEFAULTS))
    found.extend(detect_in_argument(text, kind) for kind in KINDS)
    return found


@contextmanager
def engine(name: str) -> Iterator[None]:
    previous = prepass.set_engine(name)
    try:
        yield
    finally:
        prepass.set_engine(previous)


@pytest.fixture(scope="module")
def single_threaded() -> dict[str, list[Found]]:
    """The findings of one thread on every labelled text, per engine available here."""
    out = {}
    for name in ("re", "hyperscan") if HYPERSCAN else ("re",):
        with engine(name):
            out[name] = [findings(text) for text in ALL_TEXTS]
    return out


@pytest.mark.skipif(not HYPERSCAN, reason="hyperscan is not importable here")
@pytest.mark.parametrize("family", SETS)
def test_engines_give_identical_findings_on_the_labelled_set(
    family: str, single_threaded: dict[str, list[Found]]
) -> None:
    start = sum(len(labelled_texts(f)) for f in SETS[: SETS.index(family)])
    texts = labelled_texts(family)
    by_re = single_threaded["re"][start : start + len(texts)]
    by_hyperscan = single_threaded["hyperscan"][start : start + len(texts)]
    assert any(any(found) for found in by_re), "the labelled set yields findings"
    for text, expected, found in zip(texts, by_re, by_hyperscan, strict=True):
        assert found == expected, text


def first_use_from_threads() -> dict[str, Any]:
    """In a fresh interpreter: :data:`THREADS` threads, released together by a barrier,
    scan different labelled texts (thread ``i`` every ``THREADS``-th text from ``i``) with
    an engine nobody has used yet; the findings as JSON, in text order."""
    assert prepass._engine is None, "no engine may be chosen before the threads start"
    assert "agentguard.detect.prepass.hyperscan_engine" not in sys.modules
    barrier = threading.Barrier(THREADS)
    results: list[Found | None] = [None] * len(ALL_TEXTS)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        barrier.wait()
        try:
            for i in range(worker, len(ALL_TEXTS), THREADS):
                results[i] = findings(ALL_TEXTS[i])
        except BaseException as exc:
            errors.append(exc)
            raise

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "engine": prepass.engine_name(),
        "errors": [repr(exc) for exc in errors],
        "results": [
            [[dataclasses.astuple(f) for f in found] for found in text_found]
            for text_found in results
            if text_found is not None
        ],
    }


CHILD = """
import importlib.util, json, sys

path, engine = sys.argv[1:]
if engine == "re":
    sys.modules["hyperscan"] = None  # not importable: the pre-pass falls back to re
spec = importlib.util.spec_from_file_location("prepass_engines_child", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(module.first_use_from_threads()))
"""


@pytest.mark.parametrize("name", ENGINES)
def test_first_use_from_many_threads_matches_one_thread(
    name: str, single_threaded: dict[str, list[Found]]
) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CHILD, __file__, name],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["engine"] == name
    assert out["errors"] == []
    threaded = [
        [[Finding(*row) for row in found] for found in text_found] for text_found in out["results"]
    ]
    assert len(threaded) == len(ALL_TEXTS)
    for text, expected, found in zip(ALL_TEXTS, single_threaded[name], threaded, strict=True):
        assert found == expected, text
    # and the same as the other engine, one thread each
    assert single_threaded[name] == single_threaded["re"]


def test_the_prepass_imports_with_and_without_hyperscan() -> None:
    hide = "import sys; sys.modules['hyperscan'] = None; "
    check = "import agentguard.detect.prepass as p; print(p.engine_name())"
    for prelude, expected in (("", "hyperscan" if HYPERSCAN else "re"), (hide, "re")):
        run = subprocess.run(
            [sys.executable, "-c", prelude + check],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == expected
