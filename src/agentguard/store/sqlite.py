"""The default store: one SQLite file in WAL mode, safe for many threads and processes.

Durability: each audit record is committed before ``append`` returns. With the default
``synchronous=NORMAL`` a committed record survives a crash of the process; add
``?synchronous=full`` to the URL to also survive power loss (an fsync per record).

Before a tool runs, :meth:`SQLiteStore.reserve` writes a reservation row holding as many
bytes as the record will need, and ``append`` deletes it in the transaction that inserts the
record. A store that cannot be written (read-only, full, locked past the timeout) thus
refuses the action before the tool runs, and a reservation without a record names an action
that was interrupted. Every operation also checks that the file at the store's path is
still the file that was opened: a store deleted or replaced while in use is refused
(:class:`StoreUnavailable`) instead of silently writing into a deleted inode.

Several processes may append to one file: an append takes SQLite's write lock
(``BEGIN IMMEDIATE``), reads the last hash and inserts the next record in one transaction,
so the chain stays linear. Threads of one process share one connection behind a lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from agentguard.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    StoredRow,
    Verification,
    chain_hash,
)
from agentguard.audit import verify_chain as _verify_chain
from agentguard.errors import StoreUnavailable
from agentguard.store.base import (
    AuditQuery,
    KeyKind,
    KeyRecord,
    Kill,
    KillScope,
)
from agentguard.store.sqlite_approvals import SCHEMA as APPROVAL_SCHEMA
from agentguard.store.sqlite_approvals import SQLiteApprovals
from agentguard.store.sqlite_approvals import migrate as migrate_approvals
from agentguard.store.sqlite_counters import SQLiteCounters
from agentguard.store.sqlite_rollback import SCHEMA as ROLLBACK_SCHEMA
from agentguard.store.sqlite_rollback import SQLiteRollback
from agentguard.store.sqlite_schema import SCHEMA as _SCHEMA

T = TypeVar("T")

_MAX_RESERVATION = 1 << 20
_SYNC_MODES = {"off": "OFF", "normal": "NORMAL", "full": "FULL", "extra": "EXTRA"}


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _iso(moment: datetime) -> str:
    """The audit log's timestamp spelling (UTC, microseconds, 'Z'), which sorts as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class SQLiteStore(SQLiteCounters, SQLiteApprovals, SQLiteRollback):
    """All of agentguard's state in one SQLite file (``sqlite:///path/to/file.db``)."""

    def __init__(
        self, path: str | Path, *, synchronous: str = "normal", busy_timeout_ms: int = 30000
    ) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        if synchronous not in _SYNC_MODES:
            raise StoreUnavailable(
                f"unknown synchronous mode {synchronous!r}; use one of {', '.join(_SYNC_MODES)}"
            )
        self._lock = threading.RLock()
        self._key: bytes | None = None
        self._where = os.path.abspath(self.path)
        self._identity: tuple[int, int] | None = None
        self._reserved: set[str] = set()  # reservations this store made and still holds
        self._horizons: dict[str, int] = {}  # counter horizons this store wrote
        self._settled: set[str] = set()  # reservations settled with nothing to write
        try:
            if self.path.parent and not self.path.parent.exists():
                raise StoreUnavailable(
                    f"cannot open the SQLite store: folder {str(self.path.parent)!r} does not exist"
                )
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.create_function("agentguard_chain", 3, chain_hash, deterministic=True)
            self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={_SYNC_MODES[synchronous]}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("BEGIN IMMEDIATE")
            for statement in (_SCHEMA + APPROVAL_SCHEMA + ROLLBACK_SCHEMA).split(";"):
                if statement.strip():
                    self._db.execute(statement)
            migrate_approvals(self._db)
            self._db.execute("COMMIT")
            self._identity = self._file_identity()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(
                f"cannot open the SQLite store {str(self.path)!r}: {exc}"
            ) from None

    # ------------------------------------------------------------------ plumbing

    def _file_identity(self) -> tuple[int, int]:
        info = os.stat(self._where)
        return info.st_dev, info.st_ino

    def _check_file(self) -> None:
        """Refuse to go on when the file at our path is no longer the one we opened."""
        try:
            same = self._file_identity() == self._identity
        except OSError:
            raise StoreUnavailable(
                f"the SQLite store {str(self.path)!r} was deleted while in use; "
                "actions are denied until it is restored and the guard restarted"
            ) from None
        if not same:
            raise StoreUnavailable(
                f"the SQLite store {str(self.path)!r} was replaced by another file while in "
                "use; actions are denied until the guard is restarted on the store it should use"
            )

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            self._check_file()
            try:
                return work(self._db)
            except (sqlite3.Error, ValueError, OverflowError, MemoryError) as exc:
                # ValueError covers UnicodeEncodeError (a lone surrogate) and out-of-range
                # parameters: whatever the cause, the write did not happen, and that is all a
                # caller may act on.
                with contextlib.suppress(sqlite3.Error):
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                what = exc if isinstance(exc, sqlite3.Error) else type(exc).__name__
                raise StoreUnavailable(
                    f"the SQLite store {str(self.path)!r} failed: {what}"
                ) from None
            except BaseException:
                # Anything else (a bug, Ctrl-C) must not leave the write lock held: every
                # other process on the file would wait on it.
                with contextlib.suppress(sqlite3.Error):
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                raise

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def transaction(db: sqlite3.Connection) -> T:
            db.execute("BEGIN IMMEDIATE")
            result = work(db)
            db.execute("COMMIT")
            return result

        return self._run(transaction)

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    # --------------------------------------------------------------------- audit

    def append(self, entry: AuditEntry) -> AuditRecord:
        # One INSERT … SELECT statement: a write statement takes SQLite's write lock before
        # it reads, so reading the head and inserting the next record is atomic across
        # processes, and in autocommit mode it is committed when the statement completes.
        # Numbering follows sqlite_sequence (the highest seq ever issued), not the last row,
        # so a record deleted from the end leaves a gap that verify() names.
        # The reservation of the action, if this store made one, is released in the same
        # transaction: its space is free again for the record itself. (A denied action has
        # none: its record is the one statement.)
        stamp = entry.iso_timestamp
        body = entry.body(stamp)
        params = {
            "ts": stamp,
            "agent": entry.agent_id,
            "tool": entry.action,
            "decision": entry.decision,
            "body": body,
            "genesis": GENESIS,
        }

        reserved = entry.action_id is not None and entry.action_id in self._reserved

        def work(db: sqlite3.Connection) -> list[Any]:
            db.execute("DELETE FROM audit_reservations WHERE action_id = ?", (entry.action_id,))
            return db.execute(_APPEND, params).fetchall()

        if reserved:
            row = self._write(work)
            with self._lock:
                self._reserved.discard(entry.action_id)
        else:
            row = self._run(lambda db: db.execute(_APPEND, params).fetchall())
        seq, prev, digest = row[0]
        return AuditRecord(seq, body, prev, digest)

    def reserve(
        self, action_id: str, size: int, at: datetime, *, agent: str | None, tool: str
    ) -> None:
        """Write a reservation of ``size`` bytes for the record of ``action_id``, or raise
        :class:`StoreUnavailable`: proof, before a tool runs, that its record can be written."""
        space = max(0, min(int(size), _MAX_RESERVATION))
        self._run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO audit_reservations VALUES (?, ?, ?, ?, zeroblob(?))",
                (action_id, _iso(at), agent, tool, space),
            )
        )  # one statement: committed when it completes
        with self._lock:
            self._reserved.add(action_id)

    def interrupted(self) -> list[tuple[str, datetime, str | None, str]]:
        """Reservations with no record: ``(action id, reserved at, agent, tool)`` of actions
        whose tool may have run but whose record was never written (a crash, a full disk)."""
        rows = self._run(
            lambda db: db.execute(
                "SELECT action_id, reserved_at, agent, tool FROM audit_reservations "
                "ORDER BY reserved_at"
            ).fetchall()
        )
        return [(a, _dt(t) or datetime.now(UTC), g, o) for a, t, g, o in rows]

    def search(self, query: AuditQuery) -> Iterator[AuditRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("agent", query.agent),
            ("tool", query.tool),
            ("decision", query.decision),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.since is not None:
            clauses.append("ts >= ?")
            params.append(_iso(query.since))
        if query.until is not None:
            clauses.append("ts < ?")
            params.append(_iso(query.until))
        if query.after_seq is not None:
            clauses.append("seq > ?")
            params.append(int(query.after_seq))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "DESC" if query.newest_first else "ASC"
        limit = f"LIMIT {int(query.limit)}" if query.limit is not None else ""
        sql = f"SELECT seq, body, prev_hash, hash FROM audit {where} ORDER BY seq {order} {limit}"
        rows = self._run(lambda db: db.execute(sql, params).fetchall())
        for seq, body, prev_hash, digest in rows:
            yield AuditRecord(seq, body, prev_hash, digest)

    def count(self) -> int:
        return int(self._run(lambda db: db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]))

    def verify(self) -> Verification:
        def work(db: sqlite3.Connection) -> Verification:
            issued = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
            # Every column beside the chained ones is an index of the body, and is checked
            # against it: read them from the table itself, so a column added later (by us or
            # by someone else) cannot escape the check.
            index = [
                name
                for _, name, *_ in db.execute("PRAGMA table_info(audit)")
                if name not in _CHAINED_COLUMNS
            ]
            quoted = ('"' + name.replace('"', '""') + '"' for name in index)
            columns = ", ".join(("seq", "body", "prev_hash", "hash", *quoted))
            cursor = db.execute(f"SELECT {columns} FROM audit ORDER BY seq")
            rows = (
                StoredRow(seq, body, prev, digest, dict(zip(index, values, strict=True)))
                for seq, body, prev, digest, *values in cursor
            )
            return _verify_chain(rows, issued[0] if issued else None)

        return self._run(work)

    # ---------------------------------------------------------------------- keys

    def add_key(self, record: KeyRecord, *, kind: KeyKind = "agent") -> None:
        table = _key_table(kind)
        self._write(
            lambda db: db.execute(
                f"INSERT INTO {table} (key_id, agent, secret_hash, created_at, expires_at, "
                "revoked_at, tools, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.key_id,
                    record.agent,
                    record.secret_hash,
                    _ts(record.created_at),
                    _ts(record.expires_at),
                    _ts(record.revoked_at),
                    None if record.tools is None else json.dumps(sorted(record.tools)),
                    record.label,
                ),
            )
        )

    def get_key(self, key_id: str, *, kind: KeyKind = "agent") -> KeyRecord | None:
        table = _key_table(kind)
        row = self._run(
            lambda db: db.execute(
                "SELECT key_id, agent, secret_hash, created_at, expires_at, revoked_at, tools, "
                f"label FROM {table} WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        )
        return None if row is None else _key(row)

    def revoke_key(self, key_id: str, at: datetime, *, kind: KeyKind = "agent") -> bool:
        table = _key_table(kind)

        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                f"UPDATE {table} SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (_ts(at), key_id),
            )
            return cursor.rowcount == 1

        return self._write(work)

    def list_keys(self, *, kind: KeyKind = "agent") -> list[KeyRecord]:
        table = _key_table(kind)
        rows = self._run(
            lambda db: db.execute(
                "SELECT key_id, agent, secret_hash, created_at, expires_at, revoked_at, tools, "
                f"label FROM {table} ORDER BY created_at"
            ).fetchall()
        )
        return [_key(row) for row in rows]

    # --------------------------------------------------------------- kill switch

    def set_kill(self, kill: Kill) -> None:
        self._write(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO kills (scope, target, reason, set_at, set_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (str(kill.scope), kill.target, kill.reason, _ts(kill.set_at), kill.set_by),
            )
        )

    def clear_kill(self, scope: KillScope, target: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "DELETE FROM kills WHERE scope = ? AND target = ?", (str(scope), target)
            )
            return cursor.rowcount > 0

        return self._write(work)

    def find_kill(self, agent: str, tool: str) -> Kill | None:
        # Three primary-key lookups: this runs before every action.
        rows = self._run(lambda db: db.execute(_FIND_KILLS, (agent, tool)).fetchall())
        if not rows:
            return None
        return min((_kill(row) for row in rows), key=lambda k: _KILL_ORDER[k.scope])

    def list_kills(self) -> list[Kill]:
        rows = self._run(
            lambda db: db.execute(
                "SELECT scope, target, reason, set_at, set_by FROM kills ORDER BY set_at"
            ).fetchall()
        )
        return [_kill(row) for row in rows]

    # ---------------------------------------------------------------- provenance

    def fingerprint_key(self) -> bytes:
        if self._key is None:

            def work(db: sqlite3.Connection) -> bytes:
                db.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('fingerprint_key', ?)",
                    (os.urandom(32),),
                )
                row = db.execute("SELECT value FROM meta WHERE name = 'fingerprint_key'").fetchone()
                return bytes(row[0])

            self._key = self._write(work)
        return self._key

    def remember(
        self, scope: str, owner: str, prints: Iterable[str], *, at: datetime, until: datetime
    ) -> None:
        stamp = until.timestamp()
        rows = [(scope, item, owner, stamp) for item in prints]
        if not rows:
            return

        def work(db: sqlite3.Connection) -> None:
            db.executemany(_REMEMBER, rows)
            # Forget what has expired in this scope, so a long-lived agent's table stays small.
            db.execute(
                "DELETE FROM provenance WHERE scope = ? AND expires <= ?", (scope, at.timestamp())
            )

        self._write(work)

    def owners_of(
        self, scope: str, prints: Collection[str], at: datetime
    ) -> dict[str, frozenset[str]]:
        items = list(dict.fromkeys(prints))
        stamp = at.timestamp()

        def work(db: sqlite3.Connection) -> dict[str, set[str]]:
            found: dict[str, set[str]] = {}
            # One parameter (a JSON array) instead of one per print: the statement is
            # prepared once and cached, whatever the number of prints.
            for item, owner in db.execute(_OWNERS_OF, (scope, stamp, json.dumps(items))):
                found.setdefault(item, set()).add(owner)
            return found

        return {k: frozenset(v) for k, v in self._run(work).items()}


_OWNERS_OF = (
    "SELECT print, owner FROM provenance WHERE scope = ? AND expires > ? "
    "AND print IN (SELECT value FROM json_each(?))"
)
_REMEMBER = (
    "INSERT INTO provenance (scope, print, owner, expires) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (scope, print, owner) DO UPDATE SET expires = max(expires, excluded.expires)"
)
_FIND_KILLS = (
    "SELECT scope, target, reason, set_at, set_by FROM kills "
    "WHERE (scope, target) IN (('all', '*'), ('agent', ?), ('tool', ?))"
)
_KILL_ORDER = {KillScope.ALL: 0, KillScope.AGENT: 1, KillScope.TOOL: 2}
#: the audit columns the hash chain covers; every other column is an index of the body
_CHAINED_COLUMNS = frozenset({"seq", "body", "prev_hash", "hash"})
_APPEND = """
INSERT INTO audit (seq, ts, agent, tool, decision, body, prev_hash, hash)
SELECT head.seq + 1, :ts, :agent, :tool, :decision, :body, head.hash,
       agentguard_chain(head.hash, head.seq + 1, :body)
FROM (SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0) AS seq,
             COALESCE((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), :genesis) AS hash)
     AS head
RETURNING seq, prev_hash, hash
"""


_KEY_TABLES = {"agent": "api_keys", "approver": "approver_keys"}


def _key_table(kind: str) -> str:
    """The table of ``kind``'s keys (only these two names ever reach SQL)."""
    try:
        return _KEY_TABLES[kind]
    except KeyError:
        raise ValueError(f"no keys of kind {kind!r}; kinds: agent, approver") from None


def _key(row: Any) -> KeyRecord:
    key_id, agent, secret_hash, created, expires, revoked, tools, label = row
    return KeyRecord(
        key_id=key_id,
        agent=agent,
        secret_hash=secret_hash,
        created_at=_dt(created) or datetime.fromtimestamp(0, UTC),
        expires_at=_dt(expires),
        revoked_at=_dt(revoked),
        tools=None if tools is None else frozenset(json.loads(tools)),
        label=label,
    )


def _kill(row: Any) -> Kill:
    scope, target, reason, set_at, set_by = row
    return Kill(KillScope(scope), target, reason, _dt(set_at) or datetime.now(UTC), set_by)
