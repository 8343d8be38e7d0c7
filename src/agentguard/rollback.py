"""Rollback: undo what an agent did, newest action first.

A tool is reversible when the policy gives it ``undo:`` (a compensating tool) or
``snapshot:`` (state captured before each call, and a tool that puts it back). Around each
executed call the guard asks :meth:`Rollback.before` for the snapshot (when it fails, the
action does not run) and :meth:`Rollback.after` to write a journal entry of what the undo
will need (see :mod:`agentguard.journal`). Other tools cost a dictionary lookup.

:meth:`Rollback.plan` lists what a rollback of one action, a session, or an agent's recent
actions would undo, and the executed actions in scope it cannot undo; :meth:`Rollback.run`
undoes the plan's entries newest first. Each undo claims its entry first (one caller wins,
so nothing is undone twice, whoever else is rolling back), calls the compensating function
directly (not through the agent's pipeline: the agent is often stopped when it is rolled
back) and leaves one audit record, ``agentguard.rollback.undo``. The first undo that fails
stops the run, as does an entry another caller is still undoing (what is older waits for
it): the report names what was undone, what failed or was busy, and what remains.

Example::

    rollback = rollback_for(guard)
    plan = rollback.plan(agent="support_bot", since=timedelta(hours=1))
    print(rollback.run(plan, by="alice", dry_run=True).as_text())   # nothing changes
    report = rollback.run(plan, by="alice")

    with rollback.transaction():        # undone, newest first, if the block raises
        agent.call("create_post", title="Launch")
        agent.call("process_refund", order_id="o1", amount=Decimal("12.50"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentguard import transaction
from agentguard.audit import AuditEntry, control_entry
from agentguard.audit_record import RecordBuilder
from agentguard.clock import Clock
from agentguard.compensation import (
    Compensation,
    call,
    compensation,
    needed_args,
    needs_result,
)
from agentguard.cost import Cost
from agentguard.errors import AgentGuardError
from agentguard.journal import JournalEntry, JournalState, Snapshot, UndoKind, dumps
from agentguard.masking import mask, sensitive_values
from agentguard.pipeline import Action
from agentguard.policy import LoadedPolicy
from agentguard.recordable import describe_error, recordable
from agentguard.rollback_report import (
    IRREVERSIBLE,
    NO_UNDO,
    IrreversibleAction,
    RollbackPlan,
    RollbackReport,
    UndoFailure,
    cannot_undo,
)
from agentguard.store import Store
from agentguard.store.base import AuditQuery
from agentguard.tools import BindError, ToolFunction
from agentguard.transaction import Transaction
from agentguard.values import plain

if TYPE_CHECKING:
    from agentguard.guard import Guard

__all__ = [
    "IrreversibleAction",
    "JournalEntry",
    "Rollback",
    "RollbackPlan",
    "RollbackReport",
    "Snapshot",
    "Transaction",
    "UndoFailure",
    "rollback_for",
]


class Rollback:
    """The rollback engine of one guard (see the module docstring): ``policy`` and
    ``functions`` are read at each call, so a reloaded policy or a newly registered tool
    counts; ``append`` writes an audit record."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        policy: Callable[[], LoadedPolicy],
        functions: Callable[[], Mapping[str, ToolFunction]],
        records: RecordBuilder,
        append: Callable[[AuditEntry], object],
    ) -> None:
        self._store = store
        self._clock = clock
        self._policy = policy
        self._functions = functions
        self._records = records
        self._append = append

    # ------------------------------------------------------- around a call

    def before(self, action: Action) -> Snapshot | None:
        """For a tool with ``snapshot:``, call its snapshot tool with the action's
        arguments and return the state; None for every other tool. Raises
        :class:`AgentGuardError` ``rollback.snapshot_failed`` when the snapshot tool is not
        registered, fails, or returns what the journal cannot keep: the action must then
        not run."""
        spec = self._policy().model.tools.get(action.tool)
        if spec is None or spec.snapshot is None:
            return None
        name = spec.snapshot.tool
        function = self._functions().get(name)
        if function is None:
            raise _snapshot_failed(action.tool, name, "has no registered implementation")
        try:
            state = call(function, function.bind(dict(action.args)))
        except BindError as exc:  # its problems name arguments, never values
            raise _snapshot_failed(
                action.tool, name, f"does not fit its arguments ({exc})"
            ) from None
        except AgentGuardError as exc:
            raise _snapshot_failed(action.tool, name, f"could not run ({exc.message})") from None
        except Exception as exc:
            raise _snapshot_failed(action.tool, name, f"failed ({type(exc).__name__})") from None
        try:
            dumps(state)  # the journal must be able to keep it, or the action is not undoable
        except ValueError as exc:
            raise _snapshot_failed(action.tool, name, f"returned {exc}") from None
        return Snapshot(name, state)

    def after(self, action: Action, result: Any, snapshot: Snapshot | None) -> JournalEntry | None:
        """An action of a reversible tool was executed: write its journal entry (the
        original arguments, and the result when the undo reads it, for ``undo:``; the
        arguments and ``snapshot``'s state for ``snapshot:``) and add it to the current
        :meth:`transaction`. Other tools: nothing is written (an irreversible one is noted
        in the current transaction). Raises ``rollback.journal_failed`` when the entry
        cannot be written: the action ran and cannot be rolled back."""
        spec = self._policy().model.tools.get(action.tool)
        if spec is None or not spec.reversible:
            current = transaction.current()
            if current is not None:
                why = IRREVERSIBLE if spec is not None and spec.irreversible else NO_UNDO
                current._note(IrreversibleAction(action.id, action.tool, action.agent, None, why))
            return None
        if isinstance(result, Cost):
            result = result.result
        if spec.snapshot is not None:
            if snapshot is None:
                raise _journal_failed(action.tool, "it ran without a snapshot")
            kind, undo_tool, kept, state = UndoKind.SNAPSHOT, spec.snapshot.restore, None, snapshot
        else:
            undo = spec.undo_spec
            assert undo is not None  # reversible without a snapshot
            if not needs_result(action.tool, self._policy(), self._functions()):
                result = None  # the journal keeps only what the undo reads
            kind, undo_tool, kept, state = UndoKind.UNDO, undo.tool, plain(result), None
        entry = JournalEntry(
            action_id=action.id,
            agent=action.agent,
            tool=action.tool,
            at=self._clock.now(),
            kind=kind,
            undo_tool=undo_tool,
            session=action.session,
            args=needed_args(action.tool, dict(action.args), self._policy(), self._functions()),
            result=kept,
            snapshot=None if state is None else state.state,
        )
        try:
            self._store.journal_add(entry)
        except ValueError as exc:
            raise _journal_failed(action.tool, str(exc)) from None
        current = transaction.current()
        if current is not None:
            current._add(entry)
        return entry

    # ---------------------------------------------------------- rolling back

    def plan(
        self,
        *,
        action: str | None = None,
        session: str | None = None,
        agent: str | None = None,
        since: timedelta | datetime | None = None,
    ) -> RollbackPlan:
        """What a rollback of exactly one of ``action`` (an action id), ``session`` or
        ``agent`` would undo, newest first, and the executed actions in scope it cannot
        undo. ``agent`` needs ``since`` (a duration back from now, or a moment);
        ``session`` may take it. ``ValueError`` for any other combination.

        Entries come from the journal; the actions it cannot undo from the audit log, whose
        records keep the session as recorded (masked or redacted when it held a secret), so
        for such a session only the journal's entries are found."""
        chosen = [n for n, v in (("action", action), ("session", session), ("agent", agent)) if v]
        if len(chosen) != 1:
            raise ValueError(
                "say what to roll back: exactly one of an action id, a session, or an agent "
                f"(with since); got {', '.join(chosen) if chosen else 'none'}"
            )
        if agent and since is None:
            raise ValueError("rolling back an agent needs since: how far back (such as 1h)")
        if action and since is not None:
            raise ValueError("since does not apply to one action")
        start = self._start(since)
        found = self._store.journal_list(action=action, session=session, agent=agent, since=start)
        by_state: dict[JournalState, list[JournalEntry]] = {s: [] for s in JournalState}
        for entry in reversed(found):  # newest first
            by_state[entry.state].append(entry)
        known = {entry.action_id for entry in found}
        scope = f"action {action}" if action else f"session {session!r}" if session else ""
        scope = scope or f"agent {agent!r}"
        if start is not None:
            scope += f" since {start.isoformat().replace('+00:00', 'Z')}"
        return RollbackPlan(
            scope=scope,
            entries=tuple(by_state[JournalState.DONE]),
            irreversible=self._unjournaled(action, session, agent, start, known),
            in_progress=tuple(by_state[JournalState.UNDOING]),
            already_undone=tuple(by_state[JournalState.UNDONE]),
        )

    def run(self, plan: RollbackPlan, *, by: str | None, dry_run: bool = False) -> RollbackReport:
        """Undo the plan's entries newest first. Each is claimed first: one undone (or being
        undone) by someone else is skipped, so running a plan twice undoes nothing twice;
        one another caller is undoing stops the run (``busy``), since what is older must
        wait for it. The first undo that fails stops the run; its entry goes back to
        ``done``. ``dry_run``: nothing is called or changed. ``by`` (a person or process)
        goes in the records. The store failing raises :class:`StoreUnavailable`; an entry
        then being undone stays ``undoing`` (see :meth:`release`)."""
        if dry_run:
            return RollbackReport(plan, by, dry_run=True)
        # what another caller was undoing when planned keeps its place in the order
        order = sorted((*plan.entries, *plan.in_progress), key=_newest, reverse=True)
        undone: list[JournalEntry] = []
        skipped: list[JournalEntry] = []
        for index, entry in enumerate(order):
            claimed, latest = self._claim(entry)
            if claimed is None and latest.state is JournalState.UNDONE:
                skipped.append(latest)
                continue
            failure = None
            if claimed is not None:
                latest, failure = self._undo(claimed, by)
                if failure is None:
                    undone.append(latest)
                    continue
            return RollbackReport(
                plan, by, undone=tuple(undone), skipped=tuple(skipped), failed=failure,
                busy=latest if failure is None else None, remaining=tuple(order[index + 1 :]),
            )  # fmt: skip
        return RollbackReport(plan, by, undone=tuple(undone), skipped=tuple(skipped))

    def release(self, action_id: str, *, by: str | None) -> bool:
        """Put an entry left ``undoing`` by an interrupted undo (a crash, a lost store)
        back to ``done``, so a rollback can try it again; audited. Only when no one is
        still undoing it: its undo may otherwise run twice. False if it was not
        ``undoing``."""
        entry = self._store.journal_get(action_id)
        note = f"released by {by}" if by else "released"
        released = self._store.journal_finish(action_id, False, self._clock.now(), note=note)
        if entry is None or released is None:
            return False
        self._record(entry, by, "released", None, event="release")
        return True

    def transaction(self) -> Transaction:
        """A block whose reversible actions are undone, newest first, if it raises; see
        :class:`Transaction`."""
        return Transaction(lambda plan: self.run(plan, by="transaction"))

    # ------------------------------------------------------------ internals

    def _start(self, since: timedelta | datetime | None) -> datetime | None:
        if since is None:
            return None
        if isinstance(since, timedelta):
            if since <= timedelta(0):
                raise ValueError("since must be a positive duration")
            return self._clock.now() - since
        if not isinstance(since, datetime) or since.utcoffset() is None:
            raise ValueError("since is a duration or a timezone-aware datetime")
        return since

    def _unjournaled(
        self,
        action: str | None,
        session: str | None,
        agent: str | None,
        start: datetime | None,
        known: set[str],
    ) -> tuple[IrreversibleAction, ...]:
        if action and known:
            return ()  # a journaled action needs no search: its tool is reversible
        records = self._store.search(AuditQuery(agent=agent, since=start, newest_first=True))
        tools = self._policy().model.tools
        return cannot_undo(records, tools, action=action, session=session, known=known)

    def _claim(self, entry: JournalEntry) -> tuple[JournalEntry | None, JournalEntry]:
        """The claimed entry, or None and the entry as it stands: ``undone`` (skip it) or
        being undone by another caller (busy: stop)."""
        latest = entry
        for _ in range(2):  # once more when it went back to done meanwhile (a failed undo)
            claimed = self._store.journal_claim(entry.action_id, self._clock.now())
            if claimed is not None:
                return claimed, claimed
            found = self._store.journal_get(entry.action_id)
            if found is None:  # gone from the journal: nothing left to undo
                return None, replace(latest, state=JournalState.UNDONE)
            latest = found
            if latest.state is not JournalState.DONE:
                return None, latest
        return None, replace(latest, state=JournalState.UNDOING)  # lost twice: contended

    def _undo(self, entry: JournalEntry, by: str | None) -> tuple[JournalEntry, UndoFailure | None]:
        """Call the compensation of a claimed entry, finish it and audit it."""
        undo: Compensation | None = None
        try:
            undo = compensation(entry, self._policy(), self._functions(), now=self._clock.now())
            call(undo.function, undo.args)
        except BaseException as exc:
            kind = type(exc).__name__
            failed = self._store.journal_finish(
                entry.action_id, False, self._clock.now(), note=kind
            )
            self._record(entry, by, "failed", undo, error=kind)
            if not isinstance(exc, Exception):
                raise  # Ctrl-C: the entry is back to done, the record written
            message = exc.message if isinstance(exc, AgentGuardError) else self._safe(exc, entry)
            return failed or entry, UndoFailure(failed or entry, kind, message)
        finished = self._store.journal_finish(entry.action_id, True, self._clock.now())
        self._record(entry, by, "undone", undo)
        return finished or entry, None

    def _record(
        self,
        entry: JournalEntry,
        by: str | None,
        status: str,
        undo: Compensation | None,
        *,
        error: str | None = None,
        event: str = "undo",
    ) -> None:
        # the restore's snapshot= is the raw captured state: recorded by name only
        args = {k: v for k, v in (undo.args if undo else entry.args).items() if k != "snapshot"}
        metadata: dict[str, Any] = {
            "action": entry.action_id,
            "tool": entry.tool,
            "undo_tool": entry.undo_tool,
            "kind": str(entry.kind),
            "by": by,
            "args": self._redacted(args, entry),
        }
        if error is not None:
            metadata["error"] = error
        self._append(
            control_entry(
                self._clock.now(),
                f"rollback.{event}",
                status,
                metadata,
                agent=self._records.name(entry.agent, kind="agent"),
            )
        )

    def _redacted(self, value: Any, entry: JournalEntry) -> Any:
        """``value`` as an audit record may keep it: both tools' ``sensitive`` fields masked
        and the original action's sensitive values cut out of every string, then redacted."""
        tools = self._policy().model.tools
        fields = frozenset(
            name for tool in (entry.tool, entry.undo_tool) if (spec := tools.get(tool))
            for name in spec.sensitive
        )  # fmt: skip
        secrets = sensitive_values(recordable(dict(entry.args)), fields)
        return self._records.redacted(mask(recordable(value), fields, secrets))

    def _safe(self, exc: BaseException, entry: JournalEntry) -> str:
        return str(self._redacted(describe_error(exc), entry))


def rollback_for(guard: Guard) -> Rollback:
    """The rollback engine of a guard (the one its calls journal into)."""
    return guard._rollback


def _newest(entry: JournalEntry) -> tuple[datetime, int]:
    return entry.at, entry.seq


def _snapshot_failed(tool: str, snapshot: str, what: str) -> AgentGuardError:
    return AgentGuardError(
        f"tool {tool!r} was not run: its snapshot tool {snapshot!r} {what}, so the action "
        "could not be undone",
        code="rollback.snapshot_failed",
    )


def _journal_failed(tool: str, why: str) -> AgentGuardError:
    return AgentGuardError(
        f"tool {tool!r} ran but cannot be rolled back: its journal entry was not written ({why})",
        code="rollback.journal_failed",
    )
