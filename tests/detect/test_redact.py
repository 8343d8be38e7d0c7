"""Redaction: nothing of a finding survives, whatever the overlap, in every style."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentguard.detect.base import Finding
from agentguard.detect.redact import STYLES, merge_spans, redact, redact_value, tag


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


SSN = "512-44-3290"


def _unkeyed_prefixes(value: str) -> set[str]:
    raw = value.encode()
    names = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "sha3_256")
    return {hashlib.new(name, raw).hexdigest()[:12] for name in names}


def test_hash_tag_is_hmac_sha256_of_the_value_under_the_key() -> None:
    key = b"k" * 32
    out = redact(f"ssn {SSN}", [f(4, 15, "US_SSN")], style="hash", key=key)
    assert out == f"ssn [US_SSN:{hmac.new(key, SSN.encode(), hashlib.sha256).hexdigest()[:12]}]"


def test_hash_tag_without_a_key_is_keyed_all_the_same() -> None:
    out = redact(f"{SSN} {SSN}", [f(0, 11, "US_SSN"), f(12, 23, "US_SSN")], style="hash")
    first, second = out.split()
    assert first == second  # equal values correlate within the process
    assert first[len("[US_SSN:") : -1] not in _unkeyed_prefixes(SSN)
    assert tag(SSN) not in _unkeyed_prefixes(SSN)


def test_hash_tags_differ_between_keys() -> None:
    assert tag(SSN, b"a" * 32) != tag(SSN, b"b" * 32)
    assert tag(SSN, b"a" * 32) == tag(SSN, b"a" * 32)


def test_redact_value_hash_tags_use_the_given_key() -> None:
    class Ssn:
        name = "ssn"
        types = frozenset({"US_SSN"})

        def detect(self, text: str) -> list[Finding]:
            start = text.find(SSN)
            return [] if start < 0 else [f(start, start + len(SSN), "US_SSN")]

    key = b"z" * 32
    out = redact_value({"note": f"ssn {SSN}"}, [Ssn()], key=key)
    assert out == {"note": f"ssn [US_SSN:{tag(SSN, key)}]"}


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
