"""Approvals: an action held until enough people say yes, then run at most once.

A request moves through these states (nothing ever approves by timeout)::

    pending ──approve × required──► approved ──claim──► executing ──finish──► executed
      │  ├──reject───► rejected                                        └────► failed
      │  └──expire───► expired       (its deadline passed)
      └──escalate──► escalated       (a new deadline; then approve, reject or expire as pending)

This module is the state machine and nothing else: values and pure functions, no I/O. A
store backend loads a request, applies one of :func:`approve`, :func:`reject`,
:func:`escalate`, :func:`expire`, :func:`claim` or :func:`finish`, and writes the result back
in one atomic step, so every process sharing the store sees one queue (see
:class:`agentguard.store.base.ApprovalStore`). Each function returns an
:class:`ApprovalChange` for the audit log, or raises an :class:`ApprovalError` and changes
nothing.

Example::

    pending = create(ApprovalRequest(binding, "v7", "finance_bot", "wire", "high",
                                     requester="finance_bot", requested_at=now,
                                     deadline=now + timedelta(hours=1), required=2))
    first = approve(pending, "alice", later)           # still pending: 1 of 2
    second = approve(first.approval, "bob", later)     # approved
    run = claim(second.approval, binding, when_run)    # executing; a second claim: None
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import orjson

from agentguard.approval_errors import (  # re-exported: part of this module's API
    ApprovalError as ApprovalError,
)
from agentguard.approval_errors import (
    ApprovalExpired as ApprovalExpired,
)
from agentguard.approval_errors import (
    ApprovalNotFound as ApprovalNotFound,
)
from agentguard.approval_errors import (
    BindingMismatch as BindingMismatch,
)
from agentguard.approval_errors import (
    DuplicateApprover as DuplicateApprover,
)
from agentguard.approval_errors import (
    EditRefused as EditRefused,
)
from agentguard.approval_errors import (
    InvalidTransition as InvalidTransition,
)
from agentguard.approval_errors import (
    SelfApproval as SelfApproval,
)

#: The longest summary (JSON text) a request keeps for the people deciding it.
MAX_SUMMARY_CHARS = 256 * 1024
#: How many distinct people may be required to approve one request (2: two-person rule).
MAX_REQUIRED = 2

_HEX = re.compile(r"[0-9a-f]{32,128}")


class ApprovalState(enum.StrEnum):
    PENDING = "pending"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    EXECUTED = "executed"
    FAILED = "failed"


#: States in which a request waits for people: it may be approved, rejected or expire.
AWAITING = frozenset({ApprovalState.PENDING, ApprovalState.ESCALATED})
#: States of a request whose approval has been used: it never runs again.
CONSUMED = frozenset({ApprovalState.EXECUTING, ApprovalState.EXECUTED, ApprovalState.FAILED})
#: States nothing leaves.
FINAL = frozenset(
    {ApprovalState.REJECTED, ApprovalState.EXPIRED, ApprovalState.EXECUTED, ApprovalState.FAILED}
)


class OnExpiry(enum.StrEnum):
    """What happens when a pending request's deadline passes: it expires (a refusal), or
    it is handed to the caller to :func:`escalate` once, with a new deadline."""

    EXPIRE = "expire"
    ESCALATE = "escalate"


class ApprovalEvent(enum.StrEnum):
    """What an :class:`ApprovalChange` records. ``approved``: one approver said yes (the
    request is approved once ``required`` distinct people have)."""

    APPROVED = "approved"
    REJECTED = "rejected"
    ESCALATED = "escalated"
    EXPIRED = "expired"
    CLAIMED = "claimed"
    EXECUTED = "executed"
    FAILED = "failed"


# -------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What a caller asks the store to queue (:meth:`ApprovalStore.request_approval`);
    the store gives it a fresh random id and makes it a pending :class:`Approval`.

    ``binding`` is a hex digest the caller computes over the action (tool, arguments,
    agent, session); the store keeps it and :func:`claim` compares it, so an approval runs
    only the action that was approved. ``tier`` is the risk tier or approval mode the
    policy routed the request by, kept as given. ``required`` distinct people must approve
    (1, or 2 for the two-person rule); ``requester`` (who asked for the action) never
    counts. ``deadline`` None: the request waits until decided. ``summary`` is the JSON
    text of an object describing the action for the people who decide (its arguments and
    reasons, already redacted as in the audit log): shown, never executed.

    ``ValueError`` when made, unless every text is non-empty, ``binding`` is 32 to 128 hex
    digits, times are timezone-aware and ``deadline`` is after ``requested_at``.
    """

    binding: str
    policy_version: str
    agent: str
    tool: str
    tier: str
    requester: str
    requested_at: datetime
    deadline: datetime | None = None
    required: int = 1
    on_expiry: OnExpiry = OnExpiry.EXPIRE
    summary: str = "{}"

    def __post_init__(self) -> None:
        binding = self.binding.lower() if isinstance(self.binding, str) else ""
        if not _HEX.fullmatch(binding):
            raise ValueError("an approval's binding must be a hex digest (32 to 128 digits)")
        object.__setattr__(self, "binding", binding)
        for name in ("policy_version", "agent", "tool", "tier", "requester"):
            _text(getattr(self, name), name)
        requested = as_utc(self.requested_at, "requested_at")
        object.__setattr__(self, "requested_at", requested)
        if self.deadline is not None:
            deadline = as_utc(self.deadline, "deadline")
            if deadline <= requested:
                raise ValueError("an approval's deadline must be after the time it was requested")
            object.__setattr__(self, "deadline", deadline)
        if type(self.required) is not int or not 1 <= self.required <= MAX_REQUIRED:
            raise ValueError(f"an approval requires between 1 and {MAX_REQUIRED} approvers")
        object.__setattr__(self, "on_expiry", OnExpiry(self.on_expiry))
        _json_object(self.summary, "an approval's summary")
        if len(self.summary) > MAX_SUMMARY_CHARS:
            raise ValueError(f"an approval's summary is longer than {MAX_SUMMARY_CHARS} characters")


@dataclass(frozen=True, slots=True)
class Approval:
    """One request for people to approve an action, as stored.

    ``approvers`` are the distinct people who said yes, in order. ``decided_at`` is when it
    left waiting (approved, rejected or expired); ``rejected_by`` who rejected it.
    ``edited_arguments`` (JSON text of an object) replace the action's arguments when an
    approver edited them; ``comment`` is the latest comment given with a decision.
    ``escalated_at``: when it was escalated; ``claimed_at``: when it was taken for
    execution; ``executed_at``: when that execution ended (executed or failed). Times are
    UTC.
    """

    id: str
    binding: str
    policy_version: str
    agent: str
    tool: str
    tier: str
    requester: str
    requested_at: datetime
    deadline: datetime | None
    required: int
    on_expiry: OnExpiry
    summary: str = "{}"
    state: ApprovalState = ApprovalState.PENDING
    approvers: tuple[str, ...] = ()
    rejected_by: str | None = None
    edited_arguments: str | None = None
    comment: str | None = None
    decided_at: datetime | None = None
    escalated_at: datetime | None = None
    claimed_at: datetime | None = None
    executed_at: datetime | None = None

    @property
    def awaiting(self) -> bool:
        """It waits for people (pending or escalated)."""
        return self.state in AWAITING

    def overdue(self, at: datetime) -> bool:
        """It waits for people and its deadline has come (at or before ``at``)."""
        return self.awaiting and self.deadline is not None and at >= self.deadline


@dataclass(frozen=True, slots=True)
class ApprovalChange:
    """What one operation did to a request, for the audit log: the ``event``, the state
    ``before``, the request as it stands after (``approval``), when and by whom."""

    event: ApprovalEvent
    before: ApprovalState
    approval: Approval
    at: datetime
    by: str | None = None

    @property
    def after(self) -> ApprovalState:
        return self.approval.state


@dataclass(frozen=True, slots=True)
class ExpirySweep:
    """What :meth:`ApprovalStore.expire_due` did: the requests it ``expired``, and the
    overdue pending ones whose ``on_expiry`` is escalate, left pending for the caller to
    :func:`escalate` (once each: a second escalation is an invalid transition)."""

    expired: tuple[ApprovalChange, ...] = ()
    to_escalate: tuple[Approval, ...] = ()


# ------------------------------------------------------------------ the machine


def new_id() -> str:
    """A fresh request id: 128 random bits as hex, unguessable and never reused."""
    return secrets.token_hex(16)


def create(request: ApprovalRequest) -> Approval:
    """A pending :class:`Approval` for ``request``, with a fresh id."""
    return Approval(
        id=new_id(),
        binding=request.binding,
        policy_version=request.policy_version,
        agent=request.agent,
        tool=request.tool,
        tier=request.tier,
        requester=request.requester,
        requested_at=request.requested_at,
        deadline=request.deadline,
        required=request.required,
        on_expiry=request.on_expiry,
        summary=request.summary,
    )


def approve(
    current: Approval,
    approver: str,
    at: datetime,
    *,
    edited_arguments: str | None = None,
    comment: str | None = None,
) -> ApprovalChange:
    """``approver`` says yes at ``at``. Once ``required`` distinct people have, the request
    is approved (``decided_at`` is ``at``); before that it keeps waiting.

    Refused (:class:`ApprovalError`, nothing changes) when it is not waiting, its deadline
    has come, ``approver`` is the requester or has approved it already (identities compare
    ignoring case and Unicode width: ``Alice`` is ``alice``), or ``edited_arguments`` are
    given for a request needing two approvers. ``ValueError`` for an empty identity, a
    naive time or edited arguments that are not a JSON object.
    """
    _text(approver, "approver")
    at = as_utc(at, "at")
    if edited_arguments is not None:
        _json_object(edited_arguments)
    if comment is not None:
        _text(comment, "comment")
    _awaiting(current, "approved")
    if current.overdue(at):
        raise ApprovalExpired(
            f"approval {current.id} passed its deadline and can no longer be approved",
            approval_id=current.id,
            state=current.state,
        )
    if _same(approver, current.requester):
        raise SelfApproval(
            f"approval {current.id}: {approver!r} asked for the action and cannot approve it",
            approval_id=current.id,
            state=current.state,
        )
    if any(_same(approver, earlier) for earlier in current.approvers):
        raise DuplicateApprover(
            f"approval {current.id}: {approver!r} has already approved it; "
            "another person must approve",
            approval_id=current.id,
            state=current.state,
        )
    if edited_arguments is not None and current.required > 1:
        raise EditRefused(
            f"approval {current.id} needs {current.required} approvers, who must all approve "
            "the same action: reject it instead, and let the agent ask again",
            approval_id=current.id,
            state=current.state,
        )
    approvers = (*current.approvers, approver)
    done = len(approvers) >= current.required
    after = replace(
        current,
        state=ApprovalState.APPROVED if done else current.state,
        approvers=approvers,
        decided_at=at if done else None,
        edited_arguments=current.edited_arguments if edited_arguments is None else edited_arguments,
        comment=current.comment if comment is None else comment,
    )
    return ApprovalChange(ApprovalEvent.APPROVED, current.state, after, at, approver)


def reject(
    current: Approval, by: str, at: datetime, *, comment: str | None = None
) -> ApprovalChange:
    """``by`` rejects a waiting request at ``at``: it will never run. Anyone may reject,
    the requester too (withdrawing it), and even past the deadline: a refusal is safe."""
    _text(by, "by")
    at = as_utc(at, "at")
    if comment is not None:
        _text(comment, "comment")
    _awaiting(current, "rejected")
    after = replace(
        current,
        state=ApprovalState.REJECTED,
        rejected_by=by,
        decided_at=at,
        comment=current.comment if comment is None else comment,
    )
    return ApprovalChange(ApprovalEvent.REJECTED, current.state, after, at, by)


def escalate(current: Approval, new_deadline: datetime, at: datetime) -> ApprovalChange:
    """A pending request is escalated at ``at`` (usually because :func:`due` said so): it
    keeps waiting, now until ``new_deadline``, and expires when that passes. Only once: an
    escalated request cannot be escalated again. ``ValueError`` unless ``new_deadline`` is
    after ``at``."""
    at = as_utc(at, "at")
    new_deadline = as_utc(new_deadline, "new_deadline")
    if new_deadline <= at:
        raise ValueError("an escalated approval's new deadline must be after the escalation")
    if current.state is not ApprovalState.PENDING:
        raise _invalid(current, "escalated")
    after = replace(current, state=ApprovalState.ESCALATED, deadline=new_deadline, escalated_at=at)
    return ApprovalChange(ApprovalEvent.ESCALATED, current.state, after, at)


def due(current: Approval, at: datetime) -> OnExpiry | None:
    """What its deadline asks for at ``at``: expire it, hand it to escalation (pending,
    ``on_expiry`` escalate), or nothing (None: not overdue, or not waiting)."""
    if not current.overdue(as_utc(at, "at")):
        return None
    if current.state is ApprovalState.PENDING and current.on_expiry is OnExpiry.ESCALATE:
        return OnExpiry.ESCALATE
    return OnExpiry.EXPIRE


def expire(current: Approval, at: datetime) -> ApprovalChange:
    """A waiting request whose deadline has come expires: it will never run."""
    at = as_utc(at, "at")
    _awaiting(current, "expired")
    if not current.overdue(at):
        raise InvalidTransition(
            f"approval {current.id} has not reached its deadline and cannot expire yet",
            approval_id=current.id,
            state=current.state,
        )
    after = replace(current, state=ApprovalState.EXPIRED, decided_at=at)
    return ApprovalChange(ApprovalEvent.EXPIRED, current.state, after, at)


def claim(current: Approval, binding: str, at: datetime) -> ApprovalChange | None:
    """Take an approved request for execution at ``at``: it becomes executing, and the
    change (with the approval) goes to this one caller. None when it was taken before:
    an approval is used once, whoever asks next.

    :class:`BindingMismatch` (nothing changes, the approval stays usable) when ``binding``
    is not the approved action's; :class:`InvalidTransition` when it is not approved
    (waiting, rejected, expired).
    """
    at = as_utc(at, "at")
    if current.state in CONSUMED:
        return None
    if current.state is not ApprovalState.APPROVED:
        raise _invalid(current, "claimed for execution")
    given = binding.lower() if isinstance(binding, str) else ""
    if not hmac.compare_digest(given.encode(), current.binding.encode()):
        raise BindingMismatch(
            f"approval {current.id} was given for another action (tool, arguments, agent "
            "or session differ)",
            approval_id=current.id,
            state=current.state,
        )
    after = replace(current, state=ApprovalState.EXECUTING, claimed_at=at)
    return ApprovalChange(ApprovalEvent.CLAIMED, current.state, after, at)


def finish(current: Approval, ok: bool, at: datetime) -> ApprovalChange:
    """The execution of a claimed request ended at ``at``: executed (``ok``) or failed."""
    at = as_utc(at, "at")
    if current.state is not ApprovalState.EXECUTING:
        raise _invalid(current, "finished: only an executing one can be")
    state, event = (
        (ApprovalState.EXECUTED, ApprovalEvent.EXECUTED)
        if ok
        else (ApprovalState.FAILED, ApprovalEvent.FAILED)
    )
    after = replace(current, state=state, executed_at=at)
    return ApprovalChange(event, current.state, after, at)


def as_utc(moment: object, name: str = "at") -> datetime:
    """``moment`` in UTC; ``ValueError`` unless it is a timezone-aware datetime."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"`{name}` must be a timezone-aware datetime")
    return moment.astimezone(UTC)


# ------------------------------------------------------------------- helpers


def _awaiting(current: Approval, what: str) -> None:
    if current.state not in AWAITING:
        raise _invalid(current, what)


def _invalid(current: Approval, what: str) -> InvalidTransition:
    return InvalidTransition(
        f"approval {current.id} is {current.state}, so it cannot be {what}",
        approval_id=current.id,
        state=current.state,
    )


def _same(one: str, other: str) -> bool:
    """Whether two identities name one person, leniently: a lookalike spelling of the
    requester or of an earlier approver must not count as someone else."""
    return _identity(one) == _identity(other)


def _identity(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().strip()


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"`{name}` must be a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"`{name}` is not valid Unicode text") from None
    return value


def _json_object(text: object, what: str = "edited arguments") -> None:
    try:
        parsed = orjson.loads(text) if isinstance(text, str) else None
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} must be the JSON text of an object")
