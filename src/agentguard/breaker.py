"""Circuit breakers: when an agent or a tool keeps failing, stop calling it for a while.

A breaker per key (``"tool:call_api"``, ``"agent:research_agent"``) is *closed* (calls go
through, outcomes are counted), *open* (every call is refused until the cooldown ends) or
*half-open* (at most ``trial_calls`` calls at once are let through to test the water: a
success closes the breaker, a failure opens it again with a fresh cooldown).

This module is the state machine and nothing else: pure functions over a small immutable
:class:`Breaker` value. A store backend loads a key's value, applies :func:`admit` or
:func:`record` and writes the result back in one atomic step, so every process sharing the
store sees one breaker (see :class:`agentguard.store.base.BreakerStore`).

Example::

    settings = BreakerSettings(timedelta(seconds=60), timedelta(minutes=5), errors=5)
    breaker, decision = admit(Breaker(), settings, now)
    if decision.allowed:
        breaker, change = record(breaker, settings, ok=call_succeeded, at=later)
        if change.opened: alert(...)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

#: The error rate is counted in this many slices of ``within``: state stays small however
#: many calls there are, and a call counts towards the rate for between 19/20 and 20/20
#: of ``within`` (failures counted for ``errors`` are exact).
RATE_SLICES = 20
#: ``errors`` above this would make the state (one timestamp per failure) too large.
MAX_ERRORS = 10_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICRO


def _moment(micros: int) -> datetime:
    return _EPOCH + micros * _MICRO


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    """When a breaker opens and how it recovers.

    ``errors`` failures within ``within`` open it; so does a failure rate above
    ``error_rate`` (0 ≤ rate < 1, compared exactly) over the last ``within`` once at least
    ``min_calls`` calls were counted there. At least one of the two must be set. After
    ``cooldown`` it goes half-open and lets ``trial_calls`` calls through at once; a trial
    that never reports back frees its slot after another ``cooldown``.
    """

    within: timedelta
    cooldown: timedelta
    errors: int | None = None
    error_rate: Decimal | None = None
    min_calls: int = 1
    trial_calls: int = 1

    def __post_init__(self) -> None:
        if self.within <= timedelta(0) or self.cooldown <= timedelta(0):
            raise ValueError("a breaker's within and cooldown must be positive durations")
        if self.errors is None and self.error_rate is None:
            raise ValueError("a breaker needs errors, error_rate or both")
        if self.errors is not None and not 1 <= self.errors <= MAX_ERRORS:
            raise ValueError(f"a breaker's errors must be between 1 and {MAX_ERRORS}")
        if self.error_rate is not None:
            if not isinstance(self.error_rate, Decimal) or not self.error_rate.is_finite():
                raise ValueError("a breaker's error_rate must be a finite Decimal")
            if not Decimal(0) <= self.error_rate < Decimal(1):
                raise ValueError("a breaker's error_rate must be at least 0 and below 1")
        if self.min_calls < 1 or self.trial_calls < 1:
            raise ValueError("a breaker's min_calls and trial_calls must be at least 1")


@dataclass(frozen=True, slots=True)
class Breaker:
    """One breaker's stored state (times in microseconds since the Unix epoch, UTC).

    ``failures``: times of the recent failures (closed; at most ``errors`` of them).
    ``slices``: ``(slice number, calls, failures)`` of the recent slices, for the rate.
    ``until``: when an open breaker goes half-open. ``trials``: when each trial slot in use
    lapses (half-open). ``since``: when it entered its state (0: closed since ever).
    """

    state: BreakerState = BreakerState.CLOSED
    since: int = 0
    until: int = 0
    failures: tuple[int, ...] = ()
    slices: tuple[tuple[int, int, int], ...] = ()
    trials: tuple[int, ...] = ()

    @property
    def idle(self) -> bool:
        """Closed with nothing counted: the same as no stored state at all."""
        return self.state is BreakerState.CLOSED and not self.failures and not self.slices


@dataclass(frozen=True, slots=True)
class BreakerDecision:
    """Whether a call may go through. ``state`` is the breaker's state after the decision;
    ``retry_after`` (when refused) is when it may let a call through again, at the latest;
    ``trial`` says this call took one of the half-open breaker's trial slots."""

    allowed: bool
    state: BreakerState
    retry_after: timedelta | None = None
    trial: bool = False


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    """A breaker's state before and after an outcome was recorded."""

    before: BreakerState
    after: BreakerState

    @property
    def opened(self) -> bool:
        """It has just opened (from closed, or again from half-open): time to alert."""
        return self.after is BreakerState.OPEN and self.before is not BreakerState.OPEN

    @property
    def closed(self) -> bool:
        """It has just closed again (a trial call succeeded, or an operator reset it)."""
        return self.after is BreakerState.CLOSED and self.before is not BreakerState.CLOSED


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """A breaker as it stands, for status displays. ``since``: when it entered this state
    (None: closed since ever); ``until``: when an open breaker goes half-open;
    ``trials``: trial calls in flight; ``failures``: recent failures on record."""

    key: str
    state: BreakerState
    since: datetime | None = None
    until: datetime | None = None
    trials: int = 0
    failures: int = 0


def admit(
    breaker: Breaker, settings: BreakerSettings, at: datetime
) -> tuple[Breaker, BreakerDecision]:
    """May a call go through at ``at``? In half-open this takes one of the trial slots."""
    if breaker.state is BreakerState.CLOSED:
        return breaker, BreakerDecision(True, BreakerState.CLOSED)
    now = _micros(at)
    if breaker.state is BreakerState.OPEN:
        if now < breaker.until:
            wait = (breaker.until - now) * _MICRO
            return breaker, BreakerDecision(False, BreakerState.OPEN, wait)
        breaker = Breaker(BreakerState.HALF_OPEN, since=breaker.until)
    trials = tuple(t for t in breaker.trials if t > now)  # lapsed slots are free again
    if len(trials) < settings.trial_calls:
        lease = now + settings.cooldown // _MICRO
        taken = replace(breaker, trials=(*trials, lease))
        return taken, BreakerDecision(True, BreakerState.HALF_OPEN, trial=True)
    wait = (min(trials) - now) * _MICRO
    return replace(breaker, trials=trials), BreakerDecision(False, BreakerState.HALF_OPEN, wait)


def record(
    breaker: Breaker, settings: BreakerSettings, ok: bool | None, at: datetime
) -> tuple[Breaker, BreakerTransition]:
    """Count the outcome of a call: ``ok`` True (it succeeded), False (it failed) or None
    (it never ran, e.g. a later layer denied it: only its trial slot, if any, is freed).

    In half-open the first outcome recorded decides: a success closes the breaker, a
    failure opens it again. Outcomes reaching an open breaker come from calls let through
    before it opened and change nothing.
    """
    before = breaker.state
    if ok is None:
        if breaker.state is BreakerState.HALF_OPEN and breaker.trials:
            breaker = replace(breaker, trials=tuple(sorted(breaker.trials))[1:])
        return breaker, BreakerTransition(before, breaker.state)
    now = _micros(at)
    if breaker.state is BreakerState.HALF_OPEN:
        after = Breaker(since=now) if ok else _opened(settings, now)
        return after, BreakerTransition(before, after.state)
    if breaker.state is BreakerState.OPEN:
        return breaker, BreakerTransition(before, before)
    return _count(breaker, settings, ok, now)


def snapshot(key: str, breaker: Breaker, at: datetime) -> BreakerSnapshot:
    """``breaker`` as it stands at ``at`` (an open one past its cooldown shows half-open)."""
    now = _micros(at)
    state, since = breaker.state, breaker.since
    if state is BreakerState.OPEN and now >= breaker.until:
        state, since = BreakerState.HALF_OPEN, breaker.until
    trials = sum(1 for t in breaker.trials if t > now) if state is BreakerState.HALF_OPEN else 0
    return BreakerSnapshot(
        key=key,
        state=state,
        since=_moment(since) if since else None,
        until=_moment(breaker.until) if state is BreakerState.OPEN else None,
        trials=trials,
        failures=len(breaker.failures),
    )


def encode(breaker: Breaker) -> str:
    """The compact JSON text a backend stores."""
    return orjson.dumps(
        [
            str(breaker.state),
            breaker.since,
            breaker.until,
            breaker.failures,
            breaker.slices,
            breaker.trials,
        ]
    ).decode()


def decode(text: str | bytes) -> Breaker:
    """The inverse of :func:`encode`; ``ValueError`` when the text is not a breaker."""
    try:
        state, since, until, failures, slices, trials = orjson.loads(text)
        return Breaker(
            BreakerState(state),
            int(since),
            int(until),
            tuple(int(t) for t in failures),
            tuple((int(n), int(c), int(f)) for n, c, f in slices),
            tuple(int(t) for t in trials),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a stored breaker: {type(exc).__name__}") from None


def _opened(settings: BreakerSettings, now: int) -> Breaker:
    return Breaker(BreakerState.OPEN, since=now, until=now + settings.cooldown // _MICRO)


def _count(
    breaker: Breaker, settings: BreakerSettings, ok: bool, now: int
) -> tuple[Breaker, BreakerTransition]:
    within = settings.within // _MICRO
    failures = breaker.failures if settings.errors is not None else ()  # settings change
    tripped = False
    if settings.errors is not None and (not ok or failures):
        # A failure at t counts while now - within < t, as in the counters' sliding windows.
        failures = tuple(t for t in failures if t > now - within)
        if not ok:
            failures = (*failures, now)[-settings.errors :]
            tripped = len(failures) >= settings.errors
    slices = breaker.slices if settings.error_rate is not None else ()
    if settings.error_rate is not None:
        width = -(-within // RATE_SLICES)  # ceiling: RATE_SLICES slices cover within
        current = now // width
        kept = [s for s in slices if s[0] > current - RATE_SLICES and s[0] != current]
        mine = next((s for s in slices if s[0] == current), (current, 0, 0))
        kept.append((current, mine[1] + 1, mine[2] + (0 if ok else 1)))
        slices = tuple(kept)
        if not ok:
            calls = sum(s[1] for s in slices)
            failed = sum(s[2] for s in slices)
            tripped = tripped or (
                calls >= settings.min_calls and Decimal(failed) > settings.error_rate * calls
            )
    if tripped:
        return _opened(settings, now), BreakerTransition(BreakerState.CLOSED, BreakerState.OPEN)
    counted = replace(breaker, failures=failures, slices=slices)
    return counted, BreakerTransition(BreakerState.CLOSED, BreakerState.CLOSED)
