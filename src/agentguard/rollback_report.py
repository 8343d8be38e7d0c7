"""What a rollback would do and what it did: :class:`RollbackPlan` and
:class:`RollbackReport`, as values with their text lines (for the CLI) and ``as_dict()``
(for ``--json``). They name actions, tools, agents and times, never argument values or
results: a report may be printed, logged or attached to an exception.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentguard.audit import AuditRecord
from agentguard.journal import JournalEntry
from agentguard.policy.models import ToolSpec

#: why an executed action in scope cannot be undone
IRREVERSIBLE = "irreversible"
NO_UNDO = "no undo/snapshot"
NOT_JOURNALED = "not in the rollback journal"


@dataclass(frozen=True, slots=True)
class IrreversibleAction:
    """An executed action in a rollback's scope that the rollback cannot undo: its tool is
    ``irreversible: true`` (:data:`IRREVERSIBLE`), has neither ``undo`` nor ``snapshot``
    (:data:`NO_UNDO`), or is reversible but left no journal entry (:data:`NOT_JOURNALED`:
    it ran before journaling, or its entry could not be written)."""

    action_id: str
    tool: str
    agent: str | None
    at: datetime | None
    why: str

    def line(self) -> str:
        """``cannot undo: <tool> (action <id>): <why>``."""
        return f"cannot undo: {self.tool} (action {self.action_id}): {self.why}"

    def as_dict(self) -> dict[str, Any]:
        """The action as JSON-ready values."""
        return {
            "action": self.action_id,
            "tool": self.tool,
            "agent": self.agent,
            "at": _iso(self.at),
            "why": self.why,
        }


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback of ``scope`` would do, newest action first (the reverse of the order
    they ran in): ``entries`` to undo; ``irreversible`` actions it cannot undo;
    ``in_progress`` entries another caller is undoing (or whose undo was interrupted: they
    stay ``undoing``); ``already_undone`` entries in scope undone before."""

    scope: str
    entries: tuple[JournalEntry, ...] = ()
    irreversible: tuple[IrreversibleAction, ...] = ()
    in_progress: tuple[JournalEntry, ...] = ()
    already_undone: tuple[JournalEntry, ...] = ()

    def lines(self) -> list[str]:
        """One line per action: ``would undo …``, ``cannot undo: …`` and the rest."""
        report = RollbackReport(self, by=None, dry_run=True)
        return report.lines()

    def as_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values (no argument values, no results)."""
        return {
            "scope": self.scope,
            "entries": [e.describe() for e in self.entries],
            "irreversible": [i.as_dict() for i in self.irreversible],
            "in_progress": [e.describe() for e in self.in_progress],
            "already_undone": [e.describe() for e in self.already_undone],
        }


@dataclass(frozen=True, slots=True)
class UndoFailure:
    """The undo that failed and stopped a rollback: its entry (back in state ``done``, so
    it can be tried again), the exception type, and its message with sensitive values and
    detected secrets or PII cut out."""

    entry: JournalEntry
    error_type: str
    message: str

    def line(self) -> str:
        """``failed: <tool> (action <id>) by <undo tool>: <message>``."""
        entry = self.entry
        return (
            f"failed: {entry.tool} (action {entry.action_id}) by {entry.undo_tool}: {self.message}"
        )


@dataclass(frozen=True)
class RollbackReport:
    """What :meth:`~agentguard.rollback.Rollback.run` did with a plan: ``undone`` (in the
    order undone), ``skipped`` (undone already, by another caller or before), at most one
    ``failed`` undo, or the ``busy`` entry another caller was undoing, either of which
    stopped the run, and the entries it left ``remaining``.
    A ``dry_run`` report changed nothing: the plan's entries are what would be undone.

    Example::

        report = rollback.run(rollback.plan(session="s-42"), by="alice")
        print(report.as_text())
        if not report.ok:
            ...  # report.failed says which and why; report.remaining what is left
    """

    plan: RollbackPlan
    by: str | None
    dry_run: bool = False
    undone: tuple[JournalEntry, ...] = ()
    skipped: tuple[JournalEntry, ...] = ()
    failed: UndoFailure | None = None
    busy: JournalEntry | None = None
    remaining: tuple[JournalEntry, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Nothing failed and nothing was left: every entry in the plan is undone, by this
        run or another (irreversible actions do not count: they were never tried)."""
        return self.failed is None and self.busy is None and not self.remaining

    @property
    def irreversible(self) -> tuple[IrreversibleAction, ...]:
        """The actions in scope that cannot be undone (from the plan)."""
        return self.plan.irreversible

    def lines(self) -> list[str]:
        """One line per action, newest first; never a value."""
        out: list[str] = []
        if self.dry_run:
            out += [f"would undo {_what(e)} by {e.undo_tool}" for e in self.plan.entries]
        else:
            out += [f"undone {_what(e)} by {e.undo_tool}" for e in self.undone]
            out += [f"skipped {_what(e)}: undone or being undone elsewhere" for e in self.skipped]
            if self.failed is not None:
                out.append(self.failed.line())
            if self.busy is not None:
                out.append(
                    f"stopped at {_what(self.busy)}: another rollback is undoing it (or its "
                    "undo was interrupted); older actions wait for it"
                )
            out += [f"not undone: {_what(e)} (the rollback stopped)" for e in self.remaining]
        if self.dry_run:
            out += [
                f"in progress elsewhere (or interrupted): {_what(e)} by {e.undo_tool}"
                for e in self.plan.in_progress
            ]
        out += [item.line() for item in self.plan.irreversible]
        if not out:
            undone_before = len(self.plan.already_undone)
            tail = f"; {undone_before} undone before" if undone_before else ""
            out.append(f"nothing to undo ({self.plan.scope}{tail})")
        return out

    def as_text(self) -> str:
        """:meth:`lines` joined, with a final newline."""
        return "\n".join(self.lines()) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (no argument values, no results)."""
        failed = None
        if self.failed is not None:
            failed = {
                **self.failed.entry.describe(),
                "error_type": self.failed.error_type,
                "message": self.failed.message,
            }
        return {
            "scope": self.plan.scope,
            "by": self.by,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "would_undo": [e.describe() for e in self.plan.entries] if self.dry_run else [],
            "undone": [e.describe() for e in self.undone],
            "skipped": [e.describe() for e in self.skipped],
            "failed": failed,
            "busy": None if self.busy is None else self.busy.describe(),
            "remaining": [e.describe() for e in self.remaining],
            "in_progress": [e.describe() for e in self.plan.in_progress],
            "irreversible": [i.as_dict() for i in self.plan.irreversible],
        }


def cannot_undo(
    records: Iterable[AuditRecord],
    tools: Mapping[str, ToolSpec],
    *,
    action: str | None,
    session: str | None,
    known: Collection[str],
) -> tuple[IrreversibleAction, ...]:
    """The executed actions among ``records`` (audit records, newest first) that have no
    journal entry (their ids are not in ``known``): of the one ``action``, or in
    ``session`` as the records keep it, and why each cannot be undone."""
    found: list[IrreversibleAction] = []
    for record in records:
        data = json.loads(record.body)
        ident = data.get("id")
        if data.get("kind") != "action" or data.get("status") != "executed" or not ident:
            continue
        if (action and ident != action) or (session and data.get("session") != session):
            continue
        if ident in known:
            continue
        tool = str(data.get("action") or "")
        spec = tools.get(tool)
        why = NOT_JOURNALED if spec is not None and spec.reversible else NO_UNDO
        if spec is not None and spec.irreversible:
            why = IRREVERSIBLE
        found.append(IrreversibleAction(ident, tool, data.get("agent_id"), _moment(data), why))
        if action:
            break
    return tuple(found)


def _moment(data: Mapping[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(data.get("timestamp")))
    except ValueError:
        return None


def _what(entry: JournalEntry) -> str:
    return f"{entry.tool} (action {entry.action_id})"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
