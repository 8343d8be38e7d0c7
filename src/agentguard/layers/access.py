"""Access control: default deny, roles per agent, an explicit deny beats any allow, CEL
conditions on arguments, and API keys that can only narrow an agent's tools."""

from __future__ import annotations

from typing import Any

from agentguard.clock import Clock
from agentguard.errors import AccessDenied
from agentguard.layers.registry import LayerSpec, register
from agentguard.pipeline import Action, Reason, Step, Verdict, deny
from agentguard.policy import LoadedPolicy
from agentguard.policy.conditions import ImpreciseNumber, to_cel
from agentguard.policy.loader import CompiledRule
from agentguard.tools import safe_name

NAME = "access"


class AccessLayer:
    name = NAME

    def __init__(self, policy: LoadedPolicy, clock: Clock) -> None:
        self._policy = policy
        self._tools = policy.model.tools
        self._clock = clock
        self._agents = {
            name: {"id": name, "roles": list(spec.roles), "owner": spec.owner}
            for name, spec in policy.model.agents.items()
        }
        # Grant verdicts are the same object every time: nothing to build per call.
        self._grants: dict[tuple[str, str | None, str], Verdict] = {}
        # Arguments typed `number` reach CEL as doubles whatever the caller passed.
        self._numbers: dict[str, frozenset[str]] = {}
        for (_, tool), plan in policy.plans.items():
            for rule in (*plan.allows, *plan.denies):
                if rule.condition is not None:
                    known = self._numbers.get(tool, frozenset())
                    self._numbers[tool] = known | rule.condition.number_args

    def admit(self, action: Action) -> Verdict:
        tool = action.tool
        if tool not in self._tools:
            return deny(
                NAME,
                "access.unknown_tool",
                f"tool {tool!r} is not declared in the policy; declare it under 'tools:' "
                "and allow it in a role (agentguard denies by default)",
            )
        if action.key_tools is not None and tool not in action.key_tools:
            return deny(
                NAME,
                "access.key_scope",
                f"API key {action.key_id} is not scoped to tool {tool!r}",
            )
        plan = self._policy.plan(action.agent, tool)
        if plan is None or (not plan.allows and not plan.denies):
            return deny(
                NAME,
                "access.no_rule",
                f"no role of agent {action.agent!r} allows tool {tool!r} "
                "(agentguard denies by default)",
            )
        variables: dict[str, Any] | None = None
        for rule in plan.denies:
            if rule.condition is None:
                return deny(
                    NAME,
                    "access.denied_by_role",
                    f"role {rule.role!r} denies tool {tool!r} (an explicit deny wins over any allow)",
                )
            if variables is None:
                variables, failure = self._variables(action)
                if failure is not None:
                    return failure
            outcome = _evaluate(rule, variables)
            if outcome is not False:
                if outcome is True:
                    return deny(
                        NAME,
                        "access.denied_by_condition",
                        f"role {rule.role!r} denies tool {tool!r} when {rule.when}",
                    )
                return _condition_error(rule, outcome)
        unmet: list[CompiledRule] = []
        errors: list[tuple[CompiledRule, str]] = []
        for rule in plan.allows:
            if rule.condition is not None:
                if variables is None:
                    variables, failure = self._variables(action)
                    if failure is not None:
                        return failure
                outcome = _evaluate(rule, variables)
                if outcome is False:
                    unmet.append(rule)
                    continue
                if outcome is not True:
                    errors.append((rule, outcome))
                    continue
            return self._grant(rule)
        if errors:
            return _condition_error(*errors[0])
        if unmet:
            rule = unmet[0]
            return deny(
                NAME,
                "access.condition_false",
                f"role {rule.role!r} allows tool {tool!r} only when {rule.when}, "
                "and this call does not meet that condition",
            )
        return deny(
            NAME,
            "access.no_rule",
            f"no role of agent {action.agent!r} allows tool {tool!r} (agentguard denies by default)",
        )

    def _grant(self, rule: CompiledRule) -> Verdict:
        key = (rule.role, rule.when, rule.tool)
        verdict = self._grants.get(key)
        if verdict is None:
            condition = f" (when {rule.when})" if rule.when else ""
            verdict = Verdict(
                Step.GRANT,
                (Reason(NAME, "access.allowed", f"allowed by role {rule.role!r}{condition}"),),
            )
            self._grants[key] = verdict
        return verdict

    def _variables(self, action: Action) -> tuple[dict[str, Any], Verdict | None]:
        numbers = self._numbers.get(action.tool, frozenset())
        try:
            args = {}
            for key, value in action.args.items():
                converted = to_cel(value)
                if key in numbers and type(converted) is int:
                    converted = float(converted)
                args[str(key)] = converted
        except ImpreciseNumber as exc:
            return {}, deny(NAME, "access.condition_imprecise", f"{exc}; the action is denied")
        except Exception as exc:
            return {}, deny(
                NAME,
                "access.condition_error",
                f"arguments could not be prepared for conditions ({type(exc).__name__})",
            )
        return {
            "args": args,
            "agent": self._agents.get(
                action.agent, {"id": action.agent, "roles": [], "owner": None}
            ),
            "session": action.session,
            "subject": action.subject,
            "now": self._clock.now(),
        }, None


def _evaluate(rule: CompiledRule, variables: dict[str, Any]) -> bool | str:
    """True/False, or a short, value-free description of why it could not be evaluated."""
    assert rule.condition is not None
    try:
        return rule.condition.evaluate(variables)
    except KeyError as exc:
        name = safe_name(exc.args[0] if exc.args else "?")
        return f"the call has no argument {name} (test for it with has(args.<name>))"
    except TypeError:
        return "the arguments' types do not fit the condition"
    except Exception as exc:
        return f"evaluation failed ({type(exc).__name__})"


def _condition_error(rule: CompiledRule, problem: str) -> Verdict:
    return deny(
        NAME,
        "access.condition_error",
        f"condition {rule.when!r} of role {rule.role!r} could not be evaluated: {problem}; "
        "the action is denied to fail closed",
    )


register(LayerSpec(NAME, 400, lambda ctx: AccessLayer(ctx.policy, ctx.clock), AccessDenied))
