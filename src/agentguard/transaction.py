"""``with rollback.transaction():`` — undo a block's reversible actions if it raises.

The journal entries :meth:`agentguard.rollback.Rollback.after` writes while the block runs
are collected through a context variable, so each thread and asyncio task has its own
transaction (tasks started inside the block join it). When the block raises, they are
undone newest first and the block's exception goes on, carrying the report. Example::

    with rollback.transaction() as tx:
        agent.call("create_post", title="Launch")
        agent.call("publish_post", post_id="p1")
        raise RuntimeError("the launch was called off")   # both undone, then re-raised
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Literal

from agentguard.journal import JournalEntry
from agentguard.rollback_report import IrreversibleAction, RollbackPlan, RollbackReport


def current() -> Transaction | None:
    """The transaction the caller runs in (None: none)."""
    return _current.get()


class Transaction:
    """``with rollback.transaction():`` — the journal entries :meth:`Rollback.after`
    writes in this thread or asyncio task (and tasks it starts) while the block runs are
    collected; if the block raises, they are undone newest first (``by="transaction"``)
    and the block's exception goes on. The :class:`RollbackReport` is then its
    ``rollback_report`` attribute (and the transaction's ``report``); an undo that failed,
    or actions that cannot be undone, are added to it as a note. A transaction inside
    another joins the outermost one. ``async with`` works too (undos then run in a
    thread)."""

    def __init__(self, run: Callable[[RollbackPlan], RollbackReport]) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []
        self._irreversible: list[IrreversibleAction] = []
        self._token: contextvars.Token[Transaction | None] | None = None
        self._joined: Transaction | None = None
        #: what the rollback did, once the block raised
        self.report: RollbackReport | None = None

    @property
    def entries(self) -> tuple[JournalEntry, ...]:
        """The entries collected so far, in the order their actions ran."""
        with self._lock:
            return tuple(self._entries)

    def _add(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def _note(self, item: IrreversibleAction) -> None:
        with self._lock:
            self._irreversible.append(item)

    def __enter__(self) -> Transaction:
        outer = _current.get()
        if outer is not None:
            self._joined = outer
            return outer
        self._token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if self._end() and exc is not None:
            self._roll_back(exc)
        return False

    async def __aenter__(self) -> Transaction:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if self._end() and exc is not None:
            await asyncio.to_thread(self._roll_back, exc)
        return False

    def _end(self) -> bool:
        """Leave the block; True for the outermost transaction."""
        if self._joined is not None or self._token is None:
            return False
        _current.reset(self._token)
        self._token = None
        return True

    def _roll_back(self, exc: BaseException) -> None:
        with self._lock:
            entries, cannot = tuple(reversed(self._entries)), tuple(reversed(self._irreversible))
        plan = RollbackPlan("transaction", entries, cannot)
        try:
            report = self._run(plan)
        except Exception as failure:
            exc.add_note(
                f"agentguard: the transaction could not be rolled back ({type(failure).__name__});"
                " see `agentguard rollback --dry-run`"
            )
            return
        self.report = report
        with contextlib.suppress(AttributeError):  # an exception type with __slots__
            exc.rollback_report = report  # type: ignore[attr-defined]
        if not report.ok or report.irreversible:
            exc.add_note("agentguard rollback:\n  " + "\n  ".join(report.lines()))


_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "agentguard_rollback_transaction", default=None
)
