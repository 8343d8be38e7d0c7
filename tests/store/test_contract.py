"""One contract suite for every store backend (memory and a real SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentguard.audit import AuditEntry
from agentguard.errors import StoreUnavailable
from agentguard.store import (
    AuditQuery,
    KeyRecord,
    Kill,
    KillScope,
    Store,
    open_store,
)

T0 = datetime(2026, 3, 15, 14, 32, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    s = open_store(url)
    yield s
    s.close()


def entry(
    agent: str = "a", tool: str = "t", decision: str = "allow", at: datetime = T0
) -> AuditEntry:
    return AuditEntry(
        timestamp=at,
        kind="action",
        agent_id=agent,
        action=tool,
        decision=decision,
        status="executed",
    )


def test_audit_append_chains_and_searches(store: Store) -> None:
    first = store.append(entry("a", "t1"))
    second = store.append(entry("b", "t2", "deny", T0 + timedelta(hours=1)))
    assert (first.seq, second.seq) == (1, 2) and second.prev_hash == first.hash
    assert [r.seq for r in store.search(AuditQuery(agent="b"))] == [2]
    assert [r.seq for r in store.search(AuditQuery(decision="allow"))] == [1]
    assert [r.seq for r in store.search(AuditQuery(tool="t1"))] == [1]
    assert [r.seq for r in store.search(AuditQuery(since=T0 + timedelta(minutes=1)))] == [2]
    assert [r.seq for r in store.search(AuditQuery(limit=1, newest_first=True))] == [2]
    assert store.count() == 2 and store.verify().ok


def test_audit_search_after_seq_reads_each_record_once_in_order(store: Store) -> None:
    for n in range(5):
        store.append(entry("a" if n % 2 else "b", f"t{n}", at=T0 + timedelta(minutes=n)))

    def seqs(**filters: Any) -> list[int]:
        return [r.seq for r in store.search(AuditQuery(**filters))]

    assert seqs(after_seq=0) == [1, 2, 3, 4, 5]
    assert seqs(after_seq=2) == [3, 4, 5]
    assert seqs(after_seq=2, limit=2) == [3, 4]
    assert seqs(after_seq=4, limit=2) == [5]
    assert seqs(after_seq=5) == []
    assert seqs(after_seq=-1, limit=1) == [1]
    # combined with the other filters (AND), and read back to front
    assert seqs(after_seq=1, agent="a") == [2, 4]
    assert seqs(after_seq=1, since=T0 + timedelta(minutes=3)) == [4, 5]
    assert seqs(after_seq=2, newest_first=True, limit=2) == [5, 4]


def test_keys_add_get_revoke_list(store: Store) -> None:
    record = KeyRecord(
        "abc123abc123", "a", "h" * 64, T0, T0 + timedelta(days=1), None, frozenset({"t"})
    )
    store.add_key(record)
    assert store.get_key("abc123abc123") == record
    assert store.get_key("missing") is None
    assert store.revoke_key("abc123abc123", T0) and not store.revoke_key("abc123abc123", T0)
    [listed] = store.list_keys()
    assert listed.revoked_at == T0 and listed.state(T0) == "revoked"


def test_kill_switch_scopes(store: Store) -> None:
    assert store.find_kill("a", "t") is None
    store.set_kill(Kill(KillScope.TOOL, "t", "why", T0))
    assert store.find_kill("a", "t").scope is KillScope.TOOL  # type: ignore[union-attr]
    assert store.find_kill("a", "other") is None
    store.set_kill(Kill(KillScope.AGENT, "a", "why", T0))
    store.set_kill(Kill(KillScope.ALL, "*", "all", T0))
    assert store.find_kill("b", "x").scope is KillScope.ALL  # type: ignore[union-attr]
    assert len(store.list_kills()) == 3
    assert store.clear_kill(KillScope.ALL, "*") and not store.clear_kill(KillScope.ALL, "*")
    assert store.find_kill("a", "x").scope is KillScope.AGENT  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost", "unsupported store URL"),
        ("sqlite://host/x.db", "bad SQLite URL"),
        ("sqlite:///x.db?mode=ro", "unknown SQLite URL option"),
        ("sqlite:///no/such/folder/x.db", "does not exist"),
    ],
)
def test_bad_store_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(StoreUnavailable, match=message):
        open_store(url)


def test_sqlite_uses_wal_and_requested_sync(tmp_path: Path) -> None:
    import sqlite3

    store = open_store(f"sqlite:///{tmp_path / 'w.db'}?synchronous=full")
    store.append(entry())
    store.close()
    db = sqlite3.connect(tmp_path / "w.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
