"""Unicode cleanup: invisible, control and bidi characters go; visible text stays."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from agentguard.sanitize import Cleaning, clean_text, clean_value

HIDDEN = ["\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad", "\U000e0041", "\x00", "\x1b"]


def test_hidden_characters_are_removed_and_counted() -> None:
    text = "pay" + "".join(HIDDEN) + "pal"
    assert clean_text(text) == ("paypal", len(HIDDEN))


def test_tabs_and_newlines_are_kept() -> None:
    assert clean_text("a\tb\nc\r\n") == ("a\tb\nc\r\n", 0)


def test_text_is_nfc_normalised() -> None:
    decomposed = "cafe\u0301"
    cleaned, removed = clean_text(decomposed)
    assert cleaned == "café" and removed == 0


@given(st.text())
def test_cleaned_text_has_no_removable_characters(text: str) -> None:
    cleaned, _ = clean_text(text)
    for ch in cleaned:
        assert ch in "\t\n\r" or unicodedata.category(ch) not in {"Cc", "Cf", "Co", "Cs"}
    assert clean_text(cleaned) == (cleaned, 0)  # idempotent


#: letters that draw nothing (Hangul and Braille fillers): removed on purpose, not visible
FILLERS = "\u115f\u1160\u3164\uffa0\u2800"


@given(
    st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"], exclude_characters=FILLERS))
)
def test_visible_text_is_unchanged(text: str) -> None:
    assert clean_text(text)[0] == unicodedata.normalize("NFC", text)


def test_nested_values_and_keys_are_cleaned_and_unchanged_values_kept() -> None:
    value = {"a\u200b": ["x\u202ey", {"k": "ok"}], "n": 1}
    report = Cleaning()
    cleaned = clean_value(value, 32, report)
    assert cleaned == {"a": ["xy", {"k": "ok"}], "n": 1} and report.removed == 2
    plain = {"k": ["a", "b"]}
    assert clean_value(plain, 32, Cleaning()) is plain


def test_depth_beyond_the_limit_is_reported() -> None:
    value: object = "x"
    for _ in range(40):
        value = [value]
    report = Cleaning()
    clean_value(value, 32, report)
    assert report.depth_exceeded
