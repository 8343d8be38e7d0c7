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
  :mod:`agentguard.detect.prepass.hyperscan_engine`);
* ``re``: a literal needle is one ``str.find`` loop, and a probe with a pattern needle
  answers ``None`` ("anywhere"), so its check runs its regex over the whole text (see
  :mod:`agentguard.detect.prepass.re_engine`).

Both build on :mod:`agentguard.detect.prepass.base` (needles, the probe registry, the
engine protocol) and never on this module, which chooses between them.

Example::

    AT = literal("@")
    CARD = probe(Pattern(r"[0-9]{4}", width=4), Literal("card", caseless=True))

    prepared = prepare(text)
    for pos in prepared.positions(AT): ...
    for m in matches_at(CARD_RE, text, prepared.starts(CARD)): ...
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Protocol, runtime_checkable

from agentguard.detect.base import Detector, Finding
from agentguard.detect.prepass.base import (
    FORMAT_CHAR,
    WS,
    Literal,
    Pattern,
    escape,
    fold,
    literal,
    needles_of,
    pattern,
    probe,
)
from agentguard.detect.prepass.base import Engine as Engine
from agentguard.detect.prepass.base import Needle as Needle
from agentguard.detect.prepass.base import probe_count as probe_count
from agentguard.detect.prepass.base import registered as registered
from agentguard.detect.prepass.matching import matches_at, search_at
from agentguard.detect.prepass.re_engine import FindEngine, find_literals

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

#: the characters Python's case-insensitive matching equates with ASCII letters
_CASE_VARIANTS = "\u0130\u0131\u017f\u212a"


def _make_engine(name: str | None) -> Engine:
    if name not in (None, "hyperscan", "re"):
        raise ValueError(f"unknown pre-pass engine {name!r} (known: hyperscan, re)")
    if name is None:  # hyperscan when it is installed: same findings either way, faster
        name = "hyperscan" if importlib.util.find_spec("hyperscan") is not None else "re"
    made = _made.get(name)  # one of each: a hyperscan engine keeps its compiled database
    if made is None:
        if name == "re":
            made = FindEngine()
        else:
            from agentguard.detect.prepass.hyperscan_engine import HyperscanEngine

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
            found = [] if scanned else find_literals(self, needles_of(probe))
            self._found[probe] = found
        return found

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


@runtime_checkable
class SharedPassDetector(Detector, Protocol):
    """A detector that can work from a :class:`PreparedText` shared with other families
    (``detect(text)`` stays available and means ``detect_prepared(prepare(text))``)."""

    def detect_prepared(self, prepared: PreparedText) -> list[Finding]: ...
