"""The memory store's approval queue (:class:`~agentguard.store.base.ApprovalStore`),
mixed into :class:`agentguard.store.memory.MemoryStore`: every change under the store's
lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from agentguard import approval
from agentguard.approval import (
    Approval,
    ApprovalChange,
    ApprovalNotFound,
    ApprovalRequest,
    ApprovalState,
    ExpirySweep,
    OnExpiry,
)
from agentguard.errors import StoreUnavailable
from agentguard.store.approval_steps import ApprovalSteps

C = TypeVar("C", bound=ApprovalChange | None)


class MemoryApprovals(ApprovalSteps):
    """The approval-queue methods of the memory store."""

    if TYPE_CHECKING:
        _lock: Any
        _approvals: dict[str, Approval]

    def request_approval(self, request: ApprovalRequest) -> Approval:
        queued = approval.create(request)
        with self._lock:
            if queued.id in self._approvals:  # 128 random bits: never, but never merge
                raise StoreUnavailable("an approval id was issued twice; nothing was queued")
            self._approvals[queued.id] = queued
        return queued

    def get_approval(self, approval_id: str) -> Approval | None:
        with self._lock:
            return self._approvals.get(approval_id)

    def find_approval(self, binding: str) -> Approval | None:
        wanted = str(binding).lower()
        open_states = (*approval.AWAITING, ApprovalState.APPROVED)
        with self._lock:
            found = [
                a
                for a in self._approvals.values()
                if a.binding == wanted and a.state in open_states
            ]
        return max(found, key=lambda a: a.requested_at) if found else None

    def list_approvals(
        self,
        state: ApprovalState | None = None,
        agent: str | None = None,
        limit: int | None = None,
    ) -> list[Approval]:
        wanted = None if state is None else ApprovalState(state)
        if limit is not None and (type(limit) is not int or limit < 0):
            raise ValueError("limit must be a non-negative integer")
        with self._lock:
            items = [
                a
                for a in self._approvals.values()
                if (wanted is None or a.state is wanted) and (agent is None or a.agent == agent)
            ]
        items.sort(key=lambda a: a.requested_at)  # stable: ties stay in the order queued
        return items if limit is None else items[:limit]

    def expire_due(self, at: datetime) -> ExpirySweep:
        at = approval.as_utc(at)
        expired: list[ApprovalChange] = []
        to_escalate: list[Approval] = []
        with self._lock:
            for current in sorted(self._approvals.values(), key=lambda a: a.requested_at):
                what = approval.due(current, at)
                if what is OnExpiry.ESCALATE:
                    to_escalate.append(current)
                elif what is OnExpiry.EXPIRE:
                    change = approval.expire(current, at)
                    self._approvals[current.id] = change.approval
                    expired.append(change)
        return ExpirySweep(tuple(expired), tuple(to_escalate))

    def _change_approval(self, approval_id: str, step: Callable[[Approval], C]) -> C:
        with self._lock:
            current = self._approvals.get(approval_id)
            if current is None:
                raise ApprovalNotFound(
                    f"there is no approval request {approval_id!r}", approval_id=approval_id
                )
            change = step(current)
            if isinstance(change, ApprovalChange):
                self._approvals[approval_id] = change.approval
            return change
