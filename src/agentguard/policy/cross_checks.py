"""Checks across sections of a policy that pydantic cannot make alone: alert rules name
defined agents and have somewhere to send what they notify; approvers are people with
tools that exist; approval rules name defined tools and approvers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agentguard.policy.approvals import TIERS
from agentguard.policy.models import Policy
from agentguard.policy.positions import _suggest
from agentguard.policy.positions import expand as _expand

Report = Callable[[Iterable[str | int], str], None]


class _AnyVariable(dict[str, str]):
    """An environment in which every variable is set: ``check`` validates a ``notify:``
    entry without the secrets it names (the guard reads them when it starts)."""

    def get(self, key: str, default: Any = None) -> str:
        return "set-when-the-guard-starts"


def check_alerts(model: Policy, report: Report) -> None:
    """``notify:`` entries are usable, and the rules name defined agents and have somewhere
    to send what they notify."""
    from agentguard.monitor.notify import NotifyConfigError, notifier_from_config

    names: list[str] = []
    for index, entry in enumerate(model.notify or []):
        try:
            notifier = notifier_from_config(entry, environ=_AnyVariable())
        except NotifyConfigError as exc:
            report(["notify", index], exc.message)
            continue
        if notifier.name in names:
            report(
                ["notify", index],
                f"two notify entries are called {notifier.name!r}; give one a different name",
            )
        names.append(notifier.name)
    for index, rule in enumerate(model.alerts or []):
        if "notify" in rule.then and not model.notify:
            report(
                ["alerts", index, "then"],
                f"alert rule {rule.label!r} notifies, but there is no 'notify:' section "
                "saying where alerts go (for example: notify: [{log: true}])",
            )
        for position, pattern in enumerate(rule.agents or ()):
            if not _expand(pattern, sorted(model.agents)):
                report(
                    ["alerts", index, "agents", position],
                    f"alert rule {rule.label!r} watches agent {pattern!r}, which is not "
                    "defined under 'agents:'" + _suggest(pattern, model.agents),
                )


def check_approvers(model: Policy, report: Report) -> None:
    """Approvers are people: never named like an agent, and limited to tools that exist."""
    for name, spec in (model.approvers or {}).items():
        if name in model.agents:
            report(
                ["approvers", name],
                f"{name!r} is both an agent and an approver; an agent never approves, so "
                "give the person another name",
            )
        for position, pattern in enumerate(spec.tools or ()):
            if not _expand(pattern, sorted(model.tools)):
                report(
                    ["approvers", name, "tools", position],
                    f"approver {name!r} may approve tool {pattern!r}, which is not defined "
                    "under 'tools:'" + _suggest(pattern, model.tools),
                )
    section = model.approvals
    if section is None:
        return
    approvers = model.approvers or {}
    rules = [([tier], rule) for tier in TIERS if (rule := section.for_tier(tier)) is not None]
    for pattern, rule in section.tools.items():
        rules.append((["tools", pattern], rule))
        if not _expand(pattern, sorted(model.tools)):
            report(
                ["approvals", "tools", pattern],
                f"approvals are set for tool {pattern!r}, which is not defined under "
                "'tools:'" + _suggest(pattern, model.tools),
            )
    for where, rule in rules:
        for position, person in enumerate(rule.escalate_to):
            if person not in approvers:
                report(
                    ["approvals", *where, "escalate_to", position],
                    f"escalate_to names {person!r}, who is not defined under 'approvers:'"
                    + _suggest(person, approvers),
                )
