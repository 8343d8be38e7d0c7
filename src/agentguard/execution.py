"""How one action is carried out: evaluated, reserved in the audit log, run, its result
reviewed, recorded, observed. :class:`~agentguard.guard.Guard` holds the parts; this module
holds the path one call takes through them, sync and async.

Every call leaves exactly one audit record. The tool runs only once the store has shown it
can take that record (a reservation); when it cannot, the call raises
:class:`~agentguard.errors.StoreUnavailable` and nothing runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from agentguard.approval import Approval, ApprovalState
from agentguard.approval_queue import ApprovalQueue, ApprovalTicket
from agentguard.audit_record import PreparedRecord, RecordBuilder
from agentguard.clock import Clock
from agentguard.cost import Cost, book
from agentguard.errors import (
    AgentGuardError,
    ApprovalPending,
    AuditWriteFailed,
    ResultWithheld,
    StoreUnavailable,
    ToolNotRegistered,
    denied_error,
)
from agentguard.journal import Snapshot
from agentguard.pipeline import (
    Action,
    Decision,
    Observation,
    Outcome,
    Pipeline,
    Reason,
    ResultReview,
)
from agentguard.policy.models import ToolSpec
from agentguard.rollback import Rollback
from agentguard.store import Store
from agentguard.tools import ToolFunction

_log = logging.getLogger("agentguard.execution")


class Executor:
    """Runs actions through a pipeline, a store and the registered tools."""

    def __init__(
        self,
        *,
        pipeline: Pipeline,
        records: RecordBuilder,
        functions: Mapping[str, ToolFunction],
        store: Store,
        clock: Clock,
        tool_spec: Callable[[str], ToolSpec | None],
        stop: Callable[[Action, Sequence[Reason]], None],
        after_append: Callable[[int, str], object] | None = None,
        approvals: ApprovalQueue | None = None,
        rollback: Rollback | None = None,
    ) -> None:
        #: replaced by the guard when it rebuilds its pipeline
        self.pipeline = pipeline
        self._records = records
        #: replaced by the guard when a tool is registered (as are pipeline and tool_spec)
        self.functions = functions
        self._store = store
        self._clock = clock
        self.tool_spec = tool_spec
        self._stop = stop
        self._after_append = after_append
        #: where held actions wait for people (None: a hold is a plain refusal)
        self.approvals = approvals
        #: journals reversible actions (None: nothing is journaled)
        self.rollback = rollback

    def execute(self, action: Action) -> Any:
        """Evaluate ``action``; run the tool if allowed; check its result; audit; return the
        result (as the agent may see it) or raise.

        Every call leaves exactly one audit record. The tool runs only once the store has
        shown it can take that record (a reservation); when it cannot, the call raises
        :class:`~agentguard.errors.StoreUnavailable` and nothing runs. A held action becomes
        an approval request (see :mod:`agentguard.approval_queue`): a review raises
        :class:`~agentguard.errors.ApprovalPending`, a required approval waits here.
        """
        if action.approval is not None:  # only the guard sets it, after a claim
            action = action.with_changes(approval=None)
        started = time.perf_counter_ns()
        timestamp = self._clock.now()
        decision = self.evaluate(action)
        if decision.held and self.approvals is not None:
            ticket, current = self.hold(action, decision, timestamp, started)
            if current.state is ApprovalState.APPROVED:
                return self.run_approved(ticket, current)
            if ticket.mode != "required":
                raise ApprovalPending(decision, ticket)
            return self.run_approved(ticket, self.approvals.poll(ticket, None))
        return self._carry_out(decision, timestamp, started)

    def await_approval(self, ticket: ApprovalTicket, timeout: float | None) -> Any:
        """Wait for people to decide ``ticket``, then run its action once (see
        :meth:`~agentguard.agent.AgentHandle.await_approval`)."""
        queue = self._queue()
        return self.run_approved(ticket, queue.poll(ticket, timeout))

    def run_approved(self, ticket: ApprovalTicket, current: Approval) -> Any:
        """Claim the approved request and run its action through the whole pipeline again
        (current policy, kill switch, limits): once, whoever asks next."""
        queue = self._queue()
        action = queue.claim(ticket, current)
        ok = False
        try:
            started = time.perf_counter_ns()
            timestamp = self._clock.now()
            decision = self.evaluate(action)
            queue.check_runner(current, decision.action)
            result = self._carry_out(decision, timestamp, started)
            ok = True
            return result
        finally:
            queue.finish(current.id, ok)

    def _carry_out(self, decision: Decision, timestamp: Any, started: int) -> Any:
        function, prepared = self._admit(decision, timestamp, started)
        snapshot = self._snapshot(decision, timestamp, started, prepared)
        if function.is_async:
            self._audit(
                decision, timestamp, started, "failed", error="async tool called sync",
                prepared=prepared,
            )  # fmt: skip
            raise TypeError(
                f"tool {function.name!r} is async; call it with `await agent.acall(...)`"
            )
        try:
            result = function.func(**decision.action.args)
        except BaseException as exc:
            self._audit(
                decision, timestamp, started, "failed", error=exc, prepared=prepared,
                cost=self._estimate(decision),
            )  # fmt: skip
            raise
        self._journal(decision.action, result, snapshot)
        return self._deliver(decision, timestamp, started, result, prepared)

    async def aexecute(self, action: Action, *, wait_for_approval: bool = True) -> Any:
        """The async twin of :meth:`execute`: store work runs in a thread, async tools are
        awaited, sync tools run in a thread. ``wait_for_approval=False``: a ``required``
        approval raises ApprovalPending at once, like a review (a server answering over
        HTTP must not hold the request open for the approval's whole timeout)."""
        if action.approval is not None:
            action = action.with_changes(approval=None)
        started = time.perf_counter_ns()
        timestamp = self._clock.now()
        decision = await asyncio.to_thread(self.evaluate, action)
        if decision.held and self.approvals is not None:
            ticket, current = await asyncio.to_thread(
                self.hold, action, decision, timestamp, started
            )
            if current.state is not ApprovalState.APPROVED:
                if ticket.mode != "required" or not wait_for_approval:
                    raise ApprovalPending(decision, ticket)
                current = await self.approvals.apoll(ticket, None)
            return await self.arun_approved(ticket, current)
        return await self._acarry_out(decision, timestamp, started)

    async def aawait_approval(self, ticket: ApprovalTicket, timeout: float | None) -> Any:
        """The async twin of :meth:`await_approval`."""
        current = await self._queue().apoll(ticket, timeout)
        return await self.arun_approved(ticket, current)

    async def arun_approved(self, ticket: ApprovalTicket, current: Approval) -> Any:
        """The async twin of :meth:`run_approved`."""
        queue = self._queue()
        action = await asyncio.to_thread(queue.claim, ticket, current)
        ok = False
        try:
            started = time.perf_counter_ns()
            timestamp = self._clock.now()
            decision = await asyncio.to_thread(self.evaluate, action)
            queue.check_runner(current, decision.action)
            result = await self._acarry_out(decision, timestamp, started)
            ok = True
            return result
        finally:
            await asyncio.to_thread(queue.finish, current.id, ok)

    async def _acarry_out(self, decision: Decision, timestamp: Any, started: int) -> Any:
        function, prepared = await asyncio.to_thread(self._admit, decision, timestamp, started)
        snapshot = await asyncio.to_thread(self._snapshot, decision, timestamp, started, prepared)
        try:
            if function.is_async:
                result = await function.func(**decision.action.args)
            else:
                result = await asyncio.to_thread(function.func, **decision.action.args)
        except BaseException as exc:  # cancellation too: the record says the call failed
            await asyncio.to_thread(
                functools.partial(
                    self._audit, decision, timestamp, started, "failed", error=exc,
                    prepared=prepared, cost=self._estimate(decision),
                )
            )  # fmt: skip
            raise
        await asyncio.to_thread(self._journal, decision.action, result, snapshot)
        return await asyncio.to_thread(
            self._deliver, decision, timestamp, started, result, prepared
        )

    def _snapshot(
        self, decision: Decision, timestamp: Any, started: int, prepared: PreparedRecord
    ) -> Snapshot | None:
        """The state a ``snapshot:`` tool captures before the action; when it cannot be
        captured, the action is recorded as denied and not run (it could not be undone)."""
        if self.rollback is None:
            return None
        try:
            return self.rollback.before(decision.action)
        except AgentGuardError as exc:
            refused = Decision(
                Outcome.DENY,
                decision.action,
                (*decision.reasons, Reason("rollback", exc.code, exc.message)),
                decision.timings_ns,
            )
            self._audit(refused, timestamp, started, "denied", prepared=prepared)
            raise

    def _journal(self, action: Action, result: Any, snapshot: Snapshot | None) -> None:
        """Journal an executed action of a reversible tool, before its record is written
        (an action that ran stays undoable even when its record fails). The action has
        run: when the journal cannot take it, that is logged, not raised."""
        if self.rollback is None:
            return
        try:
            self.rollback.after(action, result, snapshot)
        except AgentGuardError as exc:
            _log.error("%s", exc.message)

    def _queue(self) -> ApprovalQueue:
        if self.approvals is None:
            raise AgentGuardError("this guard has no approval queue", code="approval.disabled")
        return self.approvals

    def hold(
        self, action: Action, decision: Decision, timestamp: Any, started: int
    ) -> tuple[ApprovalTicket, Approval]:
        """Turn a held decision into a request (or find the one asked before) and write
        the held call's record, which names the request. When the queue cannot be
        reached, the held call is still recorded and the error raised: nothing runs."""
        queue = self._queue()
        try:
            ticket, current, reason = queue.hold(action, decision)
        except Exception:
            with contextlib.suppress(AgentGuardError):
                self._audit(decision, timestamp, started, "held")
            raise
        held = Decision(
            Outcome.HOLD, decision.action, (*decision.reasons, reason), decision.timings_ns
        )
        try:
            self._audit(held, timestamp, started, "held")
        except BaseException:
            if reason.code == "approval.requested":
                queue.withdraw(current.id)  # never a request without its record
            raise
        return ticket, current

    def _estimate(self, decision: Decision) -> Decimal | None:
        """The policy's cost of a call that ran and failed: booked against budgets as it
        was reserved (the call may well have cost money), so the record says it too."""
        spec = self.tool_spec(decision.action.tool)
        return spec.cost if spec is not None else None

    def evaluate(self, action: Action) -> Decision:
        """The pipeline's decision, with names that must not be echoed taken out of it."""
        return self._records.scrub(self.pipeline.evaluate(action))

    def _admit(
        self, decision: Decision, timestamp: Any, started: int
    ) -> tuple[ToolFunction, PreparedRecord]:
        """The function to run for an allowed decision, once its record is reserved;
        otherwise audit and raise."""
        self._refuse_unless_allowed(decision, timestamp, started)
        prepared = self._records.prepare(decision)
        function = self.functions.get(decision.action.tool)
        if function is None:
            self._audit(
                decision, timestamp, started, "failed", error="no implementation",
                prepared=prepared,
            )  # fmt: skip
            raise ToolNotRegistered(
                f"tool {prepared.tool!r} is allowed but has no registered implementation; "
                "register it with @guard.tool()"
            )
        self._reserve(decision, timestamp, started, prepared)
        return function, prepared

    def admit_remote(self, decision: Decision, timestamp: Any, started: int) -> PreparedRecord:
        """For a tool the agent runs itself (the gateway's ``/v1/check``): refuse (audited)
        unless allowed, then reserve its record; :meth:`deliver_remote` or
        :meth:`fail_remote` writes it."""
        self._refuse_unless_allowed(decision, timestamp, started)
        prepared = self._records.prepare(decision)
        self._reserve(decision, timestamp, started, prepared)
        return prepared

    def deliver_remote(
        self, decision: Decision, timestamp: Any, started: int, result: Any,
        prepared: PreparedRecord,
    ) -> Any:  # fmt: skip
        """The result of a tool the agent ran itself: result layers, record; the result
        as the agent may see it (or ResultWithheld)."""
        return self._deliver(decision, timestamp, started, result, prepared)

    def fail_remote(
        self, decision: Decision, timestamp: Any, started: int, error: str,
        prepared: PreparedRecord,
    ) -> None:  # fmt: skip
        """A tool the agent ran itself failed (``error``: what it says, redacted here)."""
        self._audit(
            decision, timestamp, started, "failed", error=error, prepared=prepared,
            cost=self._estimate(decision),
        )  # fmt: skip

    def _refuse_unless_allowed(self, decision: Decision, timestamp: Any, started: int) -> None:
        if decision.allowed:
            return
        stop_failed: StoreUnavailable | None = None
        if decision.stop_agent:
            try:
                self._stop(decision.action, decision.reasons)
            except StoreUnavailable as exc:  # still audit the denial, then say so
                stop_failed = exc
        status = "held" if decision.held else "denied"
        self._audit(decision, timestamp, started, status)
        if stop_failed is not None:
            raise stop_failed
        raise denied_error(decision)

    def _reserve(
        self, decision: Decision, timestamp: Any, started: int, prepared: PreparedRecord
    ) -> None:
        try:
            self._store.reserve(
                decision.action.id,
                prepared.estimated_size(),
                timestamp,
                agent=prepared.agent,
                tool=prepared.tool,
            )
        except Exception as exc:
            problem = exc.message if isinstance(exc, AgentGuardError) else type(exc).__name__
            refused = Decision(
                Outcome.DENY,
                decision.action,
                (
                    *decision.reasons,
                    Reason(
                        "audit",
                        "store.unavailable",
                        f"the audit log cannot take this action's record ({problem}); "
                        "the tool was not run",
                    ),
                ),
                decision.timings_ns,
            )
            with contextlib.suppress(AgentGuardError):  # the store is likely down for this too
                self._audit(refused, timestamp, started, "denied", prepared=prepared)
            raise StoreUnavailable(
                f"tool {prepared.tool!r} was not run: the store cannot take its audit record "
                f"({problem})"
            ) from None

    def _deliver(
        self,
        decision: Decision,
        timestamp: Any,
        started: int,
        result: Any,
        prepared: PreparedRecord,
    ) -> Any:
        """Pass the result through the result layers, audit it, and return it or raise.
        A :class:`~agentguard.cost.Cost` is unwrapped: its cost is booked, its result goes
        on."""
        spec = self.tool_spec(decision.action.tool)
        reported = result if isinstance(result, Cost) else None
        if reported is not None:
            result = reported.result
        cost = book(reported, spec.cost if spec else None, spec.price if spec else None).amount
        review: ResultReview = self.pipeline.review_result(decision.action, result)
        if review.withheld:
            if review.stop_agent:
                self._stop(decision.action, review.reasons)
            withheld = self._records.scrub(
                Decision(
                    Outcome.DENY,
                    decision.action,
                    decision.reasons + review.reasons,
                    decision.timings_ns,
                )
            )
            self._audit(
                withheld, timestamp, started, "withheld", output=result, prepared=prepared,
                cost=cost,
            )  # fmt: skip
            raise ResultWithheld(withheld)
        if review.reasons:
            decision = self._records.scrub(
                Decision(
                    decision.outcome,
                    decision.action,
                    decision.reasons + review.reasons,
                    decision.timings_ns,
                )
            )
        self._audit(
            decision, timestamp, started, "executed", output=review.result, prepared=prepared,
            cost=cost,
        )  # fmt: skip
        return review.result

    def _audit(
        self,
        decision: Decision,
        timestamp: Any,
        started_ns: int,
        status: str,
        *,
        output: Any = None,
        error: BaseException | str | None = None,
        prepared: PreparedRecord | None = None,
        cost: Decimal | None = None,
    ) -> None:
        """Write the one record of this action (``cost``: what the call cost, when it ran).
        Raises :class:`StoreUnavailable` (or, once the tool has run,
        :class:`AuditWriteFailed`) when it cannot be committed."""
        entry = self._records.build(
            decision,
            timestamp,
            started_ns,
            status,
            output=output,
            error=error,
            cost=cost,
            prepared=prepared,
        )
        try:
            record = self._store.append(entry)
        except Exception as exc:
            problem = exc.message if isinstance(exc, AgentGuardError) else type(exc).__name__
            if status in ("executed", "withheld", "failed") and prepared is not None:
                raise AuditWriteFailed(
                    f"tool {entry.action!r} ran, but its audit record could not be committed "
                    f"({problem}); the result is withheld"
                ) from None
            if isinstance(exc, StoreUnavailable):
                raise
            raise StoreUnavailable(f"the audit record could not be committed ({problem})") from None
        finally:
            # Whether or not the record could be written, the observers learn what happened
            # (a tool that ran counts against its limits either way).
            error_type = None
            if isinstance(error, BaseException):
                error_type = type(error).__name__
            elif error is not None:
                error_type = error
            self.pipeline.observe(
                Observation(
                    action=decision.action,
                    decision=decision,
                    status=status,
                    at=timestamp,
                    duration_ms=entry.duration_ms or 0.0,
                    cost=cost,
                    error_type=error_type,
                )
            )
        if self._after_append is not None:
            self._after_append(record.seq, record.hash)  # never raises
