"""Where agentguard keeps state, chosen by URL.

* ``memory://`` — in this process only (tests, scripts).
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` — the default; add
  ``?synchronous=full`` to fsync every audit record.

Example::

    store = open_store("sqlite:///agentguard.db")
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from agentguard.errors import StoreUnavailable
from agentguard.store.base import (
    Admission,
    Approval,
    ApprovalState,
    ApprovalStore,
    AuditQuery,
    AuditStore,
    BreakerStore,
    CounterStore,
    KeyRecord,
    KeyStore,
    Kill,
    KillScope,
    KillSwitchStore,
    Store,
    WindowRequest,
)
from agentguard.store.memory import MemoryStore
from agentguard.store.sqlite import SQLiteStore

DEFAULT_URL = "sqlite:///agentguard.db"


def open_store(url: str = DEFAULT_URL) -> Store:
    """Open the store a URL names. Raises :class:`StoreUnavailable` with the reason."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return MemoryStore()
    if scheme == "sqlite":
        if parts.netloc:
            raise StoreUnavailable(
                f"bad SQLite URL {url!r}: write sqlite:///relative.db or sqlite:////abs/path.db"
            )
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise StoreUnavailable(f"bad SQLite URL {url!r}: it names no file")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(options) - {"synchronous"})
        if unknown:
            raise StoreUnavailable(f"unknown SQLite URL option {unknown[0]!r} (known: synchronous)")
        return SQLiteStore(Path(path), synchronous=options.get("synchronous", "normal").lower())
    raise StoreUnavailable(
        f"unsupported store URL {url!r}; use sqlite:///path.db or memory:// "
        "(Redis and PostgreSQL backends arrive in a later release)"
    )


__all__ = [
    "DEFAULT_URL",
    "Admission",
    "Approval",
    "ApprovalState",
    "ApprovalStore",
    "AuditQuery",
    "AuditStore",
    "BreakerStore",
    "CounterStore",
    "KeyRecord",
    "KeyStore",
    "Kill",
    "KillScope",
    "KillSwitchStore",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "WindowRequest",
    "open_store",
]
