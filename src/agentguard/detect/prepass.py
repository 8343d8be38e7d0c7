"""The shared pre-pass: one scan of a text tells every detector family where its checks can
fire, so clean prose costs one multi-pattern scan rather than dozens of regex passes.

Each family registers *probes* when it is imported. A probe is one or more needles —
literals (``"pass"``, ``"ghp_"``, ``"@"``) and short patterns — that occur wherever one of
the family's checks could report something: every match of the check's own regex starts
where the check's probe fires. :func:`prepare` case-folds a text once (offsets unchanged)
and finds the probes of every family in one pass; a family then tries its regexes at those
places only, through :func:`matches_at`, which yields exactly what ``pattern.finditer``
would. A new family (such as ``tone``) joins by registering its probes and implementing
:class:`SharedPassDetector`; :func:`agentguard.scan.scan_text` prepares each text once for
all of them.

Two engines give the same findings:

* ``hyperscan`` (the default when the ``hyperscan`` package is installed): the needles of
  all probes of all families in one database, one block scan per text (see
  :mod:`agentguard.detect.prepass_hyperscan`);
* ``re``: a literal needle is one ``str.find`` loop, and a probe with a pattern needle
  answers ``None`` ("anywhere"), so its check runs its regex over the whole text.

Example::

    AT = literal("@")
    CARD = probe(Pattern(r"[0-9]{4}", width=4), Literal("card", caseless=True))

    prepared = prepare(text)
    for pos in prepared.positions(AT): ...
    for m in matches_at(CARD_RE, text, prepared.starts(CARD)): ...
"""

from __future__ import annotations

import bisect
import importlib.util
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from agentguard.detect.base import Detector, Finding

__all__ = [
    "FORMAT_CHAR",
    "WS",
    "Literal",
    "Pattern",
    "PreparedText",
    "SharedPassDetector",
    "engine_name",
    "escape",
    "fold",
    "literal",
    "matches_at",
    "pattern",
    "prepare",
    "probe",
    "search_at",
    "set_engine",
]

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
#: the characters Python's case-insensitive matching equates with ASCII letters
_CASE_VARIANTS = "\u0130\u0131\u017f\u212a"


class Engine(Protocol):
    """Finds the needles of every registered probe in one text at once."""

    name: str

    def scan(self, prepared: PreparedText) -> dict[int, list[int]] | None:
        """Probe id -> its ascending, distinct positions (probes without any are absent);
        ``None`` when this engine does not scan (positions are then found per probe)."""
        ...


class _FindEngine:
    name = "re"

    def scan(self, prepared: PreparedText) -> dict[int, list[int]] | None:
        return None


def _make_engine(name: str | None) -> Engine:
    if name not in (None, "hyperscan", "re"):
        raise ValueError(f"unknown pre-pass engine {name!r} (known: hyperscan, re)")
    if name is None:  # hyperscan when it is installed: same findings either way, faster
        name = "hyperscan" if importlib.util.find_spec("hyperscan") is not None else "re"
    made = _made.get(name)  # one of each: a hyperscan engine keeps its compiled database
    if made is None:
        if name == "re":
            made = _FindEngine()
        else:
            from agentguard.detect.prepass_hyperscan import HyperscanEngine

            made = HyperscanEngine()
        _made[name] = made
    return made


_made: dict[str, Engine] = {}


_engine: Engine | None = None
_engine_lock = threading.Lock()


def _current_engine() -> Engine:
    # Made once, under a lock: threads racing to import the engine module would otherwise
    # see it half initialised.
    global _engine
    engine = _engine
    if engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _make_engine(None)
            engine = _engine
    return engine


def engine_name() -> str:
    """``"hyperscan"`` or ``"re"``: the engine :func:`prepare` uses."""
    return _current_engine().name


def set_engine(name: str) -> str:
    """Use the ``"hyperscan"`` or ``"re"`` engine from now on (tests compare them); the name
    of the previous one."""
    global _engine
    previous = _current_engine().name
    with _engine_lock:
        _engine = _make_engine(name)
    return previous


class PreparedText:
    """A text with what every family's first pass needs: the text, its case fold (same
    offsets), whether it is ASCII, and where the registered probes fire."""

    __slots__ = ("_found", "_low", "_scanned", "is_ascii", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.is_ascii = text.isascii()
        self._low: str | None = None
        self._found: dict[int, list[int]] = {}
        self._scanned: bool | None = None  # None: not yet; False: the engine does not scan

    @property
    def low(self) -> str:
        low = self._low
        if low is None:
            low = self._low = fold(self.text)
        return low

    @property
    def case_variants(self) -> bool:
        """Whether the text holds İ, ı, ſ or K, which Python's case-insensitive matching
        equates with ASCII letters and which pattern needles therefore see as those letters
        (a needle that relies on a character *not* being a letter cannot trust such a text)."""
        return not self.is_ascii and any(ch in self.text for ch in _CASE_VARIANTS)

    def _scan(self) -> bool:
        found = (_engine or _current_engine()).scan(self)
        self._scanned = found is not None
        if found is not None:
            self._found = found
        return self._scanned

    def hits(self) -> dict[int, list[int]] | None:
        """Every probe that fires, with its positions (as :meth:`positions` and
        :meth:`starts` give them), when the engine finds all probes in one scan; ``None``
        otherwise (ask :meth:`positions` per probe). For loops over many probes."""
        scanned = self._scanned
        if scanned is None:
            scanned = self._scan()
        return self._found if scanned else None

    def any_fires(self, probes: frozenset[int]) -> bool:
        """Whether one of ``probes`` fires (``True`` when the engine cannot tell): a family
        whose every check is gated by its probes has nothing to report when none does."""
        found = self.hits()
        return found is None or not found.keys().isdisjoint(probes)

    def positions(self, probe: int) -> list[int]:
        """Every position of a probe made of literals, ascending (overlapping ones too)."""
        scanned = self._scanned
        if scanned is None:
            scanned = self._scan()
        found = self._found.get(probe)
        if found is None:
            found = [] if scanned else self._find(probe)
            self._found[probe] = found
        return found

    def _find(self, probe: int) -> list[int]:
        out: list[int] = []
        needles = _probes[probe]
        for needle in needles:
            if not isinstance(needle, Literal):
                raise ValueError("positions() is for probes made of literals; use starts()")
            find = (self.low if needle.caseless else self.text).find
            word = needle.text
            pos = find(word)
            while pos >= 0:
                out.append(pos)
                pos = find(word, pos + 1)
        return sorted(set(out)) if len(needles) > 1 else out

    def starts(self, probe: int) -> list[int] | None:
        """Ascending candidate positions of a probe (a superset of where its check can
        match), or ``None`` when the engine cannot tell (try everywhere)."""
        scanned = self._scanned
        if scanned is None:
            scanned = self._scan()
        # without an engine scan, a check's own regex (which starts with what its probe
        # looks for) is as quick to run over the whole text as the probe would be
        return self._found.get(probe, []) if scanned else None


def prepare(text: str) -> PreparedText:
    """``text`` prepared for every family's checks (the probe scan runs on first use)."""
    return PreparedText(text)


def matches_at(
    compiled: re.Pattern[str], text: str, starts: Sequence[int] | None, pos: int = 0
) -> Iterator[re.Match[str]]:
    """What ``compiled.finditer(text, pos)`` yields, trying only at ``starts`` (ascending
    candidates, a superset of where a match can begin); at every position when ``None``."""
    if starts is None:
        yield from compiled.finditer(text, pos)
        return
    match = compiled.match
    end = pos
    for start in starts:
        if start < end:
            continue
        m = match(text, start)
        if m is not None:
            yield m
            end = m.end() if m.end() > start else start + 1


def search_at(
    compiled: re.Pattern[str], text: str, pos: int, starts: Sequence[int] | None
) -> re.Match[str] | None:
    """What ``compiled.search(text, pos)`` returns, trying only at ``starts`` (as in
    :func:`matches_at`)."""
    if starts is None:
        return compiled.search(text, pos)
    match = compiled.match
    for i in range(bisect.bisect_left(starts, pos), len(starts)):
        m = match(text, starts[i])
        if m is not None:
            return m
    return None


@runtime_checkable
class SharedPassDetector(Detector, Protocol):
    """A detector that can work from a :class:`PreparedText` shared with other families
    (``detect(text)`` stays available and means ``detect_prepared(prepare(text))``)."""

    def detect_prepared(self, prepared: PreparedText) -> list[Finding]: ...
