"""The SQLite store's rollback journal (:class:`~agentguard.store.base.RollbackStore`),
mixed into :class:`agentguard.store.sqlite.SQLiteStore`.

The table keeps the raw arguments, result and captured state of executed actions of
reversible tools (see :mod:`agentguard.journal`): JSON text that brings a ``Decimal`` back
exactly. Times are integer microseconds since the Unix epoch, UTC. A claim reads and moves
an entry from ``done`` to ``undoing`` holding SQLite's write lock (``BEGIN IMMEDIATE``), so
of every thread and process claiming one entry, exactly one gets it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from agentguard.journal import JournalEntry, JournalState, UndoKind, dumps, loads
from agentguard.store.base import to_micros
from agentguard.store.sqlite_approvals import _transaction

T = TypeVar("T")

#: Added to the store's schema (statements split on semicolons: none inside one).
SCHEMA = """
CREATE TABLE IF NOT EXISTS rollback_journal (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- the order entries were added
    action_id  TEXT NOT NULL UNIQUE,
    agent      TEXT NOT NULL,
    session    TEXT,
    tool       TEXT NOT NULL,
    at         INTEGER NOT NULL,  -- microseconds since the Unix epoch, UTC (as below)
    kind       TEXT NOT NULL,     -- undo or snapshot
    undo_tool  TEXT NOT NULL,
    args       TEXT NOT NULL,     -- raw JSON (agentguard.journal), not redacted
    result     TEXT NOT NULL,
    snapshot   TEXT NOT NULL,
    state      TEXT NOT NULL,     -- done, undoing or undone
    claimed_at INTEGER,
    undone_at  INTEGER,
    note       TEXT
);
CREATE INDEX IF NOT EXISTS rollback_journal_agent ON rollback_journal(agent, at);
CREATE INDEX IF NOT EXISTS rollback_journal_session ON rollback_journal(session, at);
"""

_COLUMNS = (
    "action_id, agent, session, tool, at, kind, undo_tool, args, result, snapshot, state, "
    "claimed_at, undone_at, note"
)
_SELECT = f"SELECT {_COLUMNS}, seq FROM rollback_journal"
_INSERT = (
    f"INSERT INTO rollback_journal ({_COLUMNS}) VALUES ({', '.join('?' * 14)}) "
    "ON CONFLICT (action_id) DO NOTHING"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class SQLiteRollback:
    """The rollback-journal methods of the SQLite store."""

    if TYPE_CHECKING:

        def _run(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

    def journal_add(self, entry: JournalEntry) -> None:
        row = _row(entry)  # encoded first: a value that cannot be stored is a ValueError
        added = self._run(lambda db: db.execute(_INSERT, row).rowcount)
        if added != 1:
            raise ValueError(f"action {entry.action_id!r} has a journal entry already")

    def journal_get(self, action_id: str) -> JournalEntry | None:
        def work(db: sqlite3.Connection) -> JournalEntry | None:
            found = db.execute(f"{_SELECT} WHERE action_id = ?", (action_id,)).fetchone()
            return None if found is None else _decode(found)

        return self._run(work)  # decoded inside: a damaged row is a store failure

    def journal_list(
        self,
        *,
        action: str | None = None,
        session: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        states: Collection[JournalState] | None = None,
    ) -> list[JournalEntry]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("action_id", action), ("session", session), ("agent", agent)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("at >= ?")
            params.append(to_micros(since))
        if states is not None:
            wanted = sorted({str(JournalState(s)) for s in states})
            if not wanted:
                return []
            clauses.append(f"state IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{_SELECT}{where} ORDER BY at, seq"
        return self._run(lambda db: [_decode(found) for found in db.execute(sql, params)])

    def journal_claim(self, action_id: str, at: datetime) -> JournalEntry | None:
        now = to_micros(at)

        def work(db: sqlite3.Connection) -> JournalEntry | None:
            changed = db.execute(
                "UPDATE rollback_journal SET state = 'undoing', claimed_at = ? "
                "WHERE action_id = ? AND state = 'done'",
                (now, action_id),
            ).rowcount
            if changed != 1:
                return None
            return _decode(db.execute(f"{_SELECT} WHERE action_id = ?", (action_id,)).fetchone())

        return self._run(lambda db: _transaction(db, lambda: work(db)))

    def journal_finish(
        self, action_id: str, ok: bool, at: datetime, *, note: str | None = None
    ) -> JournalEntry | None:
        now = to_micros(at)
        if ok:
            update = "UPDATE rollback_journal SET state = 'undone', undone_at = ?, note = NULL"
            params: tuple[Any, ...] = (now, action_id)
        else:
            update = "UPDATE rollback_journal SET state = 'done', claimed_at = NULL, note = ?"
            params = (note or "failed", action_id)

        def work(db: sqlite3.Connection) -> JournalEntry | None:
            changed = db.execute(
                f"{update} WHERE action_id = ? AND state = 'undoing'", params
            ).rowcount
            if changed != 1:
                return None
            return _decode(db.execute(f"{_SELECT} WHERE action_id = ?", (action_id,)).fetchone())

        return self._run(lambda db: _transaction(db, lambda: work(db)))


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + int(micros) * _MICRO


def _row(entry: JournalEntry) -> tuple[Any, ...]:
    return (
        entry.action_id,
        entry.agent,
        entry.session,
        entry.tool,
        to_micros(entry.at),
        str(UndoKind(entry.kind)),
        entry.undo_tool,
        dumps(dict(entry.args)),
        dumps(entry.result),
        dumps(entry.snapshot),
        str(JournalState(entry.state)),
        _micros(entry.claimed_at),
        _micros(entry.undone_at),
        entry.note,
    )


def _decode(found: Any) -> JournalEntry:
    try:
        args = loads(found[7])
        if not isinstance(args, dict):
            raise ValueError("args")
        return JournalEntry(
            action_id=found[0],
            agent=found[1],
            session=found[2],
            tool=found[3],
            at=_EPOCH + int(found[4]) * _MICRO,
            kind=UndoKind(found[5]),
            undo_tool=found[6],
            args=args,
            result=loads(found[8]),
            snapshot=loads(found[9]),
            state=JournalState(found[10]),
            claimed_at=_moment(found[11]),
            undone_at=_moment(found[12]),
            note=found[13],
            seq=int(found[14]),
        )
    except (TypeError, ValueError, OverflowError):
        # A damaged row must never read as an entry to undo (or as anything but a failure).
        raise sqlite3.DatabaseError("a stored rollback journal entry is damaged") from None
