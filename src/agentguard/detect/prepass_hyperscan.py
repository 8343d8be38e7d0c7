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
import threading
import unicodedata
from typing import TYPE_CHECKING

import hyperscan

from agentguard.detect.prepass import Literal, Needle, escape, probe_count, registered

if TYPE_CHECKING:
    from agentguard.detect.prepass import PreparedText

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


def _map_wide(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(map(_byte_for, exc.object[exc.start : exc.end])), exc.end


codecs.register_error(_ERRORS, _map_wide)


def to_bytes(text: str) -> tuple[bytes, bool]:
    """One byte per character of ``text``, and whether no character had to be mapped."""
    try:
        return text.encode("latin-1"), True
    except UnicodeEncodeError:
        return text.encode("latin-1", _ERRORS), False


def _on_match(
    needle: int, start: int, end: int, flags: int, hits: list[tuple[int, int, int]]
) -> None:
    hits.append((needle, start, end))


class _Compiled:
    """One database over a snapshot of the registered probes: one expression per needle."""

    __slots__ = ("database", "literals", "owner", "size", "som", "widths")

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

    def scan(self, prepared: PreparedText) -> dict[int, list[int]] | None:
        if not probe_count():
            return {}
        compiled = self._database()
        local = self._local
        if getattr(local, "compiled", None) is not compiled:
            local.scratch = hyperscan.Scratch(compiled.database)
            local.compiled = compiled
        data, exact = to_bytes(prepared.text)
        hits: list[tuple[int, int, int]] = []
        if data:
            compiled.database.scan(  # the stubs type the context as object
                data,
                match_event_handler=_on_match,  # type: ignore[arg-type,unused-ignore]
                context=hits,
                scratch=local.scratch,
            )
        found: dict[int, list[int]] = {}
        if not hits:
            return found
        owner, som, widths = compiled.owner, compiled.som, compiled.widths
        mixed: set[int] = set()  # probes whose positions may be out of order or repeated
        for needle, start, end in hits:
            pos = start if som[needle] else end - widths[needle]
            if not exact:
                literal = compiled.literals[needle]
                if literal is not None:
                    haystack = prepared.low if literal.caseless else prepared.text
                    if not haystack.startswith(literal.text, pos):
                        continue  # a mapped character made it match
            probe = owner[needle]
            bucket = found.get(probe)
            if bucket is None:
                found[probe] = [pos]
            else:
                if pos <= bucket[-1]:
                    mixed.add(probe)
                bucket.append(pos)
        for probe in mixed:
            found[probe] = sorted(set(found[probe]))
        return found
