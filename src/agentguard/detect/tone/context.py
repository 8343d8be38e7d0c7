"""Scoring a word-list hit from the text around it (see :mod:`agentguard.detect.tone.detector`).

Each hit starts from its term's base score; :meth:`Context.score` then moves it:

* written with an asterisk or dash mask: −0.05, and −0.1 more when fewer letters show than
  are hidden (``f***``); found inside a longer unknown word (``fuckwaffle``): −0.1;
* in quotes (``"…"``, ``'…'``, ``“…”``): −0.2; in moderation or definition talk nearby (“the
  word”, “profanity”, “slur”, “filter”, “means” …): −0.2; together at most −0.35;
* part of a code identifier (``cum_sum``, ``obj.ass``, ``.ass`` files, ``dick()``) or in a
  backtick span or fenced code block: −0.4;
* shouted (``FUCK``): +0.05;
* flags of the term: ``name`` (“Dick Smith”, “Moby Dick”) in title case inside a sentence or
  before another capitalised word: 0.1; ``lower``: not a hit unless written in lower case;
  ``after_word`` (“af”): only after a space and a word that is not an article or
  preposition, not before an operator, and in capitals only after a lower-case word
  (“cheap AF”, not “the AF motor”, ``if af == 0`` or ``socket(af, …)``);
* a known innocent phrase around it (“cum laude”, “chink in the armour”, “no cap on”):
  not a hit.
"""

from __future__ import annotations

import bisect
import re

from agentguard.detect.tone.scan import Hit
from agentguard.detect.tone.words import SAFE_CONTEXTS

__all__ = ["Context"]

_OPEN_QUOTES = frozenset("\"'“‘«„")
_CLOSE_QUOTES = frozenset("\"'”’»“")
_META = re.compile(
    r"\b(?:profan\w*|swear\w*|curse\s+words?|cuss\w*|expletives?|slurs?|obscen\w*|vulgar\w*|"
    r"offensive\w*|moderat\w*|filter\w*|blocklists?|blacklist\w*|banned|censor\w*|bleep\w*|"
    r"the\s+(?:word|term|phrase|acronym)s?|[a-z]-words?|definition|dictionary|etymology|"
    r"spelled|spelling|pronounced|derogatory|pejorative|epithets?|means|meaning)\b"
)
#: words after which "af" is not an intensifier (the AF motor, of AF)
_NOT_BEFORE_AF = frozenset(
    """the a an this that these those our your my its their his her with of for in on at
    by to from and or as is are was be""".split()  # noqa: SIM905
)
_PREV_WORD = re.compile(r"([A-Za-z]+)[ \t]+\Z")
#: what follows "af" in code, not in a sentence (af = 2, af == 0, af[0])
_CODE_AFTER = re.compile(r"[ \t]*[=<>(\[+*/%]")
_SENTENCE_END = frozenset(".!?\n")


def _quoted(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end : end + 2]
    return before in _OPEN_QUOTES and bool(before) and any(c in _CLOSE_QUOTES for c in after)


def _positions(text: str, needle: str, step: int) -> list[int]:
    """Where ``needle`` occurs in ``text``, each search going on ``step`` past the last."""
    out: list[int] = []
    pos = text.find(needle)
    while pos != -1:
        out.append(pos)
        pos = text.find(needle, pos + step)
    return out


def _identifier(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    after2 = text[end + 1] if end + 1 < len(text) else ""
    if before in ("_", ".") or after in ("_", "("):
        return True  # snake_case, obj.attr, a .ext file extension, a call
    return after == "." and after2.isalnum()


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"'“‘(*#>-":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _name_like(text: str, start: int, end: int) -> bool:
    word = text[start:end]
    if not (word[:1].isupper() and word[1:].islower()):
        return False
    nxt = re.match(r"[ \t]+([A-Z][a-z]+)", text[end : end + 40])
    return not _sentence_start(text, start) or nxt is not None


def _after_word_ok(text: str, start: int, end: int) -> bool:
    m = _PREV_WORD.search(text, max(0, start - 40), start)
    if m is None or _CODE_AFTER.match(text, end):
        return False
    prev = m.group(1)
    if prev.lower() in _NOT_BEFORE_AF:
        return False
    return text[start:end].islower() or prev.islower()


def _safe(norm: str, start: int, end: int, canonical: str) -> bool:
    pattern = SAFE_CONTEXTS.get(canonical)
    if pattern is None:
        return False
    lo = max(0, start - 40)
    return any(m.start() < end and m.end() > start for m in pattern.finditer(norm, lo, end + 40))


class Context:
    """One text being scored: the original, its normalised view, where fenced code blocks
    (three backticks) open and close, and where its newlines and backticks are (found once,
    so a hit on a long line looks its line up instead of reading it)."""

    def __init__(self, text: str, norm: str) -> None:
        self.text = text
        self.norm = norm
        self._fences = _positions(text, "```", 3)
        self._newlines: list[int] | None = None
        self._backticks: list[int] | None = None

    def in_code(self, start: int, end: int) -> bool:
        """Inside a fenced block or a backtick span on one line."""
        if self._fences and bisect.bisect_left(self._fences, start) % 2 == 1:
            return True
        return self._in_backticks(start, end)

    def _in_backticks(self, start: int, end: int) -> bool:
        """An odd number of backticks between the line's start and ``start``, and one more
        between ``end`` and the line's end."""
        if "`" not in self.text:
            return False
        if self._newlines is None or self._backticks is None:
            self._newlines = _positions(self.text, "\n", 1)
            self._backticks = _positions(self.text, "`", 1)
        newlines, ticks = self._newlines, self._backticks
        i = bisect.bisect_left(newlines, start)  # newlines before start: newlines[:i]
        line_start = newlines[i - 1] + 1 if i else 0
        j = bisect.bisect_left(newlines, end)
        line_end = newlines[j] if j < len(newlines) else len(self.text)
        before = bisect.bisect_left(ticks, start) - bisect.bisect_left(ticks, line_start)
        after = bisect.bisect_left(ticks, line_end) - bisect.bisect_left(ticks, end)
        return before % 2 == 1 and after > 0

    def score(self, hit: Hit, start: int, end: int) -> float:
        """The score of ``hit`` (``norm[hit.start:hit.end]``, ``text[start:end]`` in the
        original), or 0.0 when the context clears it; see the module docstring."""
        text, norm, term = self.text, self.norm, hit.term
        written = text[start:end]
        if "lower" in term.flags and written != written.lower():
            return 0.0
        if "after_word" in term.flags and not _after_word_ok(text, start, end):
            return 0.0
        if _safe(norm, hit.start, hit.end, term.canonical):
            return 0.0
        if "name" in term.flags and _name_like(text, start, end):
            return 0.1
        score = term.score
        if hit.how == "masked":
            shown = sum(c.isalpha() for c in written)
            score -= 0.05 + (0.1 if shown < len(written) - shown else 0.0)
        elif hit.how == "infix":
            score -= 0.1
        penalty = 0.0
        if _quoted(text, start, end):
            penalty += 0.2
        if _META.search(norm, max(0, hit.start - 100), min(len(norm), hit.end + 60)):
            penalty += 0.2
        score -= min(penalty, 0.35)
        if _identifier(text, start, end) or self.in_code(start, end):
            score -= 0.4
        if len(written) >= 3 and written.isupper():
            score += 0.05
        return max(0.0, min(1.0, score))
