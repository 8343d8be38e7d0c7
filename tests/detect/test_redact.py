"""Redaction: nothing of a finding survives, whatever the overlap, in every style."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentguard.detect.base import Finding
from agentguard.detect.redact import STYLES, merge_spans, redact


def f(start: int, end: int, kind: str = "EMAIL", score: float = 0.9) -> Finding:
    return Finding(kind, start, end, score, "test")


@pytest.mark.parametrize(
    ("style", "expected"),
    [("mask", "to ******** ok"), ("type_tag", "to [EMAIL] ok"), ("hash", None)],
)
def test_styles(style: str, expected: str | None) -> None:
    out = redact("to a@b.co.uk ok", [f(3, 12)], style=style)  # type: ignore[arg-type]
    if expected is not None:
        assert out == expected
    else:
        assert out.startswith("to [EMAIL:") and out.endswith("] ok") and "a@b" not in out


def test_hash_style_is_stable_for_equal_values() -> None:
    one = redact("x secret1 y", [f(2, 9, "SECRET")], style="hash")
    two = redact("secret1", [f(0, 7, "SECRET")], style="hash")
    assert one[2:-2] == two


def test_overlapping_findings_merge_and_keep_the_strongest_type() -> None:
    assert merge_spans([f(0, 5, "PHONE", 0.5), f(3, 9, "CREDIT_CARD", 0.9)]) == [
        (0, 9, "CREDIT_CARD")
    ]


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown redaction style"):
        redact("x", [], style="blur")  # type: ignore[arg-type]


@given(
    prefix=st.text(alphabet="abc ", max_size=20),
    secret=st.text(alphabet="XYZ0123456789", min_size=4, max_size=20),
    suffix=st.text(alphabet="abc ", max_size=20),
    cut=st.integers(min_value=0, max_value=3),
    style=st.sampled_from(STYLES),
)
def test_no_part_of_a_secret_survives(
    prefix: str, secret: str, suffix: str, cut: int, style: str
) -> None:
    text = prefix + secret + suffix
    start, end = len(prefix), len(prefix) + len(secret)
    # two overlapping findings that together cover the secret
    findings = [f(start, end - cut), f(start + cut, end)]
    out = redact(text, findings, style=style)  # type: ignore[arg-type]
    assert secret not in out
    assert out.startswith(prefix) and out.endswith(suffix)
