"""Rate limits, money budgets, retry limits and "approval after N" (the policy's ``limits:``).

For each action the layer gathers the windows that apply — the agent's rules and the rules
of ``"*"`` (all agents together) whose ``tool`` matches — and asks the store to admit the
action in all of them or in none, in one atomic step (:meth:`CounterStore.admit`): two
processes can never both take the last slot. An admitted action's reservation is settled
when the tool has run (its cost booked in full, even past the budget: the next action is
then refused) and released when a later layer refused it, so only actions that ran count.

* ``max`` per ``per``: over it, :class:`~agentguard.errors.RateLimited` with
  ``retry_after`` (when the oldest action in the window leaves it);
* ``cost`` per ``per``: the tool's ``cost:`` is reserved before it runs;
* ``max_retries``: the same failed call (tool and arguments) is refused once it failed that
  many times within the window; other arguments are not;
* ``require_approval_after``: past N actions in the window the action is held (HOLD);
* ``per_subject``: counted per subject (a customer); an action without one is denied.

Counter keys hold no data in clear: subjects and arguments enter them as keyed hashes.
``guard.check`` (a dry run) reads the windows and reserves nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from agentguard.audit import canonical_json
from agentguard.clock import Clock
from agentguard.errors import RateLimited
from agentguard.layers.registry import LayerContext, LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Observation, Reason, Step, Verdict
from agentguard.policy import LoadedPolicy
from agentguard.policy.content import matches_any
from agentguard.policy.limits import ALL_AGENTS, LimitRule
from agentguard.policy.units import format_duration
from agentguard.recordable import recordable
from agentguard.store.base import MAX_AMOUNT, CounterStore, WindowRequest

NAME = "limits"
#: admitted actions awaiting their outcome, at most (see admit)
_MAX_OPEN = 100_000
#: a limit no count reaches: used to record failures without refusing anything
_UNBOUNDED = MAX_AMOUNT


@dataclass(frozen=True, slots=True)
class _Need:
    """One window an action must fit in, and what a refusal there means."""

    request: WindowRequest
    rule: LimitRule
    scope: str  # the agent the rule belongs to, or "*"
    hold: bool  # require_approval_after: a refusal holds instead of denying


class LimitsLayer:
    """Admits an action in every window of the policy's ``limits:`` that applies to it."""

    name = NAME

    def __init__(
        self, policy: LoadedPolicy, store: CounterStore, clock: Clock, key: Callable[[], bytes]
    ) -> None:
        self._limits: dict[str, list[LimitRule]] = dict(policy.model.limits or {})
        self._costs = {name: spec.cost for name, spec in policy.model.tools.items()}
        self._store = store
        self._clock = clock
        self._key = key
        # action id → its reservation and the windows it was admitted in
        self._reserved: dict[str, tuple[str, list[_Need]]] = {}
        # (agent, tool) → the windows of its actions, when no rule depends on the action's
        # subject or arguments (each request made once: see WindowRequest)
        self._static: dict[tuple[str, str], list[_Need]] = {}
        self._lock = threading.Lock()

    def applies(self, agent: str, tool: str) -> bool:
        return any(
            rule.tool is None or matches_any(tool, (rule.tool,))
            for scope in (agent, ALL_AGENTS)
            for rule in self._limits.get(scope, ())
        )

    # ---------------------------------------------------------------- admission

    def admit(self, action: Action) -> Verdict:
        needs, problem = self._needs(action)
        if problem is not None:
            return Verdict(Step.DENY, (problem,))
        if not needs:
            return CONTINUE
        at = self._clock.now()
        if action.dry_run:
            return self._preview(needs, at)
        # Refusals that deny come before those that hold: when both apply, the action is
        # denied, not queued for a person.
        needs.sort(key=lambda n: n.hold)
        admission = self._store.admit([n.request for n in needs], at)
        if admission.admitted:
            if admission.reservation is not None:
                with self._lock:
                    if len(self._reserved) >= _MAX_OPEN:
                        # never observed (pipeline.evaluate called without the guard): the
                        # oldest stay booked in the store, which errs on the side of refusing
                        del self._reserved[next(iter(self._reserved))]
                    self._reserved[action.id] = (admission.reservation, needs)
            return CONTINUE
        refused = next(n for n in needs if n.request == admission.refused)
        seconds = (
            admission.retry_after.total_seconds() if admission.retry_after is not None else None
        )
        return _refusal(refused, action.tool, seconds)

    def _preview(self, needs: list[_Need], at: datetime) -> Verdict:
        for need in sorted(needs, key=lambda n: n.hold):
            request = need.request
            total = self._store.total(request.key, at, request.window)
            if total + request.amount > request.limit:
                return _refusal(need, "", None)
        return CONTINUE

    def _needs(self, action: Action) -> tuple[list[_Need], Reason | None]:
        pair = (action.agent, action.tool)
        static = self._static.get(pair)
        if static is not None:
            return list(static), None
        needs, problem = self._gather(action)
        if problem is None and not any(n.rule.per_subject or n.rule.max_retries for n in needs):
            with self._lock:
                if len(self._static) >= _MAX_OPEN:
                    self._static.clear()
                self._static[pair] = list(needs)
        return needs, problem

    def _gather(self, action: Action) -> tuple[list[_Need], Reason | None]:
        needs: list[_Need] = []
        for scope in (action.agent, ALL_AGENTS):
            for rule in self._limits.get(scope, ()):
                if rule.tool is not None and not matches_any(action.tool, (rule.tool,)):
                    continue
                base = f"{scope}|{rule.tool or '*'}"
                if rule.per_subject:
                    if not action.subject:
                        return [], Reason(
                            NAME,
                            "limits.no_subject",
                            f"a limit of tool {action.tool!r} counts per subject, and this "
                            "action names none; pass subject= (the customer or resource)",
                        )
                    base += "|" + self._hash(_subject(action.subject))
                needs.extend(self._rule_needs(rule, scope, base, action))
        return needs, None

    def _rule_needs(self, rule: LimitRule, scope: str, base: str, action: Action) -> list[_Need]:
        window = rule.window
        out: list[_Need] = []
        if rule.max is not None:
            request = WindowRequest(f"count|{base}", Decimal(1), Decimal(rule.max), window)
            out.append(_Need(request, rule, scope, False))
        if rule.require_approval_after is not None:
            limit = Decimal(rule.require_approval_after)
            request = WindowRequest(f"count|{base}", Decimal(1), limit, window)
            out.append(_Need(request, rule, scope, True))
        if rule.cost is not None:
            estimate = self._costs.get(action.tool) or Decimal(0)
            request = WindowRequest(f"cost|{base}", estimate, rule.cost, window)
            out.append(_Need(request, rule, scope, False))
        if rule.max_retries is not None:
            # failures are recorded by observe(); admission only checks there is room
            limit = Decimal(rule.max_retries - 1)
            request = WindowRequest(self._retry_key(base, action), Decimal(0), limit, window)
            out.append(_Need(request, rule, scope, False))
        return out

    # -------------------------------------------------------------- after the call

    def observe(self, observation: Observation) -> None:
        action = observation.action
        if action.dry_run:
            return
        with self._lock:
            held = self._reserved.pop(action.id, None)
        if held is not None:
            reservation, needs = held
            if observation.ran:
                self._store.settle(reservation, _actual(observation, needs), observation.at)
            else:
                self._store.release(reservation)
        if observation.status == "failed":
            self._record_failure(action, observation)

    def _record_failure(self, action: Action, observation: Observation) -> None:
        needs, _ = self._needs(action)
        for need in needs:
            if need.rule.max_retries is None:
                continue
            key, window = need.request.key, need.request.window
            request = WindowRequest(key, Decimal(1), _UNBOUNDED, window)
            self._store.admit([request], observation.at, final=True)

    # --------------------------------------------------------------------- keys

    def _hash(self, text: str) -> str:
        digest = hmac.new(self._key(), text.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return digest.hexdigest()[:24]

    def _retry_key(self, base: str, action: Action) -> str:
        call = canonical_json({"tool": action.tool, "args": recordable(action.args)})
        return f"fail|{base}|{self._hash(call)}"


def _actual(observation: Observation, needs: list[_Need]) -> dict[str, Decimal]:
    """What the call cost, for each budget window it was admitted in."""
    if observation.cost is None:
        return {}
    return {n.request.key: observation.cost for n in needs if n.rule.cost is not None}


def _subject(subject: str) -> str:
    """One spelling per subject, so ``cust_1``, ``CUST_1`` and `` cust_1 `` count together."""
    return unicodedata.normalize("NFKC", subject).strip().casefold()


def _refusal(need: _Need, tool: str, retry_after: float | None) -> Verdict:
    rule = need.rule
    who = "all agents together" if need.scope == ALL_AGENTS else f"agent {need.scope!r}"
    what = f"tool {rule.tool!r}" if rule.tool else "every tool"
    window = format_duration(rule.window)
    if need.hold:
        reason = Reason(
            NAME,
            "limits.approval_required",
            f"{who} has used {what} {rule.require_approval_after} times within {window}; "
            "further actions wait for a person's approval",
        )
        return Verdict(Step.HOLD, (reason,))
    if rule.cost is not None:
        code, message = (
            "limits.budget_exceeded",
            f"the budget of ${rule.cost} per {window} for {what} of {who} would be exceeded",
        )
    elif rule.max_retries is not None:
        code, message = (
            "limits.retries_exceeded",
            f"this call of {what} failed {rule.max_retries} times within {window}; "
            "it is not retried again (other arguments are)",
        )
    else:
        code, message = (
            "limits.rate_exceeded",
            f"{who} may use {what} at most {rule.max} times per {window}",
        )
    return Verdict(Step.DENY, (Reason(NAME, code, message, retry_after),))


def _build(ctx: LayerContext) -> LimitsLayer | None:
    if not ctx.policy.model.limits:
        return None
    return LimitsLayer(ctx.policy, ctx.store, ctx.clock, ctx.store.fingerprint_key)


register(LayerSpec(NAME, 600, _build, RateLimited))
