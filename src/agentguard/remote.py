"""Calls of tools that agents run themselves (an agent in another process or language,
through the gateway): a decision now, the result later.

``check`` evaluates the action exactly as a call through the guard would be and, when it
is allowed, reserves its audit record and remembers it under a decision id (the action's
id); ``complete`` then passes the agent's result through the result layers and writes the
record, or records the failure. A held action becomes an approval request (the answer
carries the ticket); asked again once approved, it is claimed (once) and allowed.

Pending decisions live in this process, for ``ttl`` seconds: one not completed by then is
dropped, and ``agentguard audit verify`` names its reservation as an interrupted action.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agentguard.approval import ApprovalState
from agentguard.approval_queue import ApprovalTicket
from agentguard.audit_record import PreparedRecord
from agentguard.cost import Cost
from agentguard.errors import AgentGuardError, Denied
from agentguard.execution import Executor
from agentguard.pipeline import Action, Decision

#: how many decisions may wait for their result at once (the oldest are dropped past it)
MAX_PENDING = 100_000


@dataclass(frozen=True)
class Checked:
    """The answer to a check: the decision, and the decision id to complete (allowed) or
    the approval ticket (held)."""

    decision: Decision
    decision_id: str | None = None
    ticket: ApprovalTicket | None = None


@dataclass
class _Pending:
    decision: Decision
    timestamp: Any
    started: int
    prepared: PreparedRecord = field(repr=False)
    agent: str
    approval: str | None
    expires: float


class RemoteCalls:
    """Check-then-complete calls over one guard's executor (thread-safe)."""

    def __init__(self, executor: Executor, *, ttl: float = 600.0) -> None:
        self._executor = executor
        self._ttl = ttl
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, action: Action) -> Checked:
        """The decision for ``action``; a denial is audited and returned (not raised)."""
        executor = self._executor
        if action.approval is not None:
            action = action.with_changes(approval=None)
        started = time.perf_counter_ns()
        timestamp = executor._clock.now()
        decision = executor.evaluate(action)
        approval: str | None = None
        if decision.held and executor.approvals is not None:
            ticket, current = executor.hold(action, decision, timestamp, started)
            if current.state is not ApprovalState.APPROVED:
                return Checked(decision, ticket=ticket)
            claimed = executor.approvals.claim(ticket, current)
            approval = current.id
            started = time.perf_counter_ns()
            timestamp = executor._clock.now()
            decision = executor.evaluate(claimed)
            try:
                executor.approvals.check_runner(current, decision.action)
            except Denied:
                executor.approvals.finish(current.id, False)
                raise
        try:
            prepared = executor.admit_remote(decision, timestamp, started)
        except Denied as refused:
            if approval is not None:
                executor.approvals.finish(approval, False)  # type: ignore[union-attr]
            return Checked(refused.decision)
        pending = _Pending(
            decision, timestamp, started, prepared, decision.action.agent, approval,
            time.monotonic() + self._ttl,
        )  # fmt: skip
        with self._lock:
            self._expire()
            self._pending[decision.action.id] = pending
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
        return Checked(decision, decision_id=decision.action.id)

    def complete(
        self,
        decision_id: str,
        agent: str,
        *,
        result: Any = None,
        error: str | None = None,
        cost: Decimal | str | None = None,
    ) -> Any:
        """Record what became of an allowed action (``agent`` must be the one it was
        allowed to): its ``result`` (returned as the agent may see it: redacted or wrapped by
        the result layers; ResultWithheld when withheld) or its ``error``. ``cost``: what
        the call cost in dollars, when the agent knows. A decision id that is unknown,
        expired, completed already or another agent's is refused
        (``remote.unknown_decision``)."""
        with self._lock:
            self._expire()
            pending = self._pending.get(decision_id)
            if pending is None or pending.agent != agent:
                raise AgentGuardError(
                    "no allowed action is waiting for its result under this decision id "
                    "(unknown, completed, expired, or another agent's)",
                    code="remote.unknown_decision",
                )
            del self._pending[decision_id]
        executor = self._executor
        ok = False
        try:
            if error is not None:
                executor.fail_remote(
                    pending.decision, pending.timestamp, pending.started, error, pending.prepared
                )
                return None
            reported = Cost(result, amount=cost) if cost is not None else result
            delivered = executor.deliver_remote(
                pending.decision, pending.timestamp, pending.started, reported, pending.prepared
            )
            ok = True
            return delivered
        finally:
            if pending.approval is not None and executor.approvals is not None:
                executor.approvals.finish(pending.approval, ok)

    def _expire(self) -> None:
        now = time.monotonic()
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if oldest.expires > now:
                break
            self._pending.popitem(last=False)
