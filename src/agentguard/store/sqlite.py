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
import functools
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from agentguard import breaker
from agentguard.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    StoredRow,
    Verification,
    chain_hash,
)
from agentguard.audit import verify_chain as _verify_chain
from agentguard.breaker import (
    BreakerDecision,
    BreakerSettings,
    BreakerSnapshot,
    BreakerState,
    BreakerTransition,
)
from agentguard.errors import StoreUnavailable
from agentguard.store.base import (
    NOTHING_ASKED,
    Admission,
    AuditQuery,
    KeyKind,
    KeyRecord,
    Kill,
    KillScope,
    WindowRequest,
    admitted,
    excess,
    first_overflow,
    from_units,
    plan_admission,
    refused,
    to_micros,
    to_units,
)
from agentguard.store.sqlite_approvals import SCHEMA as APPROVAL_SCHEMA
from agentguard.store.sqlite_approvals import SQLiteApprovals

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts        TEXT NOT NULL,
    agent     TEXT,
    tool      TEXT,
    decision  TEXT,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id      TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    tools       TEXT,
    label       TEXT
);
CREATE TABLE IF NOT EXISTS approver_keys (  -- people who approve: never agents' keys
    key_id      TEXT PRIMARY KEY,
    agent       TEXT NOT NULL,  -- the approver's name
    secret_hash TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    tools       TEXT,
    label       TEXT
);
CREATE TABLE IF NOT EXISTS kills (
    scope  TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_at TEXT NOT NULL,
    set_by TEXT,
    PRIMARY KEY (scope, target)
);
CREATE TABLE IF NOT EXISTS window_events (
    key     TEXT NOT NULL,
    at      INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
    units   INTEGER NOT NULL, -- the amount in millionths
    running INTEGER NOT NULL, -- the key's running total up to this event, in millionths
    ticket  INTEGER           -- the open reservation holding the event, NULL once settled
);
CREATE INDEX IF NOT EXISTS window_events_key ON window_events(key, at, running);
CREATE TABLE IF NOT EXISTS window_keys (
    key     TEXT PRIMARY KEY,
    horizon INTEGER NOT NULL, -- the longest window ever asked for the key, microseconds
    floor   INTEGER NOT NULL  -- the running total of its events pruned so far
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS breakers (
    key   TEXT PRIMARY KEY,
    state TEXT NOT NULL,  -- closed, open or half_open: read alone on the hot path
    data  TEXT NOT NULL   -- agentguard.breaker.encode()
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_reservations (
    action_id   TEXT PRIMARY KEY,
    reserved_at TEXT NOT NULL,
    agent       TEXT,
    tool        TEXT,
    space       BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS provenance (
    scope   TEXT NOT NULL,
    print   TEXT NOT NULL,
    owner   TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (scope, print, owner)
) WITHOUT ROWID;
"""

_MAX_RESERVATION = 1 << 20
_SYNC_MODES = {"off": "OFF", "normal": "NORMAL", "full": "FULL", "extra": "EXTRA"}


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _iso(moment: datetime) -> str:
    """The audit log's timestamp spelling (UTC, microseconds, 'Z'), which sorts as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class SQLiteStore(SQLiteApprovals):
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
            for statement in (_SCHEMA + APPROVAL_SCHEMA).split(";"):
                if statement.strip():
                    self._db.execute(statement)
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

    # ------------------------------------------------------------------ counters

    def admit(
        self, requests: Sequence[WindowRequest], at: datetime, *, final: bool = False
    ) -> Admission:
        # One BEGIN IMMEDIATE transaction: SQLite's write lock is taken before the first
        # read, so checking every window and inserting the events is one atomic step for
        # every thread and process using the file. Each event carries the running sum of its
        # key ("running"), so a window's total is two index probes however many events it holds.
        if not requests:
            return NOTHING_ASKED
        plan = plan_admission(requests, at)
        now = plan.at
        ticket = None if final else secrets.randbits(63)

        def work(db: sqlite3.Connection) -> Admission:
            totals = [0] * len(requests)
            before: list[int] = []  # each key's running sum up to now
            later: list[bool] = []  # whether the key has events stamped after now
            oldest: list[int | None] = []
            starts: list[int] = [0] * len(requests)
            for slot, key in enumerate(plan.keys):
                mine = [i for i, of in enumerate(plan.slots) if of == slot]
                bounds = [now - requests[i].span for i in mine]
                upto, newest, first, *sums = db.execute(
                    _running_sums(len(bounds)), (key, now, *bounds)
                ).fetchone()
                before.append(upto)
                later.append(newest is not None and newest > now)
                oldest.append(first)
                for i, start in zip(mine, sums, strict=True):
                    totals[i], starts[i] = upto - start, start
            index = first_overflow(plan, totals)
            if index is not None:
                request = requests[index]
                need = excess(request, totals[index])
                last = None
                if need is not None:
                    probe = (request.key, now - request.span, now, starts[index] + need)
                    last = db.execute(_LAST_TO_LEAVE, probe).fetchone()[0]
                return refused(plan, index, totals, last)
            rows: list[str] = []
            for slot, key in enumerate(plan.keys):
                horizon, units = plan.horizons[slot], plan.units[slot]
                if self._horizons.get(key, 0) < horizon:
                    # Written before pruning, in this transaction: no process prunes events
                    # another still counts.
                    db.execute(_RAISE_HORIZON, (key, horizon))
                # Nothing is older than this store's horizon for the key: nothing is older
                # than the stored one (as long or longer) either, so no pruning query.
                first = oldest[slot]
                if first is not None and first <= now - max(horizon, self._horizons.get(key, 0)):
                    _prune(db, key, now)
                cursor = db.execute(_ADD_EVENT, (key, now, units, before[slot] + units, ticket))
                if later[slot]:  # stamped before events already there (another clock)
                    db.execute(_SHIFT_AFTER, (units, key, now))
                rows.append(str(cursor.lastrowid))
            if ticket is None:
                return admitted(plan, totals, None)
            return admitted(plan, totals, f"{ticket:x}." + ".".join(rows))

        result = self._write(work)
        if result.admitted:
            with self._lock:
                for slot, key in enumerate(plan.keys):
                    if self._horizons.get(key, 0) < plan.horizons[slot]:
                        self._horizons[key] = plan.horizons[slot]
        return result

    def settle(self, reservation: str, actual: Mapping[str, Decimal], at: datetime) -> None:
        units = {key: to_units(amount) for key, amount in actual.items()}
        named = _reservation(reservation)
        if named is None:
            return
        ticket, rows = named
        with self._lock:
            if reservation in self._settled:
                return
        held_query = _HELD.format(", ".join("?" * len(rows)))
        if all(units.get(key, reserved) == reserved for _, key, _, reserved in self._run(
            lambda db: db.execute(held_query, (ticket, *rows)).fetchall()
        )):  # fmt: skip
            # Nothing moves (a count, a cost as estimated): no write. The events keep their
            # ticket, so only this process's memory says the reservation is settled.
            with self._lock:
                if len(self._settled) >= _MAX_SETTLED:
                    self._settled.clear()  # forgotten ones could only be released by mistake
                self._settled.add(reservation)
            return

        def work(db: sqlite3.Connection) -> None:
            held = db.execute(held_query, (ticket, *rows))
            for row, key, stamp, reserved in held.fetchall():
                new = units.get(key, reserved)
                if new != reserved:  # this event and every later one of the key move
                    db.execute(_SHIFT_FROM, (new - reserved, key, stamp, stamp, row))
                db.execute(_SETTLE, (new, row))

        self._write(work)

    def release(self, reservation: str) -> None:
        named = _reservation(reservation)
        if named is None:
            return
        with self._lock:
            if reservation in self._settled:  # settled with nothing to write: nothing to do
                return
        ticket, rows = named

        def work(db: sqlite3.Connection) -> None:
            held = db.execute(_HELD.format(", ".join("?" * len(rows))), (ticket, *rows))
            for row, key, stamp, reserved in held.fetchall():
                if reserved:
                    db.execute(_SHIFT_FROM, (-reserved, key, stamp, stamp, row))
                db.execute("DELETE FROM window_events WHERE rowid = ?", (row,))

        self._write(work)

    def total(self, key: str, at: datetime, window: timedelta) -> Decimal:
        now = to_micros(at)
        start = now - window // _MICRO
        row = self._run(lambda db: db.execute(_running_sums(1), (key, now, start)).fetchone())
        return from_units(row[0] - row[3])

    # ------------------------------------------------------------------ breakers

    def breaker_admit(self, key: str, settings: BreakerSettings, at: datetime) -> BreakerDecision:
        # Closed (the usual case) is decided by one read, without the write lock: a breaker
        # that opens a moment later would have let this call through anyway.
        row = self._run(lambda db: db.execute(_BREAKER_STATE, (key,)).fetchone())
        if row is None or row[0] == BreakerState.CLOSED:
            return _ALLOWED

        def work(db: sqlite3.Connection) -> BreakerDecision:
            current = _load_breaker(db, key)
            after, decision = breaker.admit(current, settings, at)
            if after != current:
                _save_breaker(db, key, after)
            return decision

        return self._write(work)

    def breaker_record(
        self, key: str, ok: bool | None, settings: BreakerSettings, at: datetime
    ) -> BreakerTransition:
        # An outcome that changes nothing in the state as read (a success while closed with
        # no rate to count, anything while open) takes no write lock. Had another process
        # changed the state since, this outcome would belong to a call let through before
        # that change, which the state machine ignores too.
        current = self._run(lambda db: _load_breaker(db, key))
        after, change = breaker.record(current, settings, ok, at)
        if after == current:
            return change

        def work(db: sqlite3.Connection) -> BreakerTransition:
            current = _load_breaker(db, key)
            after, change = breaker.record(current, settings, ok, at)
            if after != current:
                _save_breaker(db, key, after)
            return change

        return self._write(work)

    def breaker_state(self, key: str, at: datetime) -> BreakerSnapshot:
        return breaker.snapshot(key, self._run(lambda db: _load_breaker(db, key)), at)

    def list_breakers(self, at: datetime) -> list[BreakerSnapshot]:
        def work(db: sqlite3.Connection) -> list[BreakerSnapshot]:
            rows = db.execute("SELECT key, data FROM breakers ORDER BY key").fetchall()
            return [breaker.snapshot(key, _decode_breaker(data), at) for key, data in rows]

        return self._run(work)

    def reset_breaker(self, key: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            row = db.execute("DELETE FROM breakers WHERE key = ? RETURNING state", (key,))
            found = row.fetchone()
            return found is not None and found[0] != BreakerState.CLOSED

        return self._run(work)  # one statement: atomic

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


_MICRO = timedelta(microseconds=1)
#: the most old events one admission prunes per key (bounded work per call; more than the
#: one it adds, so a key's log shrinks back to its horizon)
_PRUNE_BATCH = 64
#: the most events one reservation id may name (below SQLite's limit on parameters)
_MAX_ROWS = 30_000
# A key's events are ordered by (at, rowid): a new row's rowid is above every other's.
# "running" is the key's running total up to and including the event (plus what was pruned,
# kept in window_keys.floor), so it never decreases along that order.
_ADD_EVENT = "INSERT INTO window_events (key, at, units, running, ticket) VALUES (?, ?, ?, ?, ?)"
_SHIFT_AFTER = "UPDATE window_events SET running = running + ? WHERE key = ? AND at > ?"
_SHIFT_FROM = (  # this event (at, rowid) and every later one of its key
    "UPDATE window_events SET running = running + ? "
    "WHERE key = ? AND at >= ? AND (at > ? OR rowid >= ?)"
)
_LAST_TO_LEAVE = (
    "SELECT at FROM window_events WHERE key = ? AND at > ? AND at <= ? AND running >= ? "
    "ORDER BY at, running LIMIT 1"
)
_RAISE_HORIZON = (
    "INSERT INTO window_keys (key, horizon, floor) VALUES (?, ?, 0) "
    "ON CONFLICT (key) DO UPDATE SET horizon = excluded.horizon "
    "WHERE excluded.horizon > horizon"
)
_PRUNABLE = f"""
SELECT rowid, running FROM window_events
WHERE key = ?1 AND at <= ?2 - (SELECT horizon FROM window_keys WHERE key = ?1)
ORDER BY at, running LIMIT {_PRUNE_BATCH}
"""
_HELD = "SELECT rowid, key, at, units FROM window_events WHERE ticket = ? AND rowid IN ({})"
_SETTLE = "UPDATE window_events SET units = ?, ticket = NULL WHERE rowid = ?"
_BREAKER_STATE = "SELECT state FROM breakers WHERE key = ?"
_KEY_TABLES = {"agent": "api_keys", "approver": "approver_keys"}


def _key_table(kind: str) -> str:
    """The table of ``kind``'s keys (only these two names ever reach SQL)."""
    try:
        return _KEY_TABLES[kind]
    except KeyError:
        raise ValueError(f"no keys of kind {kind!r}; kinds: agent, approver") from None


#: reservations settled without a write that this store remembers, at most
_MAX_SETTLED = 100_000


@functools.cache
def _running_sums(count: int) -> str:
    """One statement for a key (``?1``) at a moment (``?2``): its running sum up to then,
    its newest and oldest event times, and its running sum up to each of ``count`` window
    starts (``?3`` …). A window's total is the first minus its start's. Each is one probe
    of the (key, at, running) index."""
    upto = (
        "COALESCE((SELECT running FROM window_events WHERE key = ?1 AND at <= ?{} "
        "ORDER BY at DESC, running DESC LIMIT 1), base.floor)"
    )
    starts = ", ".join(upto.format(3 + i) for i in range(count))
    return (
        f"SELECT {upto.format(2)}, "
        "(SELECT max(at) FROM window_events WHERE key = ?1), "
        "(SELECT min(at) FROM window_events WHERE key = ?1), "
        f"{starts} "
        "FROM (SELECT COALESCE((SELECT floor FROM window_keys WHERE key = ?1), 0) AS floor) "
        "AS base"
    )


def _prune(db: sqlite3.Connection, key: str, now: int) -> None:
    """Delete up to a batch of ``key``'s events older than its horizon; their running sum
    becomes the key's floor (what every remaining window starts from)."""
    rows = db.execute(_PRUNABLE, (key, now)).fetchall()
    if rows:
        db.execute(
            f"DELETE FROM window_events WHERE rowid IN ({', '.join('?' * len(rows))})",
            [row for row, _ in rows],
        )
        db.execute(
            "UPDATE window_keys SET floor = max(floor, ?) WHERE key = ?",
            (max(s for _, s in rows), key),
        )


def _reservation(reservation: str) -> tuple[int, list[int]] | None:
    """``(ticket, event rowids)`` named by a reservation id, or None when it names none."""
    ticket, _, rest = reservation.partition(".")
    try:
        named = int(ticket, 16), [int(row) for row in rest.split(".")]
    except ValueError:
        return None
    if len(named[1]) > _MAX_ROWS or not all(0 <= n < 1 << 63 for n in (named[0], *named[1])):
        return None
    return named


def _decode_breaker(data: str) -> breaker.Breaker:
    try:
        return breaker.decode(data)
    except ValueError:
        # A damaged row must not let calls through a breaker that may be open.
        raise sqlite3.DatabaseError("a stored breaker is damaged") from None


def _load_breaker(db: sqlite3.Connection, key: str) -> breaker.Breaker:
    row = db.execute("SELECT data FROM breakers WHERE key = ?", (key,)).fetchone()
    return _CLOSED if row is None else _decode_breaker(row[0])


def _save_breaker(db: sqlite3.Connection, key: str, state: breaker.Breaker) -> None:
    if state.idle:  # closed with nothing counted: the same as no row
        db.execute("DELETE FROM breakers WHERE key = ?", (key,))
    else:
        db.execute(
            "INSERT OR REPLACE INTO breakers (key, state, data) VALUES (?, ?, ?)",
            (key, str(state.state), breaker.encode(state)),
        )


_CLOSED = breaker.Breaker()
_ALLOWED = BreakerDecision(True, BreakerState.CLOSED)


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
