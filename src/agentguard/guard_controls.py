"""The operator controls of a :class:`~agentguard.guard.Guard`: kill switches, keys and
external signals, each recorded in the audit log of the guard's store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from agentguard import control
from agentguard.errors import AgentGuardError
from agentguard.store.base import Kill

if TYPE_CHECKING:
    from agentguard.audit_record import RecordBuilder
    from agentguard.clock import Clock
    from agentguard.pipeline import Pipeline
    from agentguard.policy import LoadedPolicy
    from agentguard.store import Store


class GuardControls:
    """Mixed into :class:`~agentguard.guard.Guard`."""

    if TYPE_CHECKING:
        store: Store
        clock: Clock
        policy: LoadedPolicy
        _records: RecordBuilder

        @property
        def pipeline(self) -> Pipeline: ...

    def kill(
        self,
        *,
        agent: str | None = None,
        tool: str | None = None,
        everything: bool = False,
        reason: str,
        by: str | None = None,
    ) -> Kill:
        """Stop an agent, a tool or everything, in every process sharing this store."""
        scope, target = control.scope_of(agent=agent, tool=tool, everything=everything)
        return control.kill(self.store, scope, target, reason=reason, by=by, clock=self.clock)

    def resume(
        self,
        *,
        agent: str | None = None,
        tool: str | None = None,
        everything: bool = False,
        reason: str | None = None,
        by: str | None = None,
    ) -> bool:
        """Lift a kill switch set by :meth:`kill` (or ``agentguard kill``)."""
        scope, target = control.scope_of(agent=agent, tool=tool, everything=everything)
        return control.resume(self.store, scope, target, reason=reason, by=by, clock=self.clock)

    def create_key(
        self,
        agent: str,
        *,
        expires_in: timedelta | None = None,
        tools: Sequence[str] | None = None,
        label: str | None = None,
    ) -> str:
        """Create an API key for ``agent`` (optionally expiring, optionally narrowed to some
        tools). Returns the key; only its hash is stored, so keep it now."""
        if agent not in self.policy.model.agents:
            raise AgentGuardError(
                f"agent {agent!r} is not defined in the policy", code="keys.agent"
            )
        outside = [t for t in tools or () if not self.policy.may_use(agent, t)]
        if outside:
            raise AgentGuardError(
                f"agent {agent!r} may not use {', '.join(outside)}; a key can only narrow "
                "an agent's tools, never widen them",
                code="keys.scope",
            )
        key, _ = control.issue_key(
            self.store, agent, expires_in=expires_in, tools=tools, label=label, clock=self.clock
        )
        return key

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by its id (the part after ``ag_``); it is refused from the next call."""
        return control.revoke_key(self.store, key_id, clock=self.clock)

    def signal(
        self,
        name: str,
        *,
        agent: str | None = None,
        subject: str | None = None,
        by: str | None = None,
    ) -> list[str]:
        """Report an external signal (a customer complaint, a failed check …) to the alert
        rules ``signal NAME``; recorded in the audit log whether or not a rule acts on it.
        ``subject`` (a customer, a resource) is recorded as a keyed tag, never in clear.
        Returns what the rules did, one line each (empty: no rule listens for ``name``)."""
        if agent is not None and agent not in self.policy.model.agents:
            raise AgentGuardError(
                f"agent {self._records.name(agent, kind='agent')!r} is not defined in the policy",
                code="signal.agent",
            )
        report = control.record_signal(
            self.store, name, agent=agent, subject=subject, by=by, clock=self.clock
        )
        return self.pipeline.signal(report)
