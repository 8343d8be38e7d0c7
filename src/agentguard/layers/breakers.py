"""Circuit breakers and loop detection (the policy's ``breakers:``).

**Errors.** Every agent and every tool has a breaker in the store, shared by all processes.
Calls whose tool raised count as failures; ``errors`` failures (or a failure rate above
``error_rate``) within ``within`` open it, and while it is open every call of that agent
(or of that tool, by any agent) is refused with :class:`~agentguard.errors.CircuitOpen`
until ``cooldown`` has passed. Then it is half-open: ``trial_calls`` calls go through; a
success closes it, a failure opens it again.

**Loops.** The same call (tool and arguments) ``same_call`` times within ``within``; the
same step of a cycle (this call right after that other call: A→B→A→B…) ``cycles`` times
within ``within``; or a ``burst``, a session's pace far above its own past: each is a
loop. The action is denied and the agent's kill switch is set, so the agent stays stopped,
in every process, until a person runs ``agentguard resume``. Counts are in the store
(every process); which call came last in a session is known to the process making it.

``guard.check`` (a dry run) reads breakers and counts nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from agentguard.audit import canonical_json
from agentguard.breaker import BreakerSettings, BreakerState
from agentguard.clock import Clock
from agentguard.errors import CircuitOpen
from agentguard.layers.registry import LayerContext, LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Observation, Reason, Step, Verdict
from agentguard.policy.breakers import BreakersSection, Burst
from agentguard.policy.units import format_duration
from agentguard.recordable import recordable
from agentguard.store import Store, WindowRequest
from agentguard.store.base import MAX_AMOUNT

NAME = "breakers"
#: sessions whose last call (and first call) this process remembers, at most
_MAX_SESSIONS = 100_000
_log = logging.getLogger("agentguard.breakers")


class BreakerLayer:
    """Refuses calls through an open breaker; detects loops; counts outcomes."""

    name = NAME

    def __init__(
        self, section: BreakersSection, store: Store, clock: Clock, key: Callable[[], bytes]
    ) -> None:
        self._store = store
        self._clock = clock
        self._key = key
        self._loops = section.loops
        self._settings: BreakerSettings | None = None
        if section.errors is not None:
            errors = section.errors
            self._settings = BreakerSettings(
                within=errors.within,
                cooldown=errors.cooldown,
                errors=errors.errors,
                error_rate=errors.error_rate,
                min_calls=errors.min_calls if errors.error_rate is not None else 1,
                trial_calls=errors.trial_calls,
            )
        self._trials: dict[str, list[str]] = {}  # action id → breakers it holds a trial of
        # (agent, session) → the last call's digest (cycles), and when it was first seen
        # (burst); in this process, oldest forgotten first past _MAX_SESSIONS
        self._previous: dict[tuple[str, str], str] = {}
        self._first_seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def admit(self, action: Action) -> Verdict:
        now = self._clock.now()
        if self._settings is not None:
            verdict = self._admit_breakers(action, now)
            if verdict is not None:
                return verdict
        if self._loops is not None and not action.dry_run:
            return self._detect_loop(action, now)
        return CONTINUE

    def _admit_breakers(self, action: Action, now: datetime) -> Verdict | None:
        assert self._settings is not None
        held: list[str] = []
        for key, what in _keys(action):
            if action.dry_run:
                state = self._store.breaker_state(key, now)
                if state.state is BreakerState.OPEN:
                    return _open(what, None)
                continue
            decision = self._store.breaker_admit(key, self._settings, now)
            if not decision.allowed:
                for taken in held:  # give back trial slots taken on the other breaker
                    self._store.breaker_record(taken, None, self._settings, now)
                seconds = decision.retry_after.total_seconds() if decision.retry_after else None
                return _open(what, seconds)
            if decision.trial:
                held.append(key)
        if held:
            with self._lock:
                self._trials[action.id] = held
        return None

    def _detect_loop(self, action: Action, now: datetime) -> Verdict:
        """One admission counts the call in every loop window: the same call, the same
        step of a cycle (this call right after that one), the session's pace."""
        loops = self._loops
        assert loops is not None
        call = canonical_json({"tool": action.tool, "args": recordable(action.args)})
        digest = hmac.new(self._key(), call.encode(), hashlib.sha256).hexdigest()[:24]
        one = Decimal(1)
        requests: list[WindowRequest] = []
        if loops.same_call is not None:
            limit = Decimal(loops.same_call - 1)
            requests.append(
                WindowRequest(f"loop|{action.agent}|{digest}", one, limit, loops.within)
            )
        session = (action.agent, action.session or "")
        if loops.cycles is not None:
            with self._lock:
                previous = self._previous.pop(session, None)
                self._previous[session] = digest
                if len(self._previous) > _MAX_SESSIONS:
                    del self._previous[next(iter(self._previous))]
            if previous is not None and previous != digest:  # a repeat is same_call's
                key = f"cycle|{action.agent}|{previous}|{digest}"
                requests.append(WindowRequest(key, one, Decimal(loops.cycles - 1), loops.within))
        burst = loops.burst
        if burst is not None:
            pace = f"pace|{action.agent}|{self._hash(session[1])}"
            requests.append(WindowRequest(pace, one, MAX_AMOUNT, burst.window))
            requests.append(WindowRequest(pace, one, MAX_AMOUNT, burst.baseline))
        admission = self._store.admit(requests, now, final=True)
        within = format_duration(loops.within)
        if not admission.admitted:
            refused = admission.refused
            assert refused is not None
            if refused.key.startswith("cycle|"):
                what = (
                    f"repeated the same cycle of calls (this call of tool {action.tool!r} "
                    f"right after the same other call) {loops.cycles} times within {within}"
                )
            else:
                what = (
                    f"made the same call of tool {action.tool!r} {loops.same_call} times "
                    f"within {within}"
                )
            return _loop(action.agent, what, "breakers.loop_detected")
        if burst is not None and self._bursting(burst, admission.totals[-2:], session, now):
            now_pace = int(admission.totals[-2])
            what = (
                f"made {now_pace} calls in the last {format_duration(burst.window)}, more "
                f"than {burst.factor} times its pace over the last "
                f"{format_duration(burst.baseline)}"
            )
            return _loop(action.agent, what, "breakers.burst_detected")
        return CONTINUE

    def _bursting(
        self, burst: Burst, totals: Sequence[Decimal], session: tuple[str, str], now: datetime
    ) -> bool:
        recent, longer = totals
        with self._lock:
            first = self._first_seen.setdefault(session, now)
            if len(self._first_seen) > _MAX_SESSIONS:
                del self._first_seen[next(iter(self._first_seen))]
        if recent < burst.min_calls or now - first < burst.window:
            return False  # too few calls, or too young a session to have a pace of its own
        # the session's average per window over the baseline, the current window left out
        past = longer - recent
        spans = Decimal((burst.baseline - burst.window) / burst.window)
        usual = past / spans
        return recent > burst.factor * usual

    def _hash(self, text: str) -> str:
        digest = hmac.new(self._key(), text.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return digest.hexdigest()[:16]

    def observe(self, observation: Observation) -> None:
        if self._settings is None or observation.action.dry_run:
            return
        with self._lock:
            trials = self._trials.pop(observation.action.id, [])
        if observation.ran:
            ok = observation.status != "failed"
            for key, what in _keys(observation.action):
                if ok and self._settings.error_rate is None and key not in trials:
                    # A success of a call let through a closed breaker changes nothing
                    # when no rate is counted (had it opened since, the state machine
                    # ignores calls let through before): no read, no write.
                    continue
                change = self._store.breaker_record(key, ok, self._settings, observation.at)
                if change.opened:
                    _log.warning("circuit breaker opened: %s", what)
        else:
            for key in trials:  # the call never ran: only its trial slot is given back
                self._store.breaker_record(key, None, self._settings, observation.at)


def _loop(agent: str, what: str, code: str) -> Verdict:
    reason = Reason(
        NAME,
        code,
        f"agent {agent!r} {what}: a loop; the agent is stopped until a person resumes it",
    )
    return Verdict(Step.DENY, (reason,), stop_agent=True)


def _keys(action: Action) -> list[tuple[str, str]]:
    return [
        (f"agent:{action.agent}", f"agent {action.agent!r}"),
        (f"tool:{action.tool}", f"tool {action.tool!r}"),
    ]


def _open(what: str, retry_after: float | None) -> Verdict:
    reason = Reason(
        NAME,
        "breakers.open",
        f"the circuit breaker of {what} is open after repeated failures; calls are refused "
        "until its cooldown ends",
        retry_after,
    )
    return Verdict(Step.DENY, (reason,))


def _build(ctx: LayerContext) -> BreakerLayer | None:
    section = ctx.policy.model.breakers
    if section is None or (section.errors is None and section.loops is None):
        return None
    return BreakerLayer(section, ctx.store, ctx.clock, ctx.store.fingerprint_key)


register(LayerSpec(NAME, 500, _build, CircuitOpen))
