"""The hyperscan engine of the pre-pass: the needles of every registered probe of every
family in one database, one block scan per text.

Hyperscan matches bytes, so the text is encoded one byte per character and offsets stay
character offsets: Latin-1 as it is; each character past U+00FF becomes one byte that keeps
what a needle can ask of it — whitespace 0x1C, a letter or digit 0xAA, a format character
(zero-width, bidi control, Unicode tag) 0x1B, anything else 0x1A — except the four that
Python's case-insensitive matching equates with ASCII letters (U+0130 İ, U+0131 ı, U+017F ſ,
U+212A K), which become that letter. The mapping can only add candidates; in such a text the
hits of literal needles are checked against the text itself.

The database is compiled on first use and again when a family registers new probes; each
thread scans with its own scratch space (hyperscan releases the GIL while it scans).
"""

from __future__ import annotations

import codecs
import operator
import threading
import unicodedata
from collections.abc import Callable

import hyperscan

from agentguard.detect.prepass.base import Folded, Literal, Needle, escape, probe_count, registered

_SPECIAL = {"\u0130": "I", "\u0131": "i", "\u017f": "s", "\u212a": "K"}
_ERRORS = "agentguard.prepass"


def _byte_for(ch: str) -> str:
    special = _SPECIAL.get(ch)
    if special is not None:
        return special
    if ch.isspace():
        return "\x1c"
    if ch.isalnum():
        return "\xaa"
    if unicodedata.category(ch) == "Cf" or "\U000e0000" <= ch <= "\U000e007f":
        return "\x1b"
    return "\x1a"


class _ByteTable(dict[int, str]):
    """:func:`_byte_for` by code point, each worked out once (a bounded cache), so that a run
    of wide characters maps with one ``str.translate``."""

    def __missing__(self, code: int) -> str:
        mapped = _byte_for(chr(code))
        if len(self) < _TABLE_LIMIT:
            self[code] = mapped
        return mapped


_TABLE_LIMIT = 1 << 16
_BYTES = _ByteTable()


def _map_wide(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return exc.object[exc.start : exc.end].translate(_BYTES), exc.end


codecs.register_error(_ERRORS, _map_wide)


def to_bytes(text: str) -> tuple[bytes, bool]:
    """One byte per character of ``text``, and whether no character had to be mapped."""
    try:
        return text.encode("latin-1"), True
    except UnicodeEncodeError:
        return text.encode("latin-1", _ERRORS), False


def _collector(som: list[bool]) -> Callable[[int, int, int, int, dict[int, list[int]]], None]:
    """The match handler of a database: each needle's match starts (``som``) or ends, in a
    list per needle; one int a match, so a text with a hit every few characters keeps its
    working set small."""

    def on_match(needle: int, start: int, end: int, flags: int, bins: dict[int, list[int]]) -> None:
        pos = start if som[needle] else end
        found = bins.get(needle)
        if found is None:
            bins[needle] = [pos]
        else:
            found.append(pos)

    return on_match


class _Compiled:
    """One database over a snapshot of the registered probes: one expression per needle."""

    __slots__ = ("database", "literals", "on_match", "owner", "size", "som", "widths")

    def __init__(self, probes: list[tuple[Needle, ...]]) -> None:
        expressions: list[bytes] = []
        flags: list[int] = []
        self.owner: list[int] = []  # needle -> probe id
        self.som: list[bool] = []
        self.widths: list[int] = []
        self.literals: list[Literal | None] = []
        for probe_id, needles in enumerate(probes):
            for needle in needles:
                flag = hyperscan.HS_FLAG_CASELESS if needle.caseless else 0
                if isinstance(needle, Literal):
                    expressions.append(escape(needle.text).encode("latin-1"))
                    width: int | None = len(needle.text)
                    self.literals.append(needle)
                else:
                    expressions.append(needle.text.encode("latin-1"))
                    width = needle.width
                    self.literals.append(None)
                if width is None:
                    flag |= hyperscan.HS_FLAG_SOM_LEFTMOST
                flags.append(flag)
                self.owner.append(probe_id)
                self.som.append(width is None)
                self.widths.append(width or 0)
        self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=flags,
        )
        self.size = len(probes)
        self.on_match = _collector(self.som)


class HyperscanEngine:
    """Finds the needles of every registered probe in one hyperscan block scan."""

    name = "hyperscan"

    def __init__(self) -> None:
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    def _database(self) -> _Compiled:
        compiled = self._compiled
        if compiled is None or compiled.size != probe_count():
            with self._lock:
                compiled = self._compiled
                if compiled is None or compiled.size != probe_count():
                    compiled = self._compiled = _Compiled(registered())
        return compiled

    def scan(self, prepared: Folded) -> dict[int, list[int]] | None:
        if not probe_count():
            return {}
        compiled = self._database()
        local = self._local
        if getattr(local, "compiled", None) is not compiled:
            local.scratch = hyperscan.Scratch(compiled.database)
            local.compiled = compiled
        data, exact = to_bytes(prepared.text)
        bins: dict[int, list[int]] = {}
        if data:
            compiled.database.scan(  # the stubs type the context as object
                data,
                match_event_handler=compiled.on_match,  # type: ignore[arg-type,unused-ignore]
                context=bins,
                scratch=local.scratch,
            )
        found: dict[int, list[int]] = {}
        owner, widths, literals = compiled.owner, compiled.widths, compiled.literals
        mixed: set[int] = set()  # probes whose positions may be out of order or repeated
        for needle, ends in bins.items():
            width = widths[needle]
            positions = [end - width for end in ends] if width else ends
            literal = literals[needle]
            if not exact and literal is not None:
                haystack = prepared.low if literal.caseless else prepared.text
                word = literal.text  # a mapped character may have made it match
                positions = [pos for pos in positions if haystack.startswith(word, pos)]
                if not positions:
                    continue
            probe = owner[needle]
            bucket = found.get(probe)
            if bucket is None:
                found[probe] = positions
                # one needle's ends come in order; starts of match may repeat or go back
                if not width or not all(map(operator.lt, positions, positions[1:])):
                    mixed.add(probe)
            else:
                bucket.extend(positions)
                mixed.add(probe)
        for probe in mixed:
            found[probe] = sorted(set(found[probe]))
        return found
