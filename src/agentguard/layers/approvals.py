"""Approvals: actions of a risky tier wait for a person (the policy's ``approvals:``).

The layer decides only *whether* an action needs a person, after every check that could
refuse it outright (so nobody is asked to approve what would be denied anyway): it answers
HOLD with a reason saying which rule asks (``approval.review`` or ``approval.required``).
The guard turns a HOLD, from this layer or any other (a detector's ``flag_for_review``,
``require_approval_after``), into a request in the store's queue; see
:mod:`agentguard.approval_flow`. An action the guard runs because people approved it
carries the claimed approval (``Action.approval``) and passes, with a reason saying so.

Which rule applies: the tool's own entry under ``approvals.tools`` (its name, else the first
matching glob), else the rule of its ``risk:`` tier. An action whose metadata
``confidence_score`` is below ``min_confidence`` goes to review whatever its tier (a score
that is missing or not a number counts as low: fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agentguard.clock import Clock
from agentguard.errors import HeldForReview
from agentguard.layers.registry import LayerContext, LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Reason, Step, Verdict
from agentguard.policy import LoadedPolicy
from agentguard.policy.approvals import ApprovalRule, ApprovalsSection
from agentguard.policy.conditions import Condition, to_cel

NAME = "approvals"


@dataclass(frozen=True, slots=True)
class Routing:
    """The rule an action is approved by, and why (``source``: ``tools.NAME``, a tier,
    ``min_confidence``, or ``held`` for a hold by another layer)."""

    rule: ApprovalRule
    source: str


def route(policy: LoadedPolicy, action: Action, now: datetime | None = None) -> Routing | None:
    """The approval rule ``action`` needs under ``policy`` (None: it runs at once)."""
    section = policy.model.approvals
    if section is None:
        return None
    spec = policy.model.tools.get(action.tool)
    tier = str(spec.risk) if spec is not None else "medium"
    rule, source = section.for_tool(action.tool, tier, spec is not None and spec.irreversible)
    if rule is not None and rule.when is not None:
        condition = policy.approval_conditions.get(action.tool)
        if condition is not None and not _holds(condition, policy, action, now):
            rule = None  # the tool's own rule decides: its condition is false
    if rule is not None and rule.mode != "none":
        return Routing(rule, source)
    if section.min_confidence is not None and _low_confidence(action, section):
        return Routing(section.review_rule(), "min_confidence")
    return None


def hold_routing(policy: LoadedPolicy, action: Action, now: datetime | None = None) -> Routing:
    """The rule for an action another layer held: its own rule when that asks for a
    person, else the policy's review (see :meth:`ApprovalsSection.review_rule`)."""
    found = route(policy, action, now)
    if found is not None:
        return found
    section = policy.model.approvals or ApprovalsSection()
    return Routing(section.review_rule(), "held")


def _holds(
    condition: Condition, policy: LoadedPolicy, action: Action, now: datetime | None
) -> bool:
    """Whether the rule's ``when`` is true; when it cannot be evaluated, it is (fail closed:
    a person looks at it)."""
    try:
        args: dict[str, Any] = {}
        for key, value in action.args.items():
            converted = to_cel(value)
            if key in condition.number_args and type(converted) is int:
                converted = float(converted)
            args[str(key)] = converted
        spec = policy.model.agents.get(action.agent)
        agent = {
            "id": action.agent,
            "roles": list(spec.roles) if spec is not None else [],
            "owner": spec.owner if spec is not None else None,
        }
        variables = {
            "args": args,
            "agent": agent,
            "session": action.session,
            "subject": action.subject,
            "now": now or datetime.now(UTC),
        }
        return condition.evaluate(variables)
    except Exception:
        return True


def _low_confidence(action: Action, section: ApprovalsSection) -> bool:
    floor = section.min_confidence
    score = _score(action.metadata.get("confidence_score") if action.metadata else None)
    return floor is not None and (score is None or score < floor)


def _score(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


class ApprovalsLayer:
    """Holds the actions the policy's ``approvals:`` send to a person."""

    name = NAME

    def __init__(self, policy: LoadedPolicy, clock: Clock | None = None) -> None:
        self._policy = policy
        self._clock = clock
        section = policy.model.approvals
        self._everything = section is not None and section.min_confidence is not None

    def applies(self, agent: str, tool: str) -> bool:
        if self._everything:
            return True
        section = self._policy.model.approvals
        spec = self._policy.model.tools.get(tool)
        tier = str(spec.risk) if spec is not None else "medium"
        irreversible = spec is not None and spec.irreversible
        rule, _ = section.for_tool(tool, tier, irreversible) if section is not None else (None, "")
        return rule is not None and rule.mode != "none"

    def admit(self, action: Action) -> Verdict:
        if action.approval is not None:
            return Verdict(
                Step.CONTINUE,
                (
                    Reason(
                        NAME,
                        "approval.granted",
                        f"approved by people (approval {action.approval}); re-checked "
                        "against the current policy",
                    ),
                ),
            )
        now = self._clock.now() if self._clock is not None else None
        routing = route(self._policy, action, now)
        if routing is None:
            return CONTINUE
        rule = routing.rule
        who = "two people" if rule.two_person else "a person"
        if routing.source == "min_confidence":
            why = "its confidence_score is below approvals.min_confidence"
        elif routing.source == "irreversible":
            why = "the tool is irreversible and approvals.irreversible asks for it"
        elif routing.source.startswith("tools."):
            when = f" (when {rule.when})" if rule.when else ""
            why = f"approvals.{routing.source}{when} asks for it"
        else:
            why = f"tool risk tier {routing.source!r} asks for it"
        if rule.mode == "review":
            code = "approval.review"
            message = f"waiting for {who} to review it within {_span(rule.within)} ({why})"
        else:
            code = "approval.required"
            message = f"waiting up to {_span(rule.timeout)} for {who} to approve it ({why})"
        return Verdict(Step.HOLD, (Reason(NAME, code, message),))


def _span(value: Any) -> str:
    seconds = int(value.total_seconds()) if value is not None else 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _build(context: LayerContext) -> ApprovalsLayer | None:
    if context.policy.model.approvals is None:
        return None
    return ApprovalsLayer(context.policy, context.clock)


register(LayerSpec(NAME, 930, _build, HeldForReview))
