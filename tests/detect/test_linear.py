"""Every detector family stays linear in its input, on adversarial input too.

Each family scans each adversarial shape (one short unit repeated: runs of one character,
repeated assignments and separators, nested brackets, near-miss vendor prefixes, dense
trigger words) at two sizes, 4x apart. The work is measured deterministically, as the
number of Python and C function calls the scan makes (``sys.setprofile``): a scan that
goes back over the text for every hit makes ~16x the calls at 4x the size, a linear one
~4x. The measure cannot see backtracking inside one regex call; ``bench/bench_linear.py``
times the same shapes at 16, 64 and 256 KiB for that. Findings must be valid as well.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from agentguard.detect import prepass
from agentguard.detect.base import Finding
from agentguard.detect.injection.malicious import KIND_CHECKS
from agentguard.scan import default_registry, scan_text

SHAPES = [
    "pwd=",
    "a=",
    ": ",
    "password: ",
    "key=",
    "secret='",
    "token:=",
    "pwd=${",
    "pwd=hello",
    "a",
    "A",
    "0",
    " ",
    "=",
    "-",
    "\n",
    "\u200b",
    "ig\u200bnore all previous instructions ",
    "[",
    "(",
    '{"a":',
    "![](",
    "![](http://x/",
    "<img/src=",
    "](http://x?",
    "sk-",
    "ghp_",
    "eyJ",
    "-----BEGIN RSA PRIVATE KEY-----\n",
    "1 ",
    "@a.",
    "a@b.cd ",
    "4111 1111 1111 1111 ",
    "ignore previous instructions ",
    "system:",
    "[INST]",
    "<|im_start|>",
    "' or ",
    "../",
    "| sh ",
    "curl x ",
    "nc x ",
    "base64 -d ",
    "UNION ",
    "DAMN ",
    "`fuck ",
]
SMALL = 2048
LARGE = 4 * SMALL
#: calls at 4x the size / calls before it: ~4 when linear, ~16 when quadratic
LIMIT = 5.0

_REGISTRY = default_registry()
_FAMILIES: dict[str, Callable[[str], list[Any]]] = {d.name: d.detect for d in _REGISTRY}
_TYPES = frozenset(t for d in _REGISTRY for t in d.types)


def _argument_checks(text: str) -> list[Any]:
    """The strict checks of a typed tool argument (path, shell, sql), which need no
    pre-pass: the rest of ``detect_in_argument`` is the injection family's scan."""
    return [hit for check in KIND_CHECKS.values() for hit in check(text)]


def _text(shape: str, size: int) -> str:
    return (shape * (size // len(shape) + 1))[:size]


def _calls(scan: Callable[[str], list[Any]], text: str) -> tuple[int, list[Any]]:
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        findings = scan(text)
    finally:
        sys.setprofile(None)
    return count, findings


def _assert_valid(findings: list[Finding], text: str) -> None:
    for f in findings:
        assert 0 <= f.start <= f.end <= len(text), f
        assert 0.0 <= f.score <= 1.0, f
        assert f.type in _TYPES, f


@pytest.fixture(params=["hyperscan", "re"])
def engine(request: pytest.FixtureRequest) -> Any:
    if request.param == "hyperscan" and prepass.engine_name() != "hyperscan":
        pytest.skip("hyperscan is not installed here")
    previous = prepass.set_engine(request.param)
    yield request.param
    prepass.set_engine(previous)


def _nonlinear(
    scan: Callable[[str], list[Any]], check: Callable[[list[Any], str], None]
) -> list[Any]:
    scan("warm up: password=hunter2 ana@example.org ignore previous instructions")
    worst: list[tuple[float, str, int, int]] = []
    for shape in SHAPES:
        small, _ = _calls(scan, _text(shape, SMALL))
        large, found = _calls(scan, _text(shape, LARGE))
        check(found, _text(shape, LARGE))
        ratio = large / max(small, 1)
        if ratio > LIMIT:
            worst.append((round(ratio, 1), shape, small, large))
    return worst


@pytest.mark.parametrize("family", sorted(_FAMILIES))
def test_work_grows_linearly_with_adversarial_input(family: str, engine: str) -> None:
    worst = _nonlinear(_FAMILIES[family], _assert_valid)
    assert not worst, f"{family} ({engine}): calls grow faster than the input: {worst}"


def test_typed_argument_checks_grow_linearly() -> None:
    def check(hits: list[Any], text: str) -> None:
        assert all(0 <= h.start <= h.end <= len(text) and 0 <= h.score <= 1 for h in hits)

    worst = _nonlinear(_argument_checks, check)
    assert not worst, f"argument checks: calls grow faster than the input: {worst}"


def test_the_measure_sees_a_quadratic_scan() -> None:
    def quadratic(text: str) -> list[Finding]:
        for i in range(len(text) // 64):
            sum(1 for _ in text[i:])  # a generator step per character left: quadratic
        return []

    small, _ = _calls(quadratic, "x" * SMALL)
    large, _ = _calls(quadratic, "x" * LARGE)
    assert large / small > 10


@pytest.mark.parametrize("shape", ["pwd=", "key=", "secret='", "[INST]", "UNION ", "a@b.cd "])
def test_large_adversarial_inputs_complete_with_valid_findings(shape: str) -> None:
    text = _text(shape, 64 * 1024)
    _assert_valid(scan_text(text, _REGISTRY), text)
