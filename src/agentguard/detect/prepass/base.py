"""What the pre-pass is made of, shared by its engines: needles, the registry of probes,
case folding, and the :class:`Engine` protocol an engine implements.

A family registers a *probe* (one or more needles) when it is imported; its id is an index
into the registry, so an engine finds every probe registered so far from
:func:`registered` and notices new ones through :func:`probe_count`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

#: Python's ``\s`` over the bytes a pattern needle sees (characters past U+00FF are mapped
#: to one byte each: whitespace to 0x1C, letters and digits to 0xAA, format characters —
#: Unicode category Cf and the tag block — to 0x1B, anything else to 0x1A)
WS = r"[\t\n\x0b\x0c\r\x1c-\x20\x85\xa0]"
#: where a format character (zero-width, bidi control, Unicode tag) may be
FORMAT_CHAR = r"\x1b"


@dataclass(frozen=True, slots=True)
class Literal:
    """A needle found as it is; a ``caseless`` one is lower-case ASCII and is found in the
    case-folded text. Its position is where it starts."""

    text: str
    caseless: bool = False

    def __post_init__(self) -> None:
        if not self.text or max(self.text) > "\xff":
            raise ValueError(f"a literal needle is non-empty Latin-1 text: {self.text!r}")
        if self.caseless and (not self.text.isascii() or self.text != self.text.lower()):
            raise ValueError(f"a caseless literal needle is lower-case ASCII: {self.text!r}")


@dataclass(frozen=True, slots=True)
class Pattern:
    """A needle in hyperscan syntax over Latin-1 bytes (see :data:`WS` for how wider
    characters appear). Its position is ``width`` bytes before each match end or, with
    ``width=None``, the match start (hyperscan reports the leftmost start per end, so write
    patterns whose first character cannot occur later in a match)."""

    text: str
    width: int | None = None
    caseless: bool = False


Needle = Literal | Pattern

_lock = threading.Lock()
_probes: list[tuple[Needle, ...]] = []
_ids: dict[tuple[Needle, ...], int] = {}


def probe(*needles: Needle) -> int:
    """Register a probe made of ``needles``; its id (the same needles give the same id)."""
    if not needles:
        raise ValueError("a probe needs at least one needle")
    with _lock:
        found = _ids.get(needles)
        if found is None:
            found = _ids[needles] = len(_probes)
            _probes.append(needles)
        return found


def literal(text: str, *, caseless: bool = False) -> int:
    """Register a probe of one literal needle; its id."""
    return probe(Literal(text, caseless))


def pattern(text: str, *, width: int | None = None, caseless: bool = False) -> int:
    """Register a probe of one pattern needle; its id."""
    return probe(Pattern(text, width, caseless))


def registered() -> list[tuple[Needle, ...]]:
    """A snapshot of the registered probes (ids are indices into it)."""
    with _lock:
        return list(_probes)


def probe_count() -> int:
    """How many probes are registered (it grows when a family registers new ones)."""
    return len(_probes)


def needles_of(probe: int) -> tuple[Needle, ...]:
    """The needles of a registered probe."""
    return _probes[probe]


def escape(text: str) -> str:
    """``text`` as a literal inside a pattern needle (Latin-1 only: ASCII letters and
    digits stay, anything else becomes a ``\\xHH`` escape)."""
    return "".join(ch if ch.isascii() and ch.isalnum() else f"\\x{ord(ch):02x}" for ch in text)


def fold(text: str) -> str:
    """``text`` lower-cased without moving any offset (U+0130 is the one code point whose
    lower-case form is two characters)."""
    low = text.lower()
    if len(low) != len(text):
        low = text.replace("\u0130", "I").lower()
        if len(low) != len(text):
            low = text.translate(_ASCII_LOWER)
    return low


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Folded(Protocol):
    """What an engine reads of a prepared text: the text and its case fold (same offsets)."""

    @property
    def text(self) -> str: ...

    @property
    def low(self) -> str: ...


class Engine(Protocol):
    """Finds the needles of every registered probe in one text at once."""

    name: str

    def scan(self, prepared: Folded) -> dict[int, list[int]] | None:
        """Probe id -> its ascending, distinct positions (probes without any are absent);
        ``None`` when this engine does not scan (positions are then found per probe)."""
        ...
