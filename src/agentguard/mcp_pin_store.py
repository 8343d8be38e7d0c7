"""Where MCP pins live (:mod:`agentguard.mcp_pins` says what they mean): the
``mcp_pins`` table of a SQLite store's file, or this process's memory for any other store.

Every change is one atomic step: on SQLite one ``BEGIN IMMEDIATE`` transaction through the
store's own locked connection, so several proxies on one file agree on each pin. A damaged
row reads as a store failure, never as an approval.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

from agentguard.errors import AgentGuardError
from agentguard.store import SQLiteStore, Store

T = TypeVar("T")

PinState = Literal["approved", "changed"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS mcp_pins (
    server      TEXT NOT NULL,
    tool        TEXT NOT NULL,
    fingerprint TEXT NOT NULL,            -- the approved definition
    state       TEXT NOT NULL CHECK (state IN ('approved', 'changed')),
    observed    TEXT,                     -- the definition last offered, while changed
    first_seen  TEXT NOT NULL,            -- ISO 8601, UTC
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (server, tool)
)
"""
_COLUMNS = "server, tool, fingerprint, state, observed, first_seen, approved_by, approved_at"


class PinError(AgentGuardError):
    """A pin could not be approved; nothing was changed."""

    code = "mcp.pin_error"


@dataclass(frozen=True, slots=True)
class Pin:
    """One tool of one server as a person (or the policy) approved it."""

    server: str
    tool: str
    fingerprint: str
    state: PinState
    first_seen: datetime
    approved_by: str
    approved_at: datetime
    #: while ``changed``: the fingerprint the server offers now (what approving accepts)
    observed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "tool": self.tool,
            "fingerprint": self.fingerprint,
            "state": self.state,
            "observed": self.observed,
            "first_seen": _iso(self.first_seen),
            "approved_by": self.approved_by,
            "approved_at": _iso(self.approved_at),
        }


class PinStore(Protocol):
    """Where pins live. Every method is one atomic step, whatever the backend."""

    def get(self, server: str, tool: str) -> Pin | None: ...

    def list(self, server: str | None = None) -> list[Pin]: ...

    def add(self, pin: Pin) -> Pin:
        """Insert ``pin`` unless the tool is pinned already; returns the pin as stored."""
        ...

    def mark_changed(self, server: str, tool: str, observed: str) -> tuple[Pin, bool] | None:
        """Record that the server offers ``observed`` instead of the approved definition;
        True when that is news (the state or the observed fingerprint changed). None when
        the tool has no pin."""
        ...

    def approve(self, server: str, tool: str, by: str, at: datetime) -> tuple[Pin, Pin]:
        """Accept the observed definition of a ``changed`` pin; (before, after). Raises
        :class:`PinError` when there is no such pin or nothing to approve."""
        ...


class MemoryPins:
    """Pins of a ``memory://`` store: this process only."""

    def __init__(self) -> None:
        self._pins: dict[tuple[str, str], Pin] = {}
        self._lock = threading.Lock()

    def get(self, server: str, tool: str) -> Pin | None:
        with self._lock:
            return self._pins.get((server, tool))

    def list(self, server: str | None = None) -> list[Pin]:
        with self._lock:
            pins = [p for p in self._pins.values() if server is None or p.server == server]
        return sorted(pins, key=lambda p: (p.server, p.tool))

    def add(self, pin: Pin) -> Pin:
        with self._lock:
            return self._pins.setdefault((pin.server, pin.tool), pin)

    def mark_changed(self, server: str, tool: str, observed: str) -> tuple[Pin, bool] | None:
        with self._lock:
            current = self._pins.get((server, tool))
            if current is None:
                return None
            news = current.state != "changed" or current.observed != observed
            pin = replace(current, state="changed", observed=observed)
            self._pins[(server, tool)] = pin
            return pin, news

    def approve(self, server: str, tool: str, by: str, at: datetime) -> tuple[Pin, Pin]:
        with self._lock:
            before = _approvable(self._pins.get((server, tool)), server, tool)
            after = _approved(before, by, at)
            self._pins[(server, tool)] = after
            return before, after


class SQLitePins:
    """Pins in the ``mcp_pins`` table of a SQLite store's file, through the store's own
    locked connection (each change one ``BEGIN IMMEDIATE`` transaction, so several proxies
    on one file agree)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._write(lambda db: db.execute(SCHEMA))

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return self._store._run(work)

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return self._store._write(work)

    def get(self, server: str, tool: str) -> Pin | None:
        return self._read(lambda db: _select(db, server, tool))

    def list(self, server: str | None = None) -> list[Pin]:
        sql = f"SELECT {_COLUMNS} FROM mcp_pins"
        params: tuple[str, ...] = ()
        if server is not None:
            sql += " WHERE server = ?"
            params = (server,)
        sql += " ORDER BY server, tool"
        return self._read(lambda db: [_decode(row) for row in db.execute(sql, params)])

    def add(self, pin: Pin) -> Pin:
        def work(db: sqlite3.Connection) -> Pin:
            db.execute(
                f"INSERT OR IGNORE INTO mcp_pins ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                _row(pin),
            )
            stored = _select(db, pin.server, pin.tool)
            assert stored is not None
            return stored

        return self._write(work)

    def mark_changed(self, server: str, tool: str, observed: str) -> tuple[Pin, bool] | None:
        def work(db: sqlite3.Connection) -> tuple[Pin, bool] | None:
            current = _select(db, server, tool)
            if current is None:
                return None
            if current.state == "changed" and current.observed == observed:
                return current, False
            db.execute(
                "UPDATE mcp_pins SET state = 'changed', observed = ? WHERE server = ? AND tool = ?",
                (observed, server, tool),
            )
            return replace(current, state="changed", observed=observed), True

        return self._write(work)

    def approve(self, server: str, tool: str, by: str, at: datetime) -> tuple[Pin, Pin]:
        def work(db: sqlite3.Connection) -> tuple[Pin, Pin]:
            before = _approvable(_select(db, server, tool), server, tool)
            after = _approved(before, by, at)
            db.execute(
                "UPDATE mcp_pins SET fingerprint = ?, state = 'approved', observed = NULL, "
                "approved_by = ?, approved_at = ? WHERE server = ? AND tool = ?",
                (after.fingerprint, by, _iso(at), server, tool),
            )
            return before, after

        return self._write(work)  # a PinError inside rolls back and is raised as it is


_OPENED: weakref.WeakKeyDictionary[Store, PinStore] = weakref.WeakKeyDictionary()
_OPENED_LOCK = threading.Lock()


def open_pins(store: Store) -> PinStore:
    """The pins kept with ``store``: in its SQLite file, or (any other store) in this
    process's memory, one set per store object, shared by everyone who asks."""
    with _OPENED_LOCK:
        pins = _OPENED.get(store)
        if pins is None:
            pins = SQLitePins(store) if isinstance(store, SQLiteStore) else MemoryPins()
            _OPENED[store] = pins
        return pins


# ------------------------------------------------------------------------------ plumbing


def _approvable(pin: Pin | None, server: str, tool: str) -> Pin:
    if pin is None:
        raise PinError(f"server {server!r} has no pin for tool {tool!r}", code="mcp.pin_not_found")
    if pin.state != "changed" or pin.observed is None:
        raise PinError(
            f"tool {tool!r} of server {server!r} has not changed: nothing to approve",
            code="mcp.pin_not_changed",
        )
    return pin


def _approved(pin: Pin, by: str, at: datetime) -> Pin:
    assert pin.observed is not None
    return replace(
        pin, fingerprint=pin.observed, state="approved", observed=None, approved_by=by,
        approved_at=at,
    )  # fmt: skip


def _select(db: sqlite3.Connection, server: str, tool: str) -> Pin | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM mcp_pins WHERE server = ? AND tool = ?", (server, tool)
    ).fetchone()
    return None if row is None else _decode(row)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _row(pin: Pin) -> tuple[Any, ...]:
    return (
        pin.server, pin.tool, pin.fingerprint, pin.state, pin.observed, _iso(pin.first_seen),
        pin.approved_by, _iso(pin.approved_at),
    )  # fmt: skip


def _decode(row: Any) -> Pin:
    try:
        state = row[3]
        if state not in ("approved", "changed"):
            raise ValueError("state")
        return Pin(
            server=str(row[0]),
            tool=str(row[1]),
            fingerprint=str(row[2]),
            state=state,
            observed=None if row[4] is None else str(row[4]),
            first_seen=datetime.fromisoformat(row[5]),
            approved_by=str(row[6]),
            approved_at=datetime.fromisoformat(row[7]),
        )
    except (TypeError, ValueError):
        # A damaged pin must never read as an approval.
        raise sqlite3.DatabaseError("a stored MCP pin is damaged") from None
