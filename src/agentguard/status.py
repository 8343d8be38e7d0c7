"""The state of every agent on a store, for ``agentguard status`` (and any dashboard).

Per agent: its actions in the last hour and the last day, how many failed and the error
rate, what it spent against the policy's cost budgets, its circuit breaker, and whether a
kill switch stops it. The figures come from the audit log (see :mod:`agentguard.activity`),
breakers and kill switches from the store as they stand, so every process reading one store
sees the same status.

Example::

    board = StatusBoard(store, policy=load_policy("policy.yaml"), clock=clock)
    report = board.report()               # reads only what is new since the last report
    report.agents[0].last_hour.spend      # Decimal("2.295")
    json.dumps(report.as_json())
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentguard.activity import (
    DAY,
    DEFAULT_MAX_NAMES,
    Activity,
    AuditFollower,
    Counts,
    matching,
)
from agentguard.breaker import BreakerSnapshot, BreakerState
from agentguard.clock import Clock, SystemClock
from agentguard.policy import LoadedPolicy
from agentguard.policy.limits import ALL_AGENTS
from agentguard.policy.units import format_duration
from agentguard.store.base import Kill, KillScope, Store

HOUR = timedelta(hours=1)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BudgetUse:
    """One ``cost`` budget of the policy's ``limits:`` and what was spent against it.

    ``scope`` is the agent the budget belongs to, or ``"*"`` for all agents together;
    ``tool`` a tool name or glob (None: every tool). ``spent`` is the cost of the executed
    actions recorded in the last ``per``; None for a budget counted per subject, which has
    one total per customer rather than one to show.
    """

    scope: str
    tool: str | None
    budget: Decimal
    per: timedelta
    spent: Decimal | None
    per_subject: bool = False

    @property
    def used(self) -> float | None:
        """The share of the budget spent (1.0: all of it; above when booked past it)."""
        return None if self.spent is None else float(self.spent / self.budget)

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "tool": self.tool,
            "budget": money(self.budget),
            "per": format_duration(self.per),
            "spent": None if self.spent is None else money(self.spent),
            "used": self.used,
            "per_subject": self.per_subject,
        }


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One agent: its recent actions, budgets, breaker (``agent:NAME``) and kill switch
    (its own, or the one that stops every agent)."""

    agent: str
    last_hour: Counts
    last_day: Counts
    budgets: tuple[BudgetUse, ...]
    breaker: BreakerState
    kill: Kill | None

    def as_json(self) -> dict[str, Any]:
        return {
            "last_hour": counts_json(self.last_hour),
            "last_day": counts_json(self.last_day),
            "budgets": [b.as_json() for b in self.budgets],
            "breaker": str(self.breaker),
            "kill": None if self.kill is None else kill_json(self.kill),
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Every agent at ``at``, by name; the budgets of all agents together (``"*"``); every
    circuit breaker that is not closed; every kill switch in force."""

    at: datetime
    agents: tuple[AgentStatus, ...]
    shared_budgets: tuple[BudgetUse, ...]
    breakers: tuple[BreakerSnapshot, ...]
    kills: tuple[Kill, ...]

    def agent(self, name: str) -> AgentStatus | None:
        return next((a for a in self.agents if a.agent == name), None)

    def as_json(self) -> dict[str, Any]:
        """The report as JSON values: money as exact decimal strings, times in ISO 8601."""
        return {
            "at": iso(self.at),
            "agents": {a.agent: a.as_json() for a in self.agents},
            "shared_budgets": [b.as_json() for b in self.shared_budgets],
            "breakers": [breaker_json(b) for b in self.breakers],
            "kills": [kill_json(k) for k in self.kills],
        }


class StatusBoard:
    """Builds :class:`StatusReport` s of ``store``; each :meth:`report` reads only the audit
    records written since the previous one. With a ``policy``, its agents are always listed
    and its cost budgets shown. ``max_names`` bounds the agents listed by name (see
    :mod:`agentguard.activity`)."""

    def __init__(
        self,
        store: Store,
        *,
        policy: LoadedPolicy | None = None,
        clock: Clock | None = None,
        max_names: int = DEFAULT_MAX_NAMES,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock: Clock = clock or SystemClock()
        self._rules = _cost_rules(policy)
        keep = max([DAY, *(rule.per for _, rule in self._rules if rule.per is not None)])
        names: list[str] = []
        if policy is not None:
            names = [*policy.model.agents, *policy.model.tools]
        self.activity = Activity(clock=self.clock, keep=keep, max_names=max_names, names=names)
        since = self.clock.now() - keep
        self.follower = AuditFollower(store, self.activity, since=since)

    def report(self) -> StatusReport:
        """Read what is new in the audit log, then the breakers and kill switches."""
        self.follower.poll()
        now = self.clock.now()
        hour = self.activity.by_agent(HOUR, now=now)
        day = self.activity.by_agent(DAY, now=now)
        kills = tuple(self.store.list_kills())
        breakers = {b.key: b for b in self.store.list_breakers(now)}
        names = set(day)
        if self.policy is not None:
            names.update(self.policy.model.agents)
        names.update(key[len("agent:") :] for key in breakers if key.startswith("agent:"))
        names.update(k.target for k in kills if k.scope is KillScope.AGENT)
        everyone = next((k for k in kills if k.scope is KillScope.ALL), None)
        agents = []
        for name in sorted(names):
            own = next((k for k in kills if k.scope is KillScope.AGENT and k.target == name), None)
            breaker = breakers.get(f"agent:{name}")
            agents.append(
                AgentStatus(
                    agent=name,
                    last_hour=hour.get(name, Counts()),
                    last_day=day.get(name, Counts()),
                    budgets=self._budgets(name, now),
                    breaker=breaker.state if breaker is not None else BreakerState.CLOSED,
                    kill=everyone or own,
                )
            )
        return StatusReport(
            at=now,
            agents=tuple(agents),
            shared_budgets=self._budgets(ALL_AGENTS, now),
            breakers=tuple(b for b in breakers.values() if b.state is not BreakerState.CLOSED),
            kills=kills,
        )

    def _budgets(self, scope: str, now: datetime) -> tuple[BudgetUse, ...]:
        out = []
        for owner, rule in self._rules:
            if owner != scope or rule.cost is None or rule.per is None:
                continue
            spent = None
            if not rule.per_subject:
                match = matching(None if scope == ALL_AGENTS else scope, rule.tool)
                spent = self.activity.window(rule.per, now=now, match=match).spend
            out.append(BudgetUse(scope, rule.tool, rule.cost, rule.per, spent, rule.per_subject))
        return tuple(out)


def _cost_rules(policy: LoadedPolicy | None) -> list[tuple[str, Any]]:
    if policy is None:
        return []
    limits = policy.model.limits or {}
    return [(scope, rule) for scope, rules in limits.items() for rule in rules if rule.cost]


# ------------------------------------------------------------------------------ JSON


def money(amount: Decimal) -> str:
    """An exact amount with at least cents: ``10.00``, ``2.295``, ``0.50``."""
    if amount == amount.quantize(_CENT):
        return f"{amount.quantize(_CENT):f}"
    return f"{amount.normalize():f}"


def iso(moment: datetime) -> str:
    """The audit log's spelling of a moment: UTC, microseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def counts_json(counts: Counts) -> dict[str, Any]:
    return {
        "actions": counts.actions,
        "executed": counts.executed,
        "failed": counts.failed,
        "denied": counts.denied,
        "held": counts.held,
        "withheld": counts.withheld,
        "error_rate": counts.error_rate,
        "spend": money(counts.spend),
    }


def kill_json(kill: Kill) -> dict[str, Any]:
    return {
        "scope": str(kill.scope),
        "target": kill.target,
        "reason": kill.reason,
        "set_at": iso(kill.set_at),
        "set_by": kill.set_by,
    }


def breaker_json(snapshot: BreakerSnapshot) -> dict[str, Any]:
    return {
        "breaker": snapshot.key,
        "state": str(snapshot.state),
        "since": None if snapshot.since is None else iso(snapshot.since),
        "until": None if snapshot.until is None else iso(snapshot.until),
        "failures": snapshot.failures,
        "trials": snapshot.trials,
    }
