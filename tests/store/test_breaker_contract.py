"""The BreakerStore contract, run against every backend (``backend``, see backends.py).

The state machine itself is tested in ``tests/test_breaker.py``; here: each backend applies
it to the state it keeps, atomically, and shares it with every user of the store.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tests.store.backends import Backend

from agentguard.breaker import BreakerSettings, BreakerSnapshot, BreakerState
from agentguard.clock import ManualClock
from agentguard.errors import StoreUnavailable
from agentguard.store import SQLiteStore, Store

T0 = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
SETTINGS = BreakerSettings(errors=3, within=60 * SECOND, cooldown=300 * SECOND)
KEY = "tool:call_api"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def fail(store: Store, clock: ManualClock, times: int, key: str = KEY) -> list[bool]:
    """Record ``times`` failures a second apart; whether each one opened the breaker."""
    opened = []
    for _ in range(times):
        opened.append(store.breaker_record(key, False, SETTINGS, clock.now()).opened)
        clock.advance(SECOND)
    return opened


def test_an_unknown_breaker_is_closed(store: Store, clock: ManualClock) -> None:
    decision = store.breaker_admit(KEY, SETTINGS, clock.now())
    assert (decision.allowed, decision.state, decision.trial) == (True, CLOSED, False)
    assert store.breaker_state(KEY, clock.now()) == BreakerSnapshot(KEY, CLOSED)
    assert store.list_breakers(clock.now()) == []
    assert not store.reset_breaker(KEY)


def test_closed_open_half_open_closed(store: Store, clock: ManualClock) -> None:
    assert store.breaker_record(KEY, True, SETTINGS, clock.now()).after is CLOSED
    assert fail(store, clock, 3) == [False, False, True]
    opened_at = clock.now() - SECOND
    refused = store.breaker_admit(KEY, SETTINGS, clock.now())
    assert (refused.allowed, refused.state) == (False, OPEN)
    assert refused.retry_after == 299 * SECOND
    assert store.breaker_state(KEY, clock.now()).until == opened_at + 300 * SECOND

    clock.advance(299 * SECOND)
    trial = store.breaker_admit(KEY, SETTINGS, clock.now())
    assert (trial.allowed, trial.state, trial.trial) == (True, HALF_OPEN, True)
    second = store.breaker_admit(KEY, SETTINGS, clock.now())
    assert (second.allowed, second.state, second.retry_after) == (False, HALF_OPEN, 300 * SECOND)
    assert store.breaker_state(KEY, clock.now()).trials == 1

    change = store.breaker_record(KEY, True, SETTINGS, clock.now())
    assert (change.before, change.after, change.closed) == (HALF_OPEN, CLOSED, True)
    assert store.breaker_admit(KEY, SETTINGS, clock.now()).allowed
    assert fail(store, clock, 2) == [False, False]  # it starts counting afresh


def test_a_failed_trial_opens_it_again_with_a_fresh_cooldown(
    store: Store, clock: ManualClock
) -> None:
    fail(store, clock, 3)
    clock.advance(600 * SECOND)
    assert store.breaker_admit(KEY, SETTINGS, clock.now()).trial
    change = store.breaker_record(KEY, False, SETTINGS, clock.now())
    assert (change.before, change.after, change.opened) == (HALF_OPEN, OPEN, True)
    refused = store.breaker_admit(KEY, SETTINGS, clock.now())
    assert (refused.allowed, refused.retry_after) == (False, 300 * SECOND)


def test_a_call_that_never_ran_gives_its_trial_slot_back(store: Store, clock: ManualClock) -> None:
    fail(store, clock, 3)
    clock.advance(300 * SECOND)
    assert store.breaker_admit(KEY, SETTINGS, clock.now()).trial
    assert not store.breaker_admit(KEY, SETTINGS, clock.now()).allowed
    change = store.breaker_record(KEY, None, SETTINGS, clock.now())
    assert (change.before, change.after) == (HALF_OPEN, HALF_OPEN)
    assert store.breaker_admit(KEY, SETTINGS, clock.now()).trial


def test_the_error_rate_needs_enough_calls_and_a_rate_above_it(
    store: Store, clock: ManualClock
) -> None:
    rate = BreakerSettings(
        error_rate=Decimal("0.5"), min_calls=4, within=60 * SECOND, cooldown=60 * SECOND
    )
    outcomes = [False, False, True, True, False]  # 3 of 5 at the end; 2 of 2 was too few
    opened = [store.breaker_record(KEY, ok, rate, clock.now()).opened for ok in outcomes]
    assert opened == [False, False, False, False, True]
    assert store.breaker_state(KEY, clock.now()).state is OPEN


def test_breakers_are_independent_and_listed_by_key(store: Store, clock: ManualClock) -> None:
    fail(store, clock, 3, key="tool:b")
    fail(store, clock, 1, key="agent:a")
    assert store.breaker_admit("tool:other", SETTINGS, clock.now()).allowed
    listed = store.list_breakers(clock.now())
    assert [(s.key, s.state, s.failures) for s in listed] == [
        ("agent:a", CLOSED, 1),
        ("tool:b", OPEN, 0),
    ]


def test_an_operator_reset_closes_it_and_forgets_the_count(
    store: Store, clock: ManualClock
) -> None:
    fail(store, clock, 3)
    assert store.reset_breaker(KEY)
    assert store.breaker_admit(KEY, SETTINGS, clock.now()).allowed
    assert fail(store, clock, 2) == [False, False]
    assert not store.reset_breaker(KEY)  # closed: nothing to reset, but the count is gone
    assert fail(store, clock, 2) == [False, False]


def test_a_closed_breaker_forgets_failures_that_left_the_window(
    store: Store, clock: ManualClock
) -> None:
    fail(store, clock, 2)
    clock.advance(60 * SECOND)
    store.breaker_record(KEY, True, SETTINGS, clock.now())
    assert store.breaker_state(KEY, clock.now()).failures == 0
    assert store.list_breakers(clock.now()) == []  # nothing left worth keeping


def test_every_store_on_the_file_sees_one_breaker(backend: Backend, clock: ManualClock) -> None:
    if not backend.persistent:
        pytest.skip(f"the {backend.name} backend is one process's memory")
    first, second = backend.open("shared"), backend.open("shared")
    try:
        fail(first, clock, 2)
        assert second.breaker_record(KEY, False, SETTINGS, clock.now()).opened
        assert not first.breaker_admit(KEY, SETTINGS, clock.now()).allowed
        clock.advance(300 * SECOND)
        assert second.breaker_admit(KEY, SETTINGS, clock.now()).trial
        assert not first.breaker_admit(KEY, SETTINGS, clock.now()).allowed  # slot taken
    finally:
        first.close()
        second.close()


def test_trial_slots_are_handed_out_atomically(store: Store, clock: ManualClock) -> None:
    two = BreakerSettings(errors=1, within=60 * SECOND, cooldown=60 * SECOND, trial_calls=2)
    store.breaker_record(KEY, False, two, T0)
    later = T0 + 60 * SECOND
    allowed: list[bool] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait(timeout=30)
        for _ in range(10):
            allowed.append(store.breaker_admit(KEY, two, later).allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert allowed.count(True) == 2 and len(allowed) == 80


def test_a_damaged_stored_breaker_fails_closed(backend: Backend, clock: ManualClock) -> None:
    if backend.name != "sqlite":
        pytest.skip("only a file can be damaged from outside")
    store = backend.open("damaged")
    try:
        fail(store, clock, 3)
        assert isinstance(store, SQLiteStore)
        store._db.execute("UPDATE breakers SET data = 'not json'")
        with pytest.raises(StoreUnavailable):
            store.breaker_admit(KEY, SETTINGS, clock.now())
        with pytest.raises(StoreUnavailable):
            store.list_breakers(clock.now())
    finally:
        store.close()
