"""The refusals of the approval queue's operations (re-exported by
:mod:`agentguard.approval`): each names the request and the state it was found in, and
means nothing was changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentguard.errors import AgentGuardError

if TYPE_CHECKING:
    from agentguard.approval import ApprovalState


class ApprovalError(AgentGuardError):
    """A refused operation on an approval request; nothing was changed. ``approval_id``
    names the request and ``state`` is its state as found (None: not found)."""

    code = "approval.error"

    def __init__(
        self, message: str, *, approval_id: str, state: ApprovalState | None = None
    ) -> None:
        super().__init__(message)
        self.approval_id = approval_id
        self.state = state


class ApprovalNotFound(ApprovalError):
    """No request has this id."""

    code = "approval.not_found"


class InvalidTransition(ApprovalError):
    """The request is not in a state the operation applies to (approving a rejected one,
    finishing one never claimed, …)."""

    code = "approval.invalid_transition"


class ApprovalExpired(ApprovalError):
    """The request's deadline has passed: it can no longer be approved."""

    code = "approval.expired"


class SelfApproval(ApprovalError):
    """The person who asked for the action cannot approve it."""

    code = "approval.self_approval"


class DuplicateApprover(ApprovalError):
    """This person has already approved the request: one person counts once."""

    code = "approval.duplicate_approver"


class EditRefused(ApprovalError):
    """Edited arguments were given for a request that needs more than one approver: every
    approver must approve the same action, so an edit there is a rejection and a new
    request."""

    code = "approval.edit_refused"


class BindingMismatch(ApprovalError):
    """The action presented for execution is not the one that was approved."""

    code = "approval.binding_mismatch"
