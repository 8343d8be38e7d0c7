"""The audit chain: verify passes untouched and names the record after any tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentguard import Guard
from agentguard.masking import MASK, mask, sensitive_values


@pytest.fixture
def logged(guard: Guard, tmp_path: Path) -> Path:
    agent = guard.agent("email_agent")
    for index in range(6):
        agent.call("read_inbox", folder=f"f{index}")
    assert guard.verify_audit().ok and guard.verify_audit().checked == 6
    guard.close()
    return tmp_path / "agentguard.db"


def _verify(path: Path) -> tuple[bool, int | None, str | None]:
    with _store(path) as store:
        result = store.verify()
    return result.ok, result.bad_seq, result.problem


class _store:
    def __init__(self, path: Path) -> None:
        from agentguard.store import SQLiteStore

        self.store = SQLiteStore(path)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def test_untouched_log_verifies(logged: Path) -> None:
    assert _verify(logged) == (True, None, None)


def test_edited_body_is_named(logged: Path) -> None:
    _sql(logged, "UPDATE audit SET body = replace(body, 'f2', 'f9') WHERE seq = 3")
    ok, bad, problem = _verify(logged)
    assert not ok and bad == 3 and "altered" in (problem or "")


def test_edited_index_column_is_named(logged: Path) -> None:
    _sql(logged, "UPDATE audit SET decision = 'deny' WHERE seq = 4")
    assert _verify(logged)[:2] == (False, 4)


def test_rehashed_edit_still_breaks_the_next_link(logged: Path) -> None:
    from agentguard.audit import chain_hash

    db = sqlite3.connect(logged)
    body, prev = db.execute("SELECT body, prev_hash FROM audit WHERE seq = 2").fetchone()
    body = body.replace("f1", "f8")
    digest = chain_hash(prev, 2, body)  # a forger who knows the formula
    db.execute("UPDATE audit SET body = ?, hash = ? WHERE seq = 2", (body, digest))
    db.commit()
    db.close()
    assert _verify(logged)[:2] == (False, 3)


@pytest.mark.parametrize("seq", [1, 3, 6])
def test_deleted_record_is_named(logged: Path, seq: int) -> None:
    _sql(logged, f"DELETE FROM audit WHERE seq = {seq}")
    ok, bad, problem = _verify(logged)
    assert not ok and bad == seq and "missing" in (problem or "")


def test_swapped_records_are_named(logged: Path) -> None:
    _sql(
        logged,
        "UPDATE audit SET seq = -2 WHERE seq = 2",
        "UPDATE audit SET seq = 2 WHERE seq = 4",
        "UPDATE audit SET seq = 4 WHERE seq = -2",
    )
    ok, bad, _ = _verify(logged)
    assert not ok and bad == 2


def test_swapped_contents_are_named(logged: Path) -> None:
    db = sqlite3.connect(logged)
    rows = {
        seq: row
        for seq, *row in db.execute(
            "SELECT seq, ts, agent, tool, decision, body, prev_hash, hash FROM audit"
        )
    }
    for seq, other in ((2, 5), (5, 2)):
        db.execute(
            "UPDATE audit SET ts=?, agent=?, tool=?, decision=?, body=?, prev_hash=?, hash=? "
            "WHERE seq = ?",
            (*rows[other], seq),
        )
    db.commit()
    db.close()
    assert _verify(logged)[:2] == (False, 2)


def test_appending_after_tampering_does_not_hide_it(logged: Path, starter: object) -> None:
    _sql(logged, "DELETE FROM audit WHERE seq = 6")
    with _store(logged) as store:
        guard = Guard(starter, store)  # type: ignore[arg-type]
        guard.register(lambda folder="inbox", limit=20: [], "read_inbox")
        guard.agent("email_agent").call("read_inbox")
        assert not store.verify().ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("ts", "'2000-01-01T00:00:00.000000Z'"),
        ("agent", "'financial_agent'"),
        ("tool", "NULL"),
        ("decision", "'deny'"),
    ],
)
def test_every_edited_index_column_is_named(logged: Path, column: str, value: str) -> None:
    _sql(logged, f"UPDATE audit SET {column} = {value} WHERE seq = 4")
    ok, bad, problem = _verify(logged)
    assert (ok, bad) == (False, 4)
    assert f"'{column}'" in (problem or "")


def test_an_edited_time_hides_a_record_from_search_but_not_from_verify(logged: Path) -> None:
    from datetime import UTC, datetime

    from agentguard.store import AuditQuery

    _sql(logged, "UPDATE audit SET ts = '2000-01-01T00:00:00.000000Z' WHERE seq = 2")
    with _store(logged) as store:
        since = datetime(2020, 1, 1, tzinfo=UTC)
        assert [r.seq for r in store.search(AuditQuery(since=since))] == [1, 3, 4, 5, 6]
        assert store.verify().bad_seq == 2


def test_an_index_column_verify_does_not_know_is_reported_not_ignored(logged: Path) -> None:
    _sql(logged, "ALTER TABLE audit ADD COLUMN session TEXT")
    ok, bad, problem = _verify(logged)
    assert (ok, bad) == (False, 1)
    assert "'session'" in (problem or "")


def test_a_log_cut_at_its_end_with_its_sequence_wound_back_passes_the_chain(
    logged: Path,
) -> None:
    # What the chain alone cannot see; tests/test_checkpoint.py shows checkpoints do.
    _sql(
        logged,
        "DELETE FROM audit WHERE seq = 6",
        "UPDATE sqlite_sequence SET seq = 5 WHERE name = 'audit'",
    )
    assert _verify(logged) == (True, None, None)


def test_the_memory_store_checks_its_index_too() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from agentguard.audit import AuditEntry
    from agentguard.store import MemoryStore

    store = MemoryStore()
    entry = AuditEntry(
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
        kind="action",
        agent_id="a",
        action="t",
        decision="allow",
        status="executed",
    )
    record = store.append(entry)
    assert store.verify().ok
    store._audit[0] = (replace(entry, agent_id="b"), record)  # what search filters on
    assert store.verify().bad_seq == 1


_secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=24)


@settings(max_examples=100)
@given(secret=_secret, noise=st.text(max_size=30))
def test_masking_removes_sensitive_values_everywhere(secret: str, noise: str) -> None:
    args = {"card_number": secret, "nested": {"password": secret}, "note": noise}
    values = sensitive_values(args, ["card_number"])
    masked = mask({"input": args, "echo": f"{noise}{secret}{noise}", "list": [secret]}, [], values)
    assert secret not in repr(masked)
    assert masked["input"]["card_number"] == MASK
