"""The store backends every contract suite runs against (fixtures in conftest.py): a new
backend is one more entry in ``BACKENDS``, with a marker when it needs a server."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agentguard.store import MemoryStore, SQLiteStore, Store, open_store


def _memory_events(store: Store, key: str) -> int:
    assert isinstance(store, MemoryStore)
    series = store._series.get(key)
    return 0 if series is None else len(series.times)


def _sqlite_events(store: Store, key: str) -> int:
    assert isinstance(store, SQLiteStore)
    row = store._db.execute("SELECT COUNT(*) FROM window_events WHERE key = ?", (key,)).fetchone()
    return int(row[0])


@dataclass
class Backend:
    """How to open stores of one backend. ``open()`` gives a new, empty store each time
    (with a new name); ``open(name)`` reopens the store of that name where it persists."""

    name: str
    url_for: Callable[[str], str]
    persistent: bool
    stored_events: Callable[[Store, str], int]  # how many events of a key it still keeps
    _names: Iterator[int] = field(default_factory=itertools.count)

    def open(self, name: str | None = None) -> Store:
        return open_store(self.url_for(name or f"s{next(self._names)}"))


def _memory(tmp_path: Path) -> Backend:
    return Backend("memory", lambda _: "memory://", False, _memory_events)


def _sqlite(tmp_path: Path) -> Backend:
    return Backend("sqlite", lambda name: f"sqlite:///{tmp_path / name}.db", True, _sqlite_events)


BACKENDS = [pytest.param(_memory, id="memory"), pytest.param(_sqlite, id="sqlite")]
