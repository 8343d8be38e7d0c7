"""The approval operations every store shares: each loads one request, applies a step of
:mod:`agentguard.approval`'s state machine and saves the result atomically. A store
provides that one atomic ``_change_approval``; the operations are written once, here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from agentguard import approval
from agentguard.approval import Approval, ApprovalChange

C = TypeVar("C", bound=ApprovalChange | None)


class ApprovalSteps:
    """``approve``, ``reject``, ``escalate``, ``claim`` and ``finish`` of
    :class:`~agentguard.store.base.ApprovalStore`, on a store's ``_change_approval``."""

    def _change_approval(self, approval_id: str, step: Callable[[Approval], C]) -> C:
        """Load ``approval_id``, apply ``step``, save what it changed: one atomic step.
        :class:`~agentguard.approval.ApprovalNotFound` when there is no such request."""
        raise NotImplementedError

    def approve(
        self,
        approval_id: str,
        approver: str,
        at: datetime,
        *,
        edited_arguments: str | None = None,
        comment: str | None = None,
    ) -> ApprovalChange:
        return self._change_approval(
            approval_id,
            lambda current: approval.approve(
                current, approver, at, edited_arguments=edited_arguments, comment=comment
            ),
        )

    def reject(
        self, approval_id: str, by: str, at: datetime, *, comment: str | None = None
    ) -> ApprovalChange:
        return self._change_approval(
            approval_id, lambda current: approval.reject(current, by, at, comment=comment)
        )

    def escalate(self, approval_id: str, new_deadline: datetime, at: datetime) -> ApprovalChange:
        return self._change_approval(
            approval_id, lambda current: approval.escalate(current, new_deadline, at)
        )

    def claim(self, approval_id: str, binding: str, at: datetime) -> ApprovalChange | None:
        return self._change_approval(
            approval_id, lambda current: approval.claim(current, binding, at)
        )

    def finish(self, approval_id: str, ok: bool, at: datetime) -> ApprovalChange:
        return self._change_approval(approval_id, lambda current: approval.finish(current, ok, at))
