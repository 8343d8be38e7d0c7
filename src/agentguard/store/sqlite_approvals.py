"""The SQLite store's approval queue (:class:`agentguard.store.base.ApprovalStore`), mixed
into :class:`agentguard.store.sqlite.SQLiteStore`.

One row per request in ``approval_requests``, times as integer microseconds since the Unix
epoch (UTC), so deadlines compare and sort exactly in SQL. Every change is one
``BEGIN IMMEDIATE`` transaction: SQLite's write lock is taken before the row is read, so
loading it, applying :mod:`agentguard.approval` and writing it back is one step for every
thread and process using the file. Two claims of one approval can therefore never both find
it approved, and two approvers of a two-person request both count.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from agentguard import approval
from agentguard.approval import (
    Approval,
    ApprovalChange,
    ApprovalError,
    ApprovalNotFound,
    ApprovalRequest,
    ApprovalState,
    ExpirySweep,
    OnExpiry,
)
from agentguard.store.approval_steps import ApprovalSteps
from agentguard.store.base import to_micros

T = TypeVar("T")
C = TypeVar("C", bound=ApprovalChange | None)

#: Added to the store's schema (statements split on semicolons: none inside one).
SCHEMA = """
CREATE TABLE IF NOT EXISTS approval_requests (
    id               TEXT PRIMARY KEY,
    binding          TEXT NOT NULL,
    policy_version   TEXT NOT NULL,
    agent            TEXT NOT NULL,
    tool             TEXT NOT NULL,
    tier             TEXT NOT NULL,
    requester        TEXT NOT NULL,
    requested_at     INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC (as below)
    deadline         INTEGER,
    required         INTEGER NOT NULL CHECK (required >= 1),
    on_expiry        TEXT NOT NULL,
    state            TEXT NOT NULL,
    approvers        TEXT NOT NULL,    -- a JSON array of identities, in the order they came
    rejected_by      TEXT,
    edited_arguments TEXT,
    comment          TEXT,
    decided_at       INTEGER,
    escalated_at     INTEGER,
    claimed_at       INTEGER,
    executed_at      INTEGER,
    summary          TEXT NOT NULL DEFAULT '{}' -- redacted, for the people deciding
);
CREATE INDEX IF NOT EXISTS approval_requests_order ON approval_requests(requested_at);
CREATE INDEX IF NOT EXISTS approval_requests_due ON approval_requests(state, deadline);
"""

_COLUMNS = (
    "id, binding, policy_version, agent, tool, tier, requester, requested_at, deadline, "
    "required, on_expiry, state, approvers, rejected_by, edited_arguments, comment, "
    "decided_at, escalated_at, claimed_at, executed_at, summary"
)
_SELECT = f"SELECT {_COLUMNS} FROM approval_requests"
_INSERT = f"INSERT INTO approval_requests ({_COLUMNS}) VALUES ({', '.join('?' * 21)})"
_UPDATE = (
    "UPDATE approval_requests SET (state, approvers, rejected_by, edited_arguments, comment, "
    "deadline, decided_at, escalated_at, claimed_at, executed_at) = "
    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE id = ?"
)
_DUE = f"{_SELECT} WHERE state IN ('pending', 'escalated') AND deadline <= ? ORDER BY requested_at, rowid"
_OPEN = (
    f"{_SELECT} WHERE binding = ? AND state IN ('pending', 'escalated', 'approved') "
    "ORDER BY requested_at DESC, rowid DESC LIMIT 1"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def migrate(db: sqlite3.Connection) -> None:
    """Bring a queue made by an earlier release up to this one (inside the caller's
    transaction): the ``summary`` column, and the index finding a request by its action."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(approval_requests)")}
    if "summary" not in columns:
        db.execute("ALTER TABLE approval_requests ADD COLUMN summary TEXT NOT NULL DEFAULT '{}'")
    db.execute("CREATE INDEX IF NOT EXISTS approval_requests_binding ON approval_requests(binding)")


class SQLiteApprovals(ApprovalSteps):
    """The :class:`~agentguard.store.base.ApprovalStore` methods of the SQLite store."""

    if TYPE_CHECKING:

        def _run(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

    def request_approval(self, request: ApprovalRequest) -> Approval:
        queued = approval.create(request)
        # One statement: committed when it completes. The id is the primary key, so an id
        # can never be issued twice (a collision of 128 random bits fails, it never merges).
        self._run(lambda db: db.execute(_INSERT, _row(queued)))
        return queued

    def get_approval(self, approval_id: str) -> Approval | None:
        def work(db: sqlite3.Connection) -> Approval | None:
            row = db.execute(f"{_SELECT} WHERE id = ?", (approval_id,)).fetchone()
            return None if row is None else _decode(row)

        return self._run(work)  # decoded inside: a damaged row is a store failure

    def find_approval(self, binding: str) -> Approval | None:
        def work(db: sqlite3.Connection) -> Approval | None:
            row = db.execute(_OPEN, (str(binding).lower(),)).fetchone()
            return None if row is None else _decode(row)

        return self._run(work)

    def list_approvals(
        self,
        state: ApprovalState | None = None,
        agent: str | None = None,
        limit: int | None = None,
    ) -> list[Approval]:
        clauses: list[str] = []
        params: list[Any] = []
        if state is not None:
            clauses.append("state = ?")
            params.append(str(ApprovalState(state)))
        if agent is not None:
            clauses.append("agent = ?")
            params.append(agent)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = ""
        if limit is not None:
            if type(limit) is not int or limit < 0:
                raise ValueError("limit must be a non-negative integer")
            tail = f" LIMIT {limit}"
        sql = f"{_SELECT}{where} ORDER BY requested_at, rowid{tail}"
        return self._run(lambda db: [_decode(row) for row in db.execute(sql, params)])

    def expire_due(self, at: datetime) -> ExpirySweep:
        at = approval.as_utc(at)
        now = to_micros(at)

        def sweep(db: sqlite3.Connection, write: bool) -> ExpirySweep:
            expired: list[ApprovalChange] = []
            to_escalate: list[Approval] = []
            for row in db.execute(_DUE, (now,)).fetchall():
                current = _decode(row)
                what = approval.due(current, at)
                if what is OnExpiry.ESCALATE:
                    to_escalate.append(current)
                elif what is OnExpiry.EXPIRE:
                    change = approval.expire(current, at)
                    if write:
                        _save(db, change.approval)
                    expired.append(change)
            return ExpirySweep(tuple(expired), tuple(to_escalate))

        # Usually nothing is due: one read, without the write lock. Otherwise the sweep is
        # done again inside the transaction, on the rows as they are then.
        found = self._run(lambda db: sweep(db, write=False))
        if not found.expired:
            return found
        return self._run(lambda db: _transaction(db, lambda: sweep(db, write=True)))

    def _change_approval(self, approval_id: str, step: Callable[[Approval], C]) -> C:
        """Load the request, apply ``step`` and write what it changed, in one transaction.
        A refusal (an :class:`ApprovalError`, or ``ValueError`` for a bad argument) changes
        nothing and is raised as it is, not as a store failure."""

        def work(db: sqlite3.Connection) -> C | Exception:
            row = db.execute(f"{_SELECT} WHERE id = ?", (approval_id,)).fetchone()
            if row is None:
                return ApprovalNotFound(
                    f"there is no approval request {approval_id!r}", approval_id=approval_id
                )
            current = _decode(row)
            try:
                change = step(current)
            except (ApprovalError, ValueError) as refusal:
                return refusal  # returned: raised here, a ValueError would read as a store failure
            if isinstance(change, ApprovalChange) and change.approval != current:
                _save(db, change.approval)
            return change

        result = self._run(lambda db: _transaction(db, lambda: work(db)))
        if isinstance(result, Exception):
            raise result
        return result


def _transaction(db: sqlite3.Connection, work: Callable[[], T]) -> T:
    """Run ``work`` holding SQLite's write lock and commit; roll back whatever it raises
    (the store's own handler only knows database and value errors)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        result = work()
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + int(micros) * _MICRO


def _row(item: Approval) -> tuple[Any, ...]:
    return (
        item.id,
        item.binding,
        item.policy_version,
        item.agent,
        item.tool,
        item.tier,
        item.requester,
        to_micros(item.requested_at),
        _micros(item.deadline),
        item.required,
        str(item.on_expiry),
        str(item.state),
        orjson.dumps(item.approvers).decode(),
        item.rejected_by,
        item.edited_arguments,
        item.comment,
        _micros(item.decided_at),
        _micros(item.escalated_at),
        _micros(item.claimed_at),
        _micros(item.executed_at),
        item.summary,
    )


def _save(db: sqlite3.Connection, item: Approval) -> None:
    db.execute(
        _UPDATE,
        (
            str(item.state),
            orjson.dumps(item.approvers).decode(),
            item.rejected_by,
            item.edited_arguments,
            item.comment,
            _micros(item.deadline),
            _micros(item.decided_at),
            _micros(item.escalated_at),
            _micros(item.claimed_at),
            _micros(item.executed_at),
            item.id,
        ),
    )


def _decode(row: Any) -> Approval:
    try:
        approvers = orjson.loads(row[12])
        if not isinstance(approvers, list) or not all(isinstance(a, str) for a in approvers):
            raise ValueError("approvers")
        return Approval(
            id=row[0],
            binding=row[1],
            policy_version=row[2],
            agent=row[3],
            tool=row[4],
            tier=row[5],
            requester=row[6],
            requested_at=_EPOCH + int(row[7]) * _MICRO,
            deadline=_moment(row[8]),
            required=int(row[9]),
            on_expiry=OnExpiry(row[10]),
            state=ApprovalState(row[11]),
            approvers=tuple(approvers),
            rejected_by=row[13],
            edited_arguments=row[14],
            comment=row[15],
            decided_at=_moment(row[16]),
            escalated_at=_moment(row[17]),
            claimed_at=_moment(row[18]),
            executed_at=_moment(row[19]),
            summary=row[20],
        )
    except (TypeError, ValueError, OverflowError):
        # A damaged row must never read as an approval (or as anything but a failure).
        raise sqlite3.DatabaseError("a stored approval request is damaged") from None
