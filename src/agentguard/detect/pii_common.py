"""Shared pieces of the PII scanners: the raw hit tuple, numeric islands, context look-ups.

Speed comes from scanning the text once for *numeric islands* (a digit followed by digits,
upper-case letters, or one or two separators that lead to another digit: ``415) 555-2671``,
``4111 1111 1111 1111``, ``85T10A562S``). Every scanner of numeric PII only looks at the
islands that could hold its type, with small regex windows around them, and runs its
validator on those candidates alone.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Hit(NamedTuple):
    """A raw PII candidate that passed its validator."""

    type: str
    start: int
    end: int
    score: float
    subtype: str | None = None


#: ``(start, end, digits)`` of a numeric island: its span and how many ASCII digits it holds
Span = tuple[int, int, int]

#: score ceiling for well-known test/example values (4111 1111 1111 1111, 123-45-6789 …)
EXAMPLE_SCORE = 0.5

_ISLAND_RE = re.compile(r"[0-9](?:[0-9A-Z]|[ ./:()\-]{1,2}(?=[0-9]))*")


_DROP_DIGITS = str.maketrans("", "", "0123456789")


def find_islands(text: str) -> list[Span]:
    """The numeric islands of ``text``, in order."""
    out: list[Span] = []
    for m in _ISLAND_RE.finditer(text):
        value = m.group()
        digits = len(value) if value.isdigit() else len(value) - len(value.translate(_DROP_DIGITS))
        out.append((m.start(), m.end(), digits))
    return out


def word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words``, as a set (for long literal lists)."""
    return frozenset(words.split())


def words_re(*words: str) -> re.Pattern[str]:
    """A case-insensitive whole-word alternation (spaces match any whitespace run)."""
    alts = sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)


def near(
    pattern: re.Pattern[str], text: str, start: int, end: int, before: int = 40, after: int = 24
) -> bool:
    """Whether ``pattern`` occurs within ``before`` chars before or ``after`` chars after."""
    if pattern.search(text, max(0, start - before), start) is not None:
        return True
    return after > 0 and pattern.search(text, end, end + after) is not None


def clamp(score: float) -> float:
    return 0.0 if score < 0.0 else 1.0 if score > 1.0 else score


def digits_of(value: str) -> str:
    return "".join(ch for ch in value if "0" <= ch <= "9")
