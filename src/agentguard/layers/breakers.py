"""Circuit breakers and loop detection (the policy's ``breakers:``).

**Errors.** Every agent and every tool has a breaker in the store, shared by all processes.
Calls whose tool raised count as failures; ``errors`` failures (or a failure rate above
``error_rate``) within ``within`` open it, and while it is open every call of that agent
(or of that tool, by any agent) is refused with :class:`~agentguard.errors.CircuitOpen`
until ``cooldown`` has passed. Then it is half-open: ``trial_calls`` calls go through; a
success closes it, a failure opens it again.

**Loops.** The same call (tool and arguments) ``same_call`` times within ``within`` is a
loop: the action is denied and the agent's kill switch is set, so the agent stays stopped,
in every process, until a person runs ``agentguard resume``.

``guard.check`` (a dry run) reads breakers and counts nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from agentguard.audit import canonical_json
from agentguard.breaker import BreakerSettings, BreakerState
from agentguard.clock import Clock
from agentguard.errors import CircuitOpen
from agentguard.layers.registry import LayerContext, LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Observation, Reason, Step, Verdict
from agentguard.policy.breakers import BreakersSection
from agentguard.policy.units import format_duration
from agentguard.recordable import recordable
from agentguard.store import Store, WindowRequest

NAME = "breakers"
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
        assert self._loops is not None
        call = canonical_json({"tool": action.tool, "args": recordable(action.args)})
        digest = hmac.new(self._key(), call.encode(), hashlib.sha256).hexdigest()[:24]
        request = WindowRequest(
            f"loop|{action.agent}|{digest}",
            Decimal(1),
            Decimal(self._loops.same_call - 1),
            self._loops.within,
        )
        admission = self._store.admit([request], now)
        if admission.reservation is not None:
            self._store.settle(admission.reservation, {}, now)
        if admission.admitted:
            return CONTINUE
        within = format_duration(self._loops.within)
        reason = Reason(
            NAME,
            "breakers.loop_detected",
            f"agent {action.agent!r} made the same call of tool {action.tool!r} "
            f"{self._loops.same_call} times within {within}: a loop; the agent is stopped "
            "until a person resumes it",
        )
        return Verdict(Step.DENY, (reason,), stop_agent=True)

    def observe(self, observation: Observation) -> None:
        if self._settings is None or observation.action.dry_run:
            return
        with self._lock:
            trials = self._trials.pop(observation.action.id, [])
        if observation.ran:
            ok = observation.status != "failed"
            for key, what in _keys(observation.action):
                change = self._store.breaker_record(key, ok, self._settings, observation.at)
                if change.opened:
                    _log.warning("circuit breaker opened: %s", what)
        else:
            for key in trials:  # the call never ran: only its trial slot is given back
                self._store.breaker_record(key, None, self._settings, observation.at)


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
