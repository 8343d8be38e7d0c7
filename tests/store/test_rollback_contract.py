"""The RollbackStore contract (the rollback journal), run against every backend.

An entry is kept with its raw values exactly (a Decimal comes back as the same Decimal),
listed oldest first, claimed by one caller only, and finished undone or back to done. A
value the journal cannot keep exactly is refused and nothing is kept. Time is explicit.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.store.backends import Backend

from agentguard.journal import TAG, JournalEntry, JournalState, UndoKind, dumps, loads
from agentguard.store import Store

T0 = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DONE, UNDOING, UNDONE = JournalState


def entry(action_id: str, *, at: datetime = T0, **changes: Any) -> JournalEntry:
    fields: dict[str, Any] = {
        "action_id": action_id,
        "agent": "bot",
        "tool": "process_refund",
        "at": at,
        "kind": UndoKind.UNDO,
        "undo_tool": "reverse_refund",
        "session": "s-1",
        "args": {"order_id": "o1", "amount": Decimal("12.50")},
        "result": {"refund_id": "rf_1"},
    }
    fields.update(changes)
    return JournalEntry(**fields)


def test_an_entry_comes_back_with_its_raw_values_exactly(store: Store) -> None:
    odd = {
        "amount": Decimal("0.10"),
        "big": Decimal("123456789012345678901234567890.000000001"),
        "exp": Decimal("1E+3"),
        "when": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 1, 2, 3, 4, 5),
        "day": date(2026, 2, 3),
        "clock": time(4, 5, 6),
        "gap": timedelta(days=-1, microseconds=3),
        "raw": b"\x00\xff",
        "pair": ("a", 1),
        "tags": {"x", "y"},
        "huge": 2**80,
        "nan": float("inf"),
        "nested": [{"k": [Decimal("1.5"), None, True]}],
        TAG: "a tool's own key that looks like the journal's tag",
    }
    kept = entry("a1", args=odd, result=odd, snapshot=odd, kind=UndoKind.SNAPSHOT)
    store.journal_add(kept)
    found = store.journal_get("a1")
    assert found == kept
    assert found is not None
    assert str(found.args["amount"]) == "0.10"  # not 0.1: the same Decimal
    assert type(found.args["pair"]) is tuple and found.args["when"].utcoffset() == 2 * 3600 * SECOND


def test_values_that_cannot_be_kept_exactly_are_refused_and_nothing_is_kept(store: Store) -> None:
    for bad in ({"x": object()}, {"x": {1: "int key"}}, {"x": "\ud800"}):
        with pytest.raises(ValueError) as info:
            store.journal_add(entry("b1", args=bad))
        assert "\ud800" not in str(info.value)
        assert store.journal_get("b1") is None
    with pytest.raises(ValueError):
        store.journal_add(entry("b1", result=object()))
    assert store.journal_list() == []


def test_an_action_has_one_entry(store: Store) -> None:
    store.journal_add(entry("c1"))
    with pytest.raises(ValueError, match="already"):
        store.journal_add(entry("c1", tool="other"))
    found = store.journal_get("c1")
    assert found is not None and found.tool == "process_refund"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        entry("d1", at=datetime(2026, 1, 1))


def test_entries_are_listed_oldest_first_and_filtered(store: Store) -> None:
    store.journal_add(entry("late", at=T0 + 5 * SECOND))
    store.journal_add(entry("tie-1", at=T0 + SECOND, agent="helper", session=None))
    store.journal_add(entry("tie-2", at=T0 + SECOND, session="s-2"))
    store.journal_add(entry("early", at=T0))

    def ids(**filters: Any) -> list[str]:
        return [e.action_id for e in store.journal_list(**filters)]

    assert ids() == ["early", "tie-1", "tie-2", "late"]  # equal times: the order added
    assert ids(agent="bot") == ["early", "tie-2", "late"]
    assert ids(session="s-1") == ["early", "late"]
    assert ids(action="tie-2") == ["tie-2"]
    assert ids(since=T0 + SECOND) == ["tie-1", "tie-2", "late"]
    assert ids(agent="bot", since=T0 + 2 * SECOND) == ["late"]
    assert store.journal_claim("early", T0) is not None
    assert ids(states=[DONE]) == ["tie-1", "tie-2", "late"]
    assert ids(states=[UNDOING]) == ["early"]
    assert ids(states=[]) == []


def test_a_claim_goes_to_the_first_caller_and_finish_moves_it_on(store: Store) -> None:
    store.journal_add(entry("e1"))
    first = store.journal_claim("e1", T0 + SECOND)
    assert first is not None and first.state is UNDOING and first.claimed_at == T0 + SECOND
    assert first.args == {"order_id": "o1", "amount": Decimal("12.50")}
    assert store.journal_claim("e1", T0 + 2 * SECOND) is None
    undone = store.journal_finish("e1", True, T0 + 3 * SECOND)
    assert undone is not None and undone.state is UNDONE and undone.undone_at == T0 + 3 * SECOND
    assert store.journal_claim("e1", T0 + 4 * SECOND) is None
    assert store.journal_finish("e1", True, T0 + 4 * SECOND) is None  # not undoing
    assert store.journal_claim("unknown", T0) is None
    assert store.journal_finish("unknown", False, T0) is None


def test_a_failed_undo_goes_back_to_done_with_its_note_and_may_be_claimed_again(
    store: Store,
) -> None:
    store.journal_add(entry("f1"))
    assert store.journal_claim("f1", T0) is not None
    failed = store.journal_finish("f1", False, T0 + SECOND, note="PermissionError")
    assert failed is not None
    assert (failed.state, failed.note, failed.claimed_at, failed.undone_at) == (
        DONE,
        "PermissionError",
        None,
        None,
    )
    again = store.journal_claim("f1", T0 + 2 * SECOND)
    assert again is not None and again.state is UNDOING
    done = store.journal_finish("f1", True, T0 + 3 * SECOND)
    assert done is not None and done.note is None


def test_threads_racing_to_claim_get_each_entry_once(store: Store) -> None:
    ids = [f"g{i}" for i in range(20)]
    for ident in ids:
        store.journal_add(entry(ident))
    won: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(8, timeout=30)

    def work(offset: int) -> None:
        ready.wait()
        for ident in ids[offset:] + ids[:offset]:
            if store.journal_claim(ident, T0) is not None:
                with lock:
                    won.append(ident)

    threads = [threading.Thread(target=work, args=(i * 3,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(won) == sorted(ids)


def test_the_journal_survives_reopening(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip("the memory store keeps nothing past its process")
    first = backend.open("kept")
    first.journal_add(entry("h1"))
    assert first.journal_claim("h1", T0) is not None
    first.close()
    second = backend.open("kept")
    try:
        found = second.journal_get("h1")
        assert found is not None and found.state is UNDOING
        assert found.args["amount"] == Decimal("12.50")
    finally:
        second.close()


# ------------------------------------------------------------------- the codec

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.decimals(allow_nan=False)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.binary()
    | st.dates()
    | st.times(timezones=st.none())
    | st.timedeltas()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8) | st.just(TAG), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_any_json_like_value_round_trips_exactly(value: Any) -> None:
    try:
        text = dumps(value)
    except ValueError:
        return  # a lone surrogate: refused, never altered
    back = loads(text)
    assert back == value
    assert repr(back) == repr(value)  # the same types and spellings (Decimal("0.10"))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(amount=st.decimals(allow_nan=False, allow_infinity=False))
def test_a_stored_decimal_is_the_same_decimal(backend: Backend, amount: Decimal) -> None:
    store = backend.open()
    try:
        store.journal_add(entry("i1", args={"amount": amount}))
        found = store.journal_get("i1")
        assert found is not None
        assert str(found.args["amount"]) == str(amount)
    finally:
        store.close()
