"""The approval queue as a guard uses it: held actions become requests people decide.

A HOLD (from the approvals layer, a detector's ``flag_for_review``, a quality check,
``require_approval_after``) is turned into a request in the store's queue, bound to the
exact action: a keyed hash of the tool, the arguments as the agent gave them, the agent, the
session and the subject (:meth:`ApprovalQueue.binding`). Its arguments stay with the agent's
process (in the :class:`ApprovalTicket`); the store keeps only the binding and a redacted
summary for the people deciding. The same action asked again finds its request (it is not
queued twice); once approved, it runs once, re-checked against the current policy.

People approve with their own keys (``agentguard keys create --approver NAME``): the
identity comes from the key, never from the request; an agent's key is not an approver key;
the policy's ``approvers:`` limits each person to tools or tiers; nobody approves their own
request. Every change is an audit record (``agentguard.approval.*``) in the hash chain.

Example::

    try:
        agent.call("publish_post", post_id="p1")
    except ApprovalPending as pending:
        result = agent.await_approval(pending.ticket, timeout=3600)   # runs once, if approved

    guard.approvals.approve(ticket_id, key=alices_key, edit={"title": "Fixed"})
"""

from __future__ import annotations

import builtins
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import orjson

from agentguard import approval as machine
from agentguard import journal
from agentguard.approval import (
    CONSUMED,
    Approval,
    ApprovalChange,
    ApprovalError,
    ApprovalEvent,
    ApprovalRequest,
    ApprovalState,
    OnExpiry,
)
from agentguard.approval_binding import ApprovalTicket as ApprovalTicket
from agentguard.approval_binding import action_binding
from agentguard.audit import AuditEntry, control_entry
from agentguard.audit_record import RecordBuilder
from agentguard.clock import Clock
from agentguard.errors import AgentGuardError, ApprovalPending, ApprovalRefused
from agentguard.keys import authenticate
from agentguard.layers.approvals import hold_routing
from agentguard.pipeline import Action, Decision, Outcome, Reason, SignalReport, new_action_id
from agentguard.policy import LoadedPolicy
from agentguard.policy.approvals import DEFAULT_MAX_PENDING
from agentguard.store import Store

_log = logging.getLogger("agentguard.approvals")
LAYER = "approvals"
#: The largest edit an approver may make (JSON characters).
MAX_EDIT_CHARS = 64 * 1024


class ApprovalQueue:
    """The approval queue of one guard: what agents' held calls and people's decisions
    go through (``guard.approvals``)."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        policy: Callable[[], LoadedPolicy],
        records: RecordBuilder,
        append: Callable[[AuditEntry], object],
        signal: Callable[[SignalReport], object] | None = None,
        poll_interval: float = 0.05,
        max_poll_interval: float = 1.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self._records = records
        self._append = append
        self._signal = signal
        self._poll = poll_interval
        self._max_poll = max_poll_interval
        self._listeners: list[Callable[[Approval], object]] = []

    # ------------------------------------------------------------ for agents

    def binding(self, action: Action, agent: str) -> str:
        """The keyed hash an approval is bound to: tool, arguments (as the agent gave
        them), agent, session and subject. Keyed with the store's key, so the stored
        binding says nothing about the arguments."""
        return action_binding(self._store.fingerprint_key(), action, agent)

    def on_request(self, listener: Callable[[Approval], object]) -> None:
        """Call ``listener(approval)`` whenever this guard queues a new request (to page
        someone, or to drive a test); a listener that raises is logged and ignored."""
        self._listeners.append(listener)

    def hold(self, original: Action, decision: Decision) -> tuple[ApprovalTicket, Approval, Reason]:
        """Find or queue the request for a held action: the ticket, the request as it
        stands, and the reason to add to the held call's audit record."""
        action = decision.action
        routing = hold_routing(self._policy(), action, self._clock.now())
        rule = routing.rule
        binding = self.binding(original, action.agent)
        now = self._clock.now()
        self.sweep(now)
        found = self._store.find_approval(binding)
        if found is not None:
            ticket = self._ticket(found, original, rule.mode, binding)
            state = "approved" if found.state is ApprovalState.APPROVED else "still waiting"
            reason = Reason(LAYER, "approval.pending", f"approval {found.id}: {state}")
            return ticket, found, reason
        section = self._policy().model.approvals
        limit = section.max_pending if section is not None else DEFAULT_MAX_PENDING
        waiting = sum(
            len(self._store.list_approvals(state, action.agent, limit))
            for state in (ApprovalState.PENDING, ApprovalState.ESCALATED)
        )
        if waiting >= limit:
            raise ApprovalRefused(_refusal(action, "approval.queue_full",
                f"agent {action.agent!r} has {limit} requests waiting for people already "
                "(approvals.max_pending); this action is refused, not queued"))  # fmt: skip
        window = rule.deadline or timedelta(hours=24)
        spec = self._policy().model.tools.get(action.tool)
        request = ApprovalRequest(
            binding=binding,
            policy_version=self._policy().version,
            agent=action.agent,
            tool=action.tool,
            tier=str(spec.risk) if spec is not None else "medium",
            requester=action.agent,
            requested_at=now,
            deadline=now + window,
            required=2 if rule.two_person else 1,
            on_expiry=OnExpiry.ESCALATE if rule.on_expiry == "escalate" else OnExpiry.EXPIRE,
            summary=self._summary(decision, rule.mode),
        )
        queued = self._store.request_approval(request)
        for listener in list(self._listeners):
            try:
                listener(queued)
            except Exception as exc:
                _log.error("an approval listener failed (%s)", type(exc).__name__)
        people = "two people" if rule.two_person else "a person"
        reason = Reason(
            LAYER,
            "approval.requested",
            f"approval {queued.id} requested: {people} must approve ({rule.mode}) by "
            f"{_iso(queued.deadline)}",
        )
        return self._ticket(queued, original, rule.mode, binding), queued, reason

    def withdraw(self, approval_id: str) -> None:
        """Reject a request nobody could see decided (its held record was not written):
        it must never run unaudited."""
        try:
            change = self._store.reject(
                approval_id, "agentguard", self._clock.now(), comment="its audit record failed"
            )
        except (ApprovalError, AgentGuardError):
            return
        try:
            self._record(change)
        except Exception as exc:
            _log.error("the withdrawal of approval %s was not audited (%s)", approval_id,
                       type(exc).__name__)  # fmt: skip

    def status(self, ticket: ApprovalTicket | str) -> Approval:
        """The request as it stands now (after expiring what is overdue)."""
        ident = ticket.id if isinstance(ticket, ApprovalTicket) else ticket
        self.sweep()
        found = self._store.get_approval(ident)
        if found is None:
            raise ApprovalRefused(_refusal(None, "approval.not_found",
                                           f"there is no approval request {ident!r}"))  # fmt: skip
        return found

    def poll(self, ticket: ApprovalTicket, timeout: float | None) -> Approval:
        """Wait (up to ``timeout`` seconds of real time; None: until its deadline) for
        people to decide ``ticket``; the approved request, or raise: ApprovalRefused when
        rejected or expired, ApprovalPending when still waiting at ``timeout``."""
        give_up = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        pause = self._poll
        while True:
            current = self.status(ticket)
            if not current.awaiting:
                return self._settled(ticket, current)
            if give_up is not None and time.monotonic() >= give_up:
                raise ApprovalPending(_pending(ticket, current), ticket)
            time.sleep(pause if give_up is None else min(pause, max(give_up - time.monotonic(), 0)))
            pause = min(pause * 2, self._max_poll)

    async def apoll(self, ticket: ApprovalTicket, timeout: float | None) -> Approval:
        """The async twin of :meth:`poll`: the store is read in a thread."""
        import asyncio

        give_up = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        pause = self._poll
        while True:
            current = await asyncio.to_thread(self.status, ticket)
            if not current.awaiting:
                return self._settled(ticket, current)
            if give_up is not None and time.monotonic() >= give_up:
                raise ApprovalPending(_pending(ticket, current), ticket)
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._max_poll)

    def claim(self, ticket: ApprovalTicket, current: Approval) -> Action:
        """Take an approved request for execution (once, whoever asks next): the action to
        run, with the approver's edits applied and the claimed approval on it. Refused
        (ApprovalRefused) when the ticket's arguments changed since it was asked, when
        the current policy asks more people than approved it, or when it was used."""
        action = ticket.action
        if not hmac.compare_digest(self.binding(action, ticket.agent), current.binding):
            raise ApprovalRefused(_refusal(action, "approval.binding_mismatch",
                f"approval {current.id} was given for another action: the arguments, agent "
                "or session differ"))  # fmt: skip
        routing = hold_routing(
            self._policy(), action.with_changes(agent=ticket.agent), self._clock.now()
        )
        needed = 2 if routing.rule.two_person else 1
        if len(current.approvers) < needed:
            raise ApprovalRefused(_refusal(action, "approval.policy_changed",
                f"approval {current.id} has {len(current.approvers)} approver(s); the current "
                f"policy asks {needed} for this action: ask again"))  # fmt: skip
        change = self._store.claim(current.id, current.binding, self._clock.now())
        if change is None:
            raise ApprovalRefused(_refusal(action, "approval.used",
                f"approval {current.id} has been used already: an approved action runs once"))  # fmt: skip
        self._record(change)
        args = dict(action.args)
        if change.approval.edited_arguments:
            args.update(journal.loads(change.approval.edited_arguments))
        return action.with_changes(args=args, approval=current.id, id=new_action_id())

    def check_runner(self, current: Approval, action: Action) -> None:
        """Refuse (ApprovalRefused) to run an approved request as any agent but the one it
        was approved for: the agent the evaluation resolved (from a key) must be it."""
        if action.agent != current.agent:
            raise ApprovalRefused(_refusal(action, "approval.binding_mismatch",
                f"approval {current.id} was given to agent {current.agent!r}, not to the "
                "agent running it"))  # fmt: skip

    def finish(self, approval_id: str, ok: bool) -> None:
        """The claimed request's action ran (``ok``) or failed or was refused: recorded."""
        try:
            change = self._store.finish(approval_id, ok, self._clock.now())
        except ApprovalError as exc:
            _log.error("approval %s could not be finished (%s)", approval_id, exc.code)
            return
        self._record(change)

    # ------------------------------------------------------------ for people

    def list(
        self, state: ApprovalState | str | None = None, agent: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[Approval]:  # fmt: skip
        """Requests (oldest first), after expiring what is overdue."""
        self.sweep()
        wanted = None if state is None else ApprovalState(state)
        return self._store.list_approvals(wanted, agent, limit)

    def get(self, approval_id: str) -> Approval:
        """One request (ApprovalRefused ``approval.not_found`` when there is none)."""
        return self.status(approval_id)

    def approve(
        self,
        approval_id: str,
        *,
        key: str,
        edit: Mapping[str, Any] | None = None,
        comment: str | None = None,
    ) -> Approval:
        """The person whose approver ``key`` this is approves the request, optionally
        editing top-level arguments (``edit``) and leaving a comment. Returns the request
        as it stands (approved, or still waiting for a second person)."""
        who = self.approver(key)
        edited = None
        if edit:
            if not isinstance(edit, Mapping) or not all(isinstance(k, str) for k in edit):
                raise ValueError("an edit maps argument names to their new values")
            edited = journal.dumps(dict(edit))  # exact: a Decimal comes back a Decimal
            if len(edited) > MAX_EDIT_CHARS:
                raise ValueError(f"an edit is limited to {MAX_EDIT_CHARS} characters of JSON")
        current = self.status(approval_id)
        self._may_decide(who, current)
        change = self._store.approve(
            approval_id, who, self._clock.now(), edited_arguments=edited,
            comment=self._comment(comment, current.tool),
        )  # fmt: skip
        self._record(change, edit=edit)
        return change.approval

    def reject(self, approval_id: str, *, key: str, comment: str | None = None) -> Approval:
        """The person whose approver ``key`` this is rejects the request: it never runs."""
        who = self.approver(key)
        current = self.status(approval_id)
        self._may_decide(who, current)
        change = self._store.reject(
            approval_id, who, self._clock.now(), comment=self._comment(comment, current.tool)
        )
        self._record(change)
        return change.approval

    def approver(self, key: str) -> str:
        """The person an approver key belongs to; refused (``approval.unauthorized``) for
        any other key (an agent's key included) or a person no longer under
        ``approvers:``."""
        check = authenticate(self._store, key, self._clock.now(), kind="approver")
        if check.record is None:
            raise AgentGuardError(
                f"{check.message}: approving needs an approver key (keys create --approver)",
                code="approval.unauthorized",
            )
        name = check.record.agent
        if name not in (self._policy().model.approvers or {}):
            raise AgentGuardError(
                f"{name!r} is not under approvers: in the policy, so cannot approve",
                code="approval.unauthorized",
            )
        return name

    def _comment(self, comment: str | None, tool: str) -> str | None:
        """A comment as it is kept and shown (to the agent too): PII and credentials
        redacted, like the audit log."""
        if comment is None:
            return None
        if not isinstance(comment, str):
            raise ValueError("a comment is text")
        redacted = self._records.redacted(comment, tool)
        return redacted if isinstance(redacted, str) else str(redacted)

    def _may_decide(self, who: str, current: Approval) -> None:
        spec = (self._policy().model.approvers or {})[who]
        if spec.tools is not None and not any(fnmatchcase(current.tool, p) for p in spec.tools):
            raise AgentGuardError(
                f"{who!r} may not approve tool {current.tool!r} (approvers.{who}.tools)",
                code="approval.unauthorized",
            )
        if spec.tiers is not None and current.tier not in spec.tiers:
            raise AgentGuardError(
                f"{who!r} may not approve risk tier {current.tier!r} (approvers.{who}.tiers)",
                code="approval.unauthorized",
            )

    # ---------------------------------------------------------------- upkeep

    def sweep(self, at: datetime | None = None) -> builtins.list[ApprovalChange]:
        """Expire every overdue request, escalating those whose ``on_expiry`` says so
        (once, with one more deadline of the same length); each change is audited and
        told to the alert rules as a signal ``approval_escalated`` / ``approval_expired``.
        Any process may sweep: each change is made (and recorded) by one of them."""
        now = at or self._clock.now()
        found = self._store.expire_due(now)
        done: builtins.list[ApprovalChange] = []
        for pending in found.to_escalate:
            window = (pending.deadline or now) - pending.requested_at
            try:
                change = self._store.escalate(
                    pending.id, now + max(window, timedelta(seconds=1)), now
                )
            except ApprovalError:
                continue  # escalated (or decided) by another process meanwhile
            done.append(change)
        done.extend(found.expired)
        for change in done:
            self._record(change)
            self._tell(change)
        return done

    def _tell(self, change: ApprovalChange) -> None:
        if self._signal is None:
            return
        name = f"approval_{change.event}"
        try:
            self._signal(SignalReport(name, change.at, change.approval.agent, None, "agentguard"))
        except Exception as exc:
            _log.error("alert rules could not be told of %s (%s)", name, type(exc).__name__)

    # ------------------------------------------------------------- records

    def _record(self, change: ApprovalChange, *, edit: Mapping[str, Any] | None = None) -> None:
        item = change.approval
        metadata: dict[str, Any] = {
            "approval": item.id,
            "tool": item.tool,
            "tier": item.tier,
            "from": str(change.before),
            "by": change.by,
            "approvers": list(item.approvers),
            "required": item.required,
            "deadline": _iso(item.deadline),
            "policy_version": item.policy_version,
        }
        if change.event in (ApprovalEvent.APPROVED, ApprovalEvent.REJECTED) and item.comment:
            metadata["comment"] = self._records.redacted(item.comment, item.tool)
        if edit:
            metadata["edit"] = self._records.redacted(dict(edit), item.tool)
        if change.event in (ApprovalEvent.ESCALATED, ApprovalEvent.EXPIRED):
            routing = hold_routing(
                self._policy(), Action(agent=item.agent, tool=item.tool, args={})
            )
            metadata["escalate_to"] = list(routing.rule.escalate_to)
        event = "edited" if edit else str(change.event)
        self._append(
            control_entry(
                change.at, f"approval.{event}", str(item.state), metadata, agent=item.agent
            )
        )

    def _summary(self, decision: Decision, mode: str) -> str:
        prepared = self._records.prepare(decision)
        document = {
            "mode": mode,
            "input": prepared.input,
            "session": prepared.session,
            "subject": prepared.subject,
            "reasons": [r.as_dict() for r in decision.reasons],
            "action_id": decision.action.id,
        }
        text = orjson.dumps(document, default=str).decode()
        if len(text) > machine.MAX_SUMMARY_CHARS:
            document["input"] = "(too large to show: see the audit record)"
            text = orjson.dumps(document, default=str).decode()
        return text

    def _ticket(self, item: Approval, original: Action, mode: str, binding: str) -> ApprovalTicket:
        return ApprovalTicket(
            item.id, item.agent, item.tool, mode, item.deadline, binding, original
        )

    def _settled(self, ticket: ApprovalTicket, current: Approval) -> Approval:
        if current.state is ApprovalState.APPROVED:
            return current
        action = ticket.action
        if current.state is ApprovalState.REJECTED:
            said = ""
            if current.comment:
                said = f": {self._records.redacted(current.comment, current.tool)}"
            raise ApprovalRefused(_refusal(action, "approval.rejected",
                f"approval {current.id} was rejected by {current.rejected_by}{said}"))  # fmt: skip
        if current.state is ApprovalState.EXPIRED:
            raise ApprovalRefused(_refusal(action, "approval.expired",
                f"approval {current.id} expired: nobody approved it in time"))  # fmt: skip
        if current.state in CONSUMED:
            raise ApprovalRefused(_refusal(action, "approval.used",
                f"approval {current.id} has been used already: an approved action runs once"))  # fmt: skip
        raise ApprovalRefused(
            _refusal(action, "approval.invalid", f"approval {current.id} is {current.state}")
        )


def _refusal(action: Action | None, code: str, message: str) -> Decision:
    subject = action or Action(agent="", tool="", args={})
    return Decision(Outcome.DENY, subject, (Reason(LAYER, code, message),))


def _pending(ticket: ApprovalTicket, current: Approval) -> Decision:
    return Decision(
        Outcome.HOLD,
        ticket.action,
        (Reason(LAYER, "approval.pending", f"approval {current.id} is still {current.state}"),),
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
