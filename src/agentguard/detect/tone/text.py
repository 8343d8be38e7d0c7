"""Text normalisation for the tone detector: one lower-case ASCII view of the text, with a
map from its offsets back to the original.

ASCII text (the common case) is only lower-cased: offsets are unchanged and nothing is
copied character by character. Other text is encoded to ASCII with one ``?`` per other
character (so offsets hold), lower-cased as bytes, and each of those characters folded:

* invisible characters (zero-width space/joiners, word joiner, soft hyphen, BOM, bidi
  controls, variation selectors, tag characters) and combining marks are removed, so
  ``fu<U+200B>ck`` and ``fu<U+0308>ck`` read ``fuck``;
* letters fold to ASCII: homoglyphs (Cyrillic ``а е о р с у х і ѕ``, Greek ``ο α ι κ ν ρ τ υ``,
  ``ƒ``, ``ı``), compatibility forms through NFKD (full-width ``ｆｕｃｋ``, mathematical
  ``𝐟𝐮𝐜𝐤``, circled ``ⓕ``) and accented Latin letters (``fück``);
* everything else (punctuation, symbols, emoji, other scripts) becomes a space, a word
  boundary.

Each distinct character is folded once per process (a bounded cache); the work per text is
two ``str.translate`` passes and a step per run of removed characters.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

__all__ = ["Normalized", "OffsetMap", "fold_char", "normalize"]

#: default-ignorable characters that render as nothing
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u200b\u200c\u200d"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067"
    "\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufeff\uffa0"
)
#: letters that look like ASCII letters but do not decompose to them (lower case)
_HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ү": "y", "ѵ": "v", "ь": "b", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c",
    # Latin look-alikes without a decomposition
    "ı": "i", "ƒ": "f", "ɑ": "a", "ø": "o", "đ": "d", "ħ": "h", "ł": "l", "ŧ": "t", "ʋ": "u",
    "ɩ": "i", "ʟ": "l", "ꜱ": "s", "ᴜ": "u", "ᴄ": "c", "ᴋ": "k", "ɪ": "i", "ᴛ": "t", "ʜ": "h",
    "ɢ": "g", "ᴏ": "o", "ᴀ": "a", "ᴅ": "d", "ᴇ": "e", "ʙ": "b", "ɴ": "n", "ᴘ": "p", "ʀ": "r",
}  # fmt: skip
_CACHE_LIMIT = 1 << 16


def fold_char(ch: str) -> str | None:
    """The ASCII stand-in for one non-ASCII character (any case): the lower-case letter or
    digit it looks like, ``None`` when it is invisible (removed), else a space."""
    if ch in _INVISIBLE:
        return None
    low = ch.lower()
    if low in _HOMOGLYPHS:
        return _HOMOGLYPHS[low]
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf") or 0xE0000 <= ord(ch) <= 0xE007F:
        return None
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if len(base) == 1 and base.isascii() and base.isalnum():
        return base.lower()
    if len(base) == 1 and base.lower() in _HOMOGLYPHS:
        return _HOMOGLYPHS[base.lower()]
    return " "


class _FoldTable(dict[int, str | None]):
    """The normalised form of each character by code point, for ``str.translate``: an ASCII
    character lower-cased, any other folded (``None``: removed); each new one is worked out
    once and remembered."""

    def __missing__(self, code: int) -> str | None:
        folded = chr(code).lower() if code < 128 else fold_char(chr(code))
        if len(self) < _CACHE_LIMIT:
            self[code] = folded
        return folded


class _RemovedTable(dict[int, str]):
    """For ``str.translate``: each character that :data:`_FOLD` removes becomes
    :data:`_REMOVED`, any other one a space (so removed runs can be found in one search)."""

    def __missing__(self, code: int) -> str:
        marked = _REMOVED if _FOLD[code] is None else " "
        if len(self) < _CACHE_LIMIT:
            self[code] = marked
        return marked


_FOLD = _FoldTable()
_MARKS = _RemovedTable()
_REMOVED = "\x00"
_REMOVED_RUN = re.compile("\x00+")


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """Maps offsets of a text with characters removed back to the text before removal.

    ``keys[i]`` is the new offset of the first character kept after the ``i``-th removal and
    ``removed[i]`` the number of characters removed up to and including it.
    """

    keys: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()

    @classmethod
    def from_removals(cls, removals: list[tuple[int, int]]) -> OffsetMap:
        """From ``(original offset, count)`` pairs in increasing order."""
        keys: list[int] = []
        removed: list[int] = []
        total = 0
        for pos, count in removals:
            keys.append(pos - total)
            total += count
            removed.append(total)
        return cls(tuple(keys), tuple(removed))

    def start(self, pos: int) -> int:
        """Original offset of the character at ``pos`` (or of the end, ``pos == len``)."""
        i = bisect.bisect_right(self.keys, pos)
        return pos + (self.removed[i - 1] if i else 0)

    def end(self, pos: int) -> int:
        """Original end offset of a span ending (exclusively) at ``pos``."""
        return self.start(pos - 1) + 1 if pos > 0 else 0


@dataclass(frozen=True, slots=True)
class Normalized:
    """A lower-case ASCII view of a text; ``offsets`` maps its positions to the original."""

    text: str
    offsets: OffsetMap = field(default_factory=OffsetMap)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]``."""
        if not self.offsets.keys:
            return start, end
        return self.offsets.start(start), self.offsets.end(end)


def normalize(text: str) -> Normalized:
    """Lower-case ``text`` and fold it to ASCII (see the module docstring)."""
    if text.isascii():
        return Normalized(text.lower())
    # one C-level pass through a table of folded characters (each worked out once per
    # process); removed characters are then found, a run at a time, in a second pass
    folded = text.translate(_FOLD)
    if len(folded) == len(text):
        return Normalized(folded)
    marks = text.translate(_MARKS)
    removals = [(m.start(), m.end() - m.start()) for m in _REMOVED_RUN.finditer(marks)]
    return Normalized(folded, OffsetMap.from_removals(removals))
