"""``rollback.transaction()``: a block that raises has its reversible actions undone,
newest first, and its exception goes on; a block that completes keeps them. Transactions
are per thread and per asyncio task; a nested one joins the outermost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from decimal import Decimal
from typing import Any

import pytest
from tests.rollback.conftest import Act

from agentguard.journal import JournalState
from agentguard.rollback import Rollback
from agentguard.rollback_report import IRREVERSIBLE
from agentguard.store import Store


class LaunchCancelled(Exception):
    pass


def rows(state: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as conn:
        return conn.execute(sql, params).fetchall()


def undo_log(state: str) -> list[tuple[str, str]]:
    return [(t, x) for t, x in rows(state, "SELECT tool, target FROM undo_log ORDER BY seq")]


def test_a_block_that_raises_is_undone_newest_first_and_the_exception_goes_on(
    act: Act, rollback: Rollback, state: str
) -> None:
    with pytest.raises(LaunchCancelled) as info, rollback.transaction() as tx:
        act("create_post", post_id="p1", title="Launch")
        act("publish_post", post_id="p1")
        act("process_refund", order_id="o1", amount=Decimal("12.50"))
        raise LaunchCancelled("called off")

    assert str(info.value) == "called off"
    assert undo_log(state) == [
        ("reverse_refund", "rf_o1"),
        ("unpublish_post", "p1"),
        ("delete_post", "p1"),
    ]
    assert rows(state, "SELECT COUNT(*) FROM posts") == [(0,)]
    report = info.value.rollback_report  # type: ignore[attr-defined]
    assert report is tx.report and report.ok and len(report.undone) == 3
    assert report.plan.scope == "transaction" and report.by == "transaction"
    assert not getattr(info.value, "__notes__", None)  # nothing to say: all undone


def test_a_block_that_completes_keeps_what_it_did(
    act: Act, rollback: Rollback, guard: Any, state: str
) -> None:
    with rollback.transaction() as tx:
        act("create_post", post_id="p1", title="Launch")
    assert len(tx.entries) == 1 and tx.report is None
    assert rows(state, "SELECT id FROM posts") == [("p1",)]
    assert {e.state for e in guard.store.journal_list()} == {JournalState.DONE}


def test_a_nested_transaction_joins_the_outermost(act: Act, rollback: Rollback, state: str) -> None:
    with pytest.raises(LaunchCancelled), rollback.transaction() as outer:
        act("create_post", post_id="p1", title="One")
        with rollback.transaction() as inner:
            assert inner is outer
            act("create_post", post_id="p2", title="Two")
        try:
            with rollback.transaction():
                act("create_post", post_id="p3", title="Three")
                raise LaunchCancelled("inner")
        except LaunchCancelled:
            pass  # caught inside the outer block: nothing is undone yet
        assert rows(state, "SELECT COUNT(*) FROM posts") == [(3,)]
        raise LaunchCancelled("outer")

    assert undo_log(state) == [("delete_post", "p3"), ("delete_post", "p2"), ("delete_post", "p1")]


def test_a_failed_undo_is_noted_on_the_original_exception(
    act: Act, rollback: Rollback, state: str
) -> None:
    with pytest.raises(LaunchCancelled) as info, rollback.transaction():
        act("create_post", post_id="p1", title="One")
        published = act("publish_post", post_id="p1")
        act("send_email", to="ana@example.com", body="we launched")
        rows(state, "UPDATE posts SET locked = 1")
        raise LaunchCancelled("called off")

    report = info.value.rollback_report  # type: ignore[attr-defined]
    assert not report.ok and report.failed.entry.action_id == published.id
    assert [i.why for i in report.irreversible] == [IRREVERSIBLE]
    (note,) = info.value.__notes__
    assert note.startswith("agentguard rollback:")
    assert f"failed: publish_post (action {published.id})" in note
    assert "not undone: create_post" in note and "cannot undo: send_email" in note
    assert "ana@example.com" not in note
    assert rows(state, "SELECT id FROM posts") == [("p1",)]


def test_a_rollback_that_cannot_reach_the_store_still_raises_the_original(
    act: Act, rollback: Rollback, guard: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Store = guard.store

    def down(*_: Any, **__: Any) -> None:
        from agentguard.errors import StoreUnavailable

        raise StoreUnavailable("the store is down")

    with pytest.raises(LaunchCancelled) as info, rollback.transaction():
        act("create_post", post_id="p1", title="One")
        monkeypatch.setattr(store, "journal_claim", down)
        raise LaunchCancelled("called off")

    (note,) = info.value.__notes__
    assert "could not be rolled back (StoreUnavailable)" in note


def test_each_thread_has_its_own_transaction(act: Act, rollback: Rollback, state: str) -> None:
    started, finished = threading.Event(), threading.Event()

    def elsewhere() -> None:
        started.wait(30)
        act("create_post", post_id="theirs", title="Not in the transaction")
        finished.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with pytest.raises(LaunchCancelled), rollback.transaction() as tx:
        act("create_post", post_id="mine", title="In it")
        started.set()
        assert finished.wait(30)
        raise LaunchCancelled("called off")
    thread.join(30)

    assert [e.args["post_id"] for e in tx.entries] == ["mine"]
    assert rows(state, "SELECT id FROM posts") == [("theirs",)]


def test_async_transactions_are_per_task(act: Act, rollback: Rollback, state: str) -> None:
    async def task(name: str, fail: bool) -> None:
        async with rollback.transaction():
            for index in range(3):
                act("create_post", post_id=f"{name}{index}", title=name)
                await asyncio.sleep(0)  # the two tasks interleave
            if fail:
                raise LaunchCancelled(name)

    async def main() -> list[BaseException | None]:
        return await asyncio.gather(task("kept", False), task("gone", True), return_exceptions=True)

    outcomes = asyncio.run(main())

    assert outcomes[0] is None and isinstance(outcomes[1], LaunchCancelled)
    assert rows(state, "SELECT id FROM posts ORDER BY id") == [("kept0",), ("kept1",), ("kept2",)]
    assert undo_log(state) == [("delete_post", f"gone{i}") for i in (2, 1, 0)]


def test_an_async_undo_in_an_async_transaction_runs_in_a_thread(
    act: Act, rollback: Rollback, state: str
) -> None:
    async def main() -> None:
        async with rollback.transaction():
            act("create_post", post_id="p1", title="Hello")
            act("add_label", post_id="p1", label="new")
            raise LaunchCancelled("called off")

    with pytest.raises(LaunchCancelled):
        asyncio.run(main())
    assert undo_log(state) == [("remove_label", "p1"), ("delete_post", "p1")]
