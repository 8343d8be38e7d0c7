"""The SQLite store's counters and circuit breakers (:class:`~agentguard.store.base.
CounterStore`, :class:`~agentguard.store.base.BreakerStore`), mixed into
:class:`agentguard.store.sqlite.SQLiteStore`.

Counters are exact sliding logs in ``window_events``: each event carries its key's running
total, so a window's total is two index probes however many events it holds; an admission
checks every window and inserts its events in one ``BEGIN IMMEDIATE`` transaction. Breakers
are one row per key, read alone on the hot path while closed.
"""

from __future__ import annotations

import functools
import secrets
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from agentguard import breaker
from agentguard.breaker import (
    BreakerDecision,
    BreakerSettings,
    BreakerSnapshot,
    BreakerState,
    BreakerTransition,
)
from agentguard.store.base import (
    NOTHING_ASKED,
    Admission,
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

T = TypeVar("T")


class SQLiteCounters:
    """The counter and breaker methods of the SQLite store."""

    if TYPE_CHECKING:
        _lock: Any
        _horizons: dict[str, int]
        _settled: set[str]

        def _run(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

        def _write(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

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
