"""The rollback engine against tools with real state in a SQLite file, on the memory and
SQLite stores: each kind of undo puts the state back, newest action first, once; a failing
undo stops the run and says what remains; a dry run changes nothing; every undo is audited
and no record holds a sensitive value."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.rollback.conftest import Act

from agentguard import Action, AgentGuardError, Guard
from agentguard.clock import ManualClock
from agentguard.journal import JournalState
from agentguard.policy import parse_policy
from agentguard.rollback import Rollback
from agentguard.rollback_report import IRREVERSIBLE, NO_UNDO, NOT_JOURNALED
from agentguard.store.base import AuditQuery


def rows(state: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as conn:
        return conn.execute(sql, params).fetchall()


def undo_log(state: str) -> list[tuple[str, str]]:
    return [(t, x) for t, x in rows(state, "SELECT tool, target FROM undo_log ORDER BY seq")]


def undo_records(guard: Guard) -> list[dict[str, Any]]:
    found = guard.store.search(AuditQuery(decision="rollback.undo"))
    return [json.loads(r.body) for r in found]


# ------------------------------------------------------------ kinds of undo


def test_undo_shorthand_passes_the_original_arguments_and_result(
    act: Act, rollback: Rollback, state: str
) -> None:
    created = act("create_post", post_id="p1", title="Hello")
    assert rows(state, "SELECT id FROM posts") == [("p1",)]

    report = rollback.run(rollback.plan(action=created.id), by="alice")

    assert report.ok and [e.action_id for e in report.undone] == [created.id]
    assert rows(state, "SELECT id FROM posts") == []
    assert undo_log(state) == [("delete_post", "p1")]  # found through result["post_id"]
    assert report.lines() == [f"undone create_post (action {created.id}) by delete_post"]


def test_undo_shorthand_without_a_result_parameter_gets_the_original_arguments(
    act: Act, rollback: Rollback, state: str
) -> None:
    act("create_post", post_id="p1", title="Hello")
    published = act("publish_post", post_id="p1")
    assert rows(state, "SELECT published FROM posts") == [(1,)]

    assert rollback.run(rollback.plan(action=published.id), by="alice").ok

    assert rows(state, "SELECT id, published FROM posts") == [("p1", 0)]


@pytest.mark.parametrize("amount", ["0.10", "1234567.89", "12345678901234567890.123456789"])
def test_undo_args_mapping_reverses_the_exact_decimal_amount(
    act: Act, rollback: Rollback, state: str, amount: str
) -> None:
    refund = act("process_refund", order_id="o1", amount=Decimal(amount))

    assert rollback.run(rollback.plan(action=refund.id), by="alice").ok

    # refund_id came from the result, the amount is the very Decimal refunded: its text
    # is the same, trailing zeros and all (a double would have lost digits of the last)
    assert rows(state, "SELECT id, amount, reversed FROM refunds") == [("rf_o1", amount, amount)]


def test_a_snapshot_is_restored_and_a_value_that_was_absent_is_removed(
    act: Act, rollback: Rollback, state: str
) -> None:
    act("set_price", sku="mug", price=Decimal("5.00"))
    first = act("set_price", sku="mug", price=Decimal("9.99"), session="s1")
    act("set_price", sku="cap", price=Decimal("3.50"), session="s1")
    assert rows(state, "SELECT sku, price FROM prices ORDER BY sku") == [
        ("cap", "3.50"),
        ("mug", "9.99"),
    ]

    report = rollback.run(rollback.plan(session="s1"), by="alice")

    assert report.ok and len(report.undone) == 2
    assert rows(state, "SELECT sku, price FROM prices") == [("mug", "5.00")]
    assert first.id in {e.action_id for e in report.undone}


def test_an_async_undo_tool_is_run_to_completion(act: Act, rollback: Rollback, state: str) -> None:
    act("create_post", post_id="p1", title="Hello")
    labelled = act("add_label", post_id="p1", label="new")
    assert rows(state, "SELECT title FROM posts") == [("Hello [new]",)]

    assert rollback.run(rollback.plan(action=labelled.id), by="alice").ok

    assert rows(state, "SELECT title FROM posts") == [("Hello",)]


# ------------------------------------------------------- order and repetition


def test_the_newest_action_is_undone_first(act: Act, rollback: Rollback, state: str) -> None:
    ran = [
        act("create_post", post_id="p1", title="One", session="s1"),
        act("publish_post", post_id="p1", session="s1"),
        act("create_post", post_id="p2", title="Two", session="s1"),
        act("add_label", post_id="p2", label="hot", session="s1"),
        act("process_refund", order_id="o9", amount=Decimal("7.25"), session="s1"),
    ]

    plan = rollback.plan(session="s1")
    report = rollback.run(plan, by="alice")

    newest_first = [a.id for a in reversed(ran)]
    assert [e.action_id for e in plan.entries] == newest_first
    assert [e.action_id for e in report.undone] == newest_first
    assert undo_log(state) == [
        ("reverse_refund", "rf_o9"),
        ("remove_label", "p2"),
        ("delete_post", "p2"),
        ("unpublish_post", "p1"),
        ("delete_post", "p1"),
    ]
    assert rows(state, "SELECT COUNT(*) FROM posts") == [(0,)]


def test_rolling_back_twice_undoes_nothing_twice(act: Act, rollback: Rollback, state: str) -> None:
    act("create_post", post_id="p1", title="One", session="s1")
    act("publish_post", post_id="p1", session="s1")
    plan = rollback.plan(session="s1")
    assert len(rollback.run(plan, by="alice").undone) == 2

    again = rollback.plan(session="s1")
    assert again.entries == () and len(again.already_undone) == 2
    assert rollback.run(again, by="alice").lines() == [
        "nothing to undo (session 's1'; 2 undone before)"
    ]
    stale = rollback.run(plan, by="bob")  # the old plan, run again: every entry is claimed
    assert stale.undone == () and len(stale.skipped) == 2 and stale.ok
    assert len(undo_log(state)) == 2


# ------------------------------------------------------------------ failures


def test_a_failing_undo_stops_the_run_and_the_report_names_what_remains(
    act: Act, rollback: Rollback, guard: Guard, state: str
) -> None:
    create1 = act("create_post", post_id="p1", title="One", session="s1")
    publish1 = act("publish_post", post_id="p1", session="s1")
    create2 = act("create_post", post_id="p2", title="Two", session="s1")
    publish2 = act("publish_post", post_id="p2", session="s1")
    rows(state, "UPDATE posts SET locked = 1 WHERE id = 'p1'")

    report = rollback.run(rollback.plan(session="s1"), by="alice")

    assert not report.ok
    assert [e.action_id for e in report.undone] == [publish2.id, create2.id]
    assert report.failed is not None and report.failed.entry.action_id == publish1.id
    assert report.failed.error_type == "PermissionError"
    assert "locked by an editor" in report.failed.message
    assert [e.action_id for e in report.remaining] == [create1.id]  # not tried
    assert report.lines()[2:] == [
        f"failed: publish_post (action {publish1.id}) by unpublish_post: "
        "PermissionError: the post is locked by an editor",
        f"not undone: create_post (action {create1.id}) (the rollback stopped)",
    ]
    assert rows(state, "SELECT id, published FROM posts") == [("p1", 1)]
    failed = guard.store.journal_get(publish1.id)
    assert failed is not None and (failed.state, failed.note) == (
        JournalState.DONE,
        "PermissionError",
    )
    statuses = [(r["metadata"]["action"], r["status"]) for r in undo_records(guard)]
    assert statuses == [(publish2.id, "undone"), (create2.id, "undone"), (publish1.id, "failed")]
    assert undo_records(guard)[-1]["metadata"]["error"] == "PermissionError"

    rows(state, "UPDATE posts SET locked = 0")  # the editor lets go: the rest can be undone
    retry = rollback.run(rollback.plan(session="s1"), by="alice")
    assert [e.action_id for e in retry.undone] == [publish1.id, create1.id]
    assert rows(state, "SELECT COUNT(*) FROM posts") == [(0,)]


def test_a_failed_undo_never_shows_the_sensitive_value_in_report_or_record(
    act: Act, rollback: Rollback, guard: Guard, state: str
) -> None:
    card = "card-HX93-TTQ-0047"
    charged = act("charge_card", order_id="o1", amount=Decimal("20.00"), card_number=card)
    rows(state, "INSERT INTO closed_cards VALUES (?)", card)

    report = rollback.run(rollback.plan(action=charged.id), by="alice")

    assert report.failed is not None and report.failed.error_type == "ValueError"
    assert card not in report.failed.message and "***" in report.failed.message
    assert card not in report.as_text() and card not in json.dumps(report.as_dict())
    (record,) = undo_records(guard)
    assert record["metadata"]["args"]["card_number"] == "***"
    bodies = [r.body for r in guard.store.search(AuditQuery())]
    assert bodies and not any(card in body for body in bodies)


def test_a_failing_snapshot_tool_stops_the_action(
    guard: Guard, rollback: Rollback, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-folder" / "state.db")
    action = Action(agent="bot", tool="set_price", args={"db": missing, "sku": "a", "price": 1})

    with pytest.raises(AgentGuardError) as info:
        rollback.before(action)

    assert info.value.code == "rollback.snapshot_failed"
    assert (
        "'set_price' was not run" in info.value.message and "price_snapshot" in info.value.message
    )
    assert missing not in str(info.value) and info.value.__cause__ is None


def test_a_result_the_journal_cannot_keep_is_a_clear_error(rollback: Rollback, state: str) -> None:
    action = Action(
        agent="bot", tool="create_post", args={"db": state, "post_id": "p", "title": "t"}
    )
    with pytest.raises(AgentGuardError) as info:
        rollback.after(action, object(), None)
    assert info.value.code == "rollback.journal_failed"
    assert "'create_post' ran but cannot be rolled back" in info.value.message


def test_an_undo_the_policy_no_longer_names_is_refused(
    act: Act, guard: Guard, rollback: Rollback, policy_path: Path, state: str
) -> None:
    created = act("create_post", post_id="p1", title="One")
    text = policy_path.read_text(encoding="utf-8").replace(
        "undo: delete_post", "undo: publish_post"
    )
    guard.policy = parse_policy(text)

    report = rollback.run(rollback.plan(action=created.id), by="alice")

    assert report.failed is not None and report.failed.error_type == "AgentGuardError"
    assert "no longer undone by 'delete_post'" in report.failed.message
    assert rows(state, "SELECT id FROM posts") == [("p1",)]


def test_a_stopped_agent_is_still_rolled_back(act: Act, guard: Guard, rollback: Rollback) -> None:
    created = act("create_post", post_id="p1", title="One")
    guard.kill(agent="bot", reason="it went rogue")
    assert rollback.run(rollback.plan(agent="bot", since=timedelta(hours=1)), by="alice").ok
    entry = guard.store.journal_get(created.id)
    assert entry is not None and entry.state is JournalState.UNDONE


# ---------------------------------------------------------- plans, dry runs


def test_a_dry_run_changes_nothing_and_names_the_actions_it_cannot_undo(
    act: Act, guard: Guard, rollback: Rollback, state: str
) -> None:
    created = act("create_post", post_id="p1", title="One", session="s1")
    mailed = act("send_email", to="ana@example.com", body="hi", session="s1")
    counted = act("count_posts", session="s1")
    published = act("publish_post", post_id="p1", session="s1")
    records = guard.store.count()

    report = rollback.run(rollback.plan(session="s1"), by="alice", dry_run=True)

    assert report.dry_run and report.ok and report.undone == ()
    assert report.lines() == [
        f"would undo publish_post (action {published.id}) by unpublish_post",
        f"would undo create_post (action {created.id}) by delete_post",
        f"cannot undo: count_posts (action {counted.id}): {NO_UNDO}",
        f"cannot undo: send_email (action {mailed.id}): {IRREVERSIBLE}",
    ]
    assert rows(state, "SELECT id, published FROM posts") == [("p1", 1)]
    assert undo_log(state) == [] and guard.store.count() == records
    assert {e.state for e in guard.store.journal_list()} == {JournalState.DONE}
    document = report.as_dict()
    assert [i["why"] for i in document["irreversible"]] == [NO_UNDO, IRREVERSIBLE]
    assert "ana@example.com" not in json.dumps(document) and state not in json.dumps(document)


def test_an_action_of_a_reversible_tool_without_a_journal_entry_is_named(
    guard: Guard, rollback: Rollback, state: str
) -> None:
    action = Action(
        agent="bot", tool="create_post", args={"db": state, "post_id": "p", "title": "t"}
    )
    guard._executor.rollback = None  # a process that did not journal (an older release)
    guard.execute(action)

    plan = rollback.plan(action=action.id)

    assert plan.entries == ()
    assert [(i.action_id, i.why) for i in plan.irreversible] == [(action.id, NOT_JOURNALED)]


def test_after_writes_nothing_for_a_tool_that_cannot_be_undone(
    act: Act, guard: Guard, rollback: Rollback
) -> None:
    act("count_posts")
    act("send_email", to="a@example.com", body="hi")
    assert guard.store.journal_list() == []


def test_an_agent_is_rolled_back_since_a_time_and_others_are_left_alone(
    act: Act, rollback: Rollback, clock: ManualClock, state: str
) -> None:
    act("create_post", post_id="old", title="Old")
    clock.advance(timedelta(hours=2))
    recent = act("create_post", post_id="new", title="New")
    act("create_post", post_id="theirs", title="Theirs", agent="helper")

    plan = rollback.plan(agent="bot", since=timedelta(hours=1))
    assert [e.action_id for e in plan.entries] == [recent.id]
    assert plan.scope.startswith("agent 'bot' since ")
    assert rollback.run(plan, by="alice").ok
    assert rows(state, "SELECT id FROM posts ORDER BY id") == [("old",), ("theirs",)]
    since = clock.now() - timedelta(hours=3)
    assert len(rollback.plan(agent="bot", since=since).entries) == 1  # a moment works too


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ({}, "exactly one of"),
        ({"action": "a", "session": "s"}, "exactly one of"),
        ({"session": "s", "agent": "bot", "since": timedelta(hours=1)}, "exactly one of"),
        ({"agent": "bot"}, "needs since"),
        ({"action": "a", "since": timedelta(hours=1)}, "does not apply"),
        ({"session": "s", "since": timedelta(0)}, "positive"),
        ({"agent": "bot", "since": "1h"}, "timezone-aware"),
    ],
)
def test_a_scope_that_is_not_exactly_one_thing_is_refused(
    rollback: Rollback, scope: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rollback.plan(**scope)


# ------------------------------------------------------------------ records


def test_every_undo_leaves_one_record_and_the_chain_holds(
    act: Act, guard: Guard, rollback: Rollback
) -> None:
    created = act("create_post", post_id="p1", title="One", session="s1")
    refund = act("process_refund", order_id="o1", amount=Decimal("3.30"), session="s1")
    before = guard.store.count()

    rollback.run(rollback.plan(session="s1"), by="alice")

    records = undo_records(guard)
    assert guard.store.count() == before + 2
    assert [(r["kind"], r["action"], r["status"], r["agent_id"]) for r in records] == [
        ("control", "agentguard.rollback.undo", "undone", "bot")
    ] * 2
    first = records[0]["metadata"]
    assert (first["action"], first["tool"], first["undo_tool"], first["by"]) == (
        refund.id,
        "process_refund",
        "reverse_refund",
        "alice",
    )
    assert first["args"]["amount"] == "3.30" and "error" not in first
    assert records[1]["metadata"]["action"] == created.id
    assert guard.store.verify().ok


def test_a_rollback_stops_at_an_entry_another_caller_is_undoing_until_it_is_released(
    act: Act, guard: Guard, rollback: Rollback, clock: ManualClock, state: str
) -> None:
    created = act("create_post", post_id="p1", title="One", session="s1")
    published = act("publish_post", post_id="p1", session="s1")
    assert guard.store.journal_claim(published.id, clock.now()) is not None  # elsewhere

    plan = rollback.plan(session="s1")
    report = rollback.run(plan, by="alice")

    assert [e.action_id for e in plan.in_progress] == [published.id]
    assert not report.ok and report.undone == () and report.failed is None
    assert report.busy is not None and report.busy.action_id == published.id
    assert [e.action_id for e in report.remaining] == [created.id]  # older: it waits
    assert report.lines()[0].startswith(f"stopped at publish_post (action {published.id})")
    assert rows(state, "SELECT id, published FROM posts") == [("p1", 1)]

    # the other caller died mid-undo: an operator releases the entry, and it is undone
    assert rollback.release(published.id, by="alice")
    assert not rollback.release(published.id, by="alice")  # not undoing any more
    (released,) = guard.store.search(AuditQuery(decision="rollback.release"))
    assert json.loads(released.body)["status"] == "released"
    assert rollback.run(rollback.plan(session="s1"), by="alice").ok
    assert rows(state, "SELECT COUNT(*) FROM posts") == [(0,)]


def test_a_snapshot_tool_that_does_not_take_the_arguments_stops_the_action(
    guard: Guard, rollback: Rollback, state: str
) -> None:
    @guard.tool("price_snapshot")
    def narrow(db: str, sku: str) -> dict[str, Any]:
        return {}

    action = Action(agent="bot", tool="set_price", args={"db": state, "sku": "a", "price": 1})
    with pytest.raises(AgentGuardError) as info:
        rollback.before(action)
    assert info.value.code == "rollback.snapshot_failed"
    assert "does not fit its arguments (unexpected argument 'price')" in info.value.message


def test_the_journal_keeps_a_result_only_when_the_undo_reads_it(
    act: Act, guard: Guard, state: str
) -> None:
    created = act("create_post", post_id="p1", title="One")  # delete_post takes result=
    refund = act("process_refund", order_id="o1", amount=Decimal("1.00"))  # result.refund_id
    published = act("publish_post", post_id="p1")  # returns None; unpublish takes no result
    labelled = act("add_label", post_id="p1", label="x")

    def kept(action: Action) -> Any:
        entry = guard.store.journal_get(action.id)
        assert entry is not None
        return entry.result

    assert kept(created) == {"post_id": "p1"}
    assert kept(refund) == {"refund_id": "rf_o1", "status": "refunded"}
    assert kept(published) is None and kept(labelled) is None
