"""The circuit breaker's state machine, pure: no store, time from a ManualClock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentguard.breaker import (
    RATE_SLICES,
    Breaker,
    BreakerSettings,
    BreakerState,
    BreakerTransition,
    admit,
    decode,
    encode,
    record,
    snapshot,
)
from agentguard.clock import ManualClock

SECOND = timedelta(seconds=1)
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
FIVE_IN_A_MINUTE = BreakerSettings(errors=5, within=60 * SECOND, cooldown=300 * SECOND)


class Driver:
    """One breaker and a clock: the way a backend applies the pure functions."""

    def __init__(self, settings: BreakerSettings = FIVE_IN_A_MINUTE) -> None:
        self.settings = settings
        self.clock = ManualClock()
        self.breaker = Breaker()

    def admit(self) -> tuple[bool, BreakerState, timedelta | None, bool]:
        self.breaker, decision = admit(self.breaker, self.settings, self.clock.now())
        return decision.allowed, decision.state, decision.retry_after, decision.trial

    def record(self, ok: bool | None) -> BreakerTransition:
        self.breaker, change = record(self.breaker, self.settings, ok, self.clock.now())
        return change

    def fail(self, times: int, every: timedelta = SECOND) -> list[BreakerTransition]:
        changes = []
        for _ in range(times):
            changes.append(self.record(False))
            self.clock.advance(every)
        return changes

    def trip(self) -> None:
        self.fail(self.settings.errors or 0)
        assert self.breaker.state is OPEN


def test_a_closed_breaker_lets_calls_through_and_counts_nothing_on_success() -> None:
    driver = Driver()
    assert driver.admit() == (True, CLOSED, None, False)
    assert driver.record(True) == BreakerTransition(CLOSED, CLOSED)
    assert driver.breaker == Breaker() and driver.breaker.idle


def test_errors_within_the_window_open_it_and_say_so() -> None:
    driver = Driver()
    changes = driver.fail(5)
    assert [c.opened for c in changes] == [False, False, False, False, True]
    assert changes[-1] == BreakerTransition(CLOSED, OPEN)
    assert driver.breaker.state is OPEN


def test_successes_in_between_do_not_reset_the_failure_count() -> None:
    driver = Driver()
    for _ in range(4):
        driver.record(False)
        driver.record(True)
    assert driver.record(False).opened


def test_a_failure_leaves_the_count_exactly_one_window_later() -> None:
    driver = Driver()
    driver.fail(4, every=timedelta(0))
    driver.clock.advance(60 * SECOND)  # the four are now exactly one window old
    assert not driver.record(False).opened
    assert len(driver.breaker.failures) == 1


def test_failures_spread_wider_than_the_window_never_open_it() -> None:
    driver = Driver()
    assert not any(c.opened for c in driver.fail(100, every=15 * SECOND))
    assert len(driver.breaker.failures) == 4  # the count is bounded by the window


def test_an_open_breaker_refuses_until_its_cooldown_ends() -> None:
    driver = Driver()
    driver.trip()  # the fifth failure was at 4 s; the clock is at 5 s
    assert driver.admit() == (False, OPEN, 299 * SECOND, False)
    driver.clock.advance(299 * SECOND - timedelta(microseconds=1))
    assert driver.admit()[:2] == (False, OPEN)
    driver.clock.advance(timedelta(microseconds=1))
    assert driver.admit() == (True, HALF_OPEN, None, True)


def test_half_open_lets_one_trial_through_at_a_time() -> None:
    driver = Driver()
    driver.trip()
    driver.clock.advance(300 * SECOND)
    assert driver.admit()[0]
    allowed, state, retry_after, trial = driver.admit()
    assert (allowed, state, trial) == (False, HALF_OPEN, False)
    assert retry_after == 300 * SECOND  # the trial's slot lapses after a cooldown at most


def test_a_successful_trial_closes_it_with_a_clean_count() -> None:
    driver = Driver()
    driver.trip()
    driver.clock.advance(300 * SECOND)
    driver.admit()
    change = driver.record(True)
    assert change == BreakerTransition(HALF_OPEN, CLOSED) and change.closed
    assert driver.breaker.state is CLOSED and not driver.breaker.failures
    assert driver.admit() == (True, CLOSED, None, False)
    assert not any(c.opened for c in driver.fail(4))


def test_a_failed_trial_opens_it_again_with_a_fresh_cooldown() -> None:
    driver = Driver()
    driver.trip()
    driver.clock.advance(400 * SECOND)
    driver.admit()
    change = driver.record(False)
    assert change == BreakerTransition(HALF_OPEN, OPEN) and change.opened
    assert driver.admit() == (False, OPEN, 300 * SECOND, False)


def test_several_trial_slots_and_a_call_that_never_ran_gives_its_slot_back() -> None:
    driver = Driver(
        BreakerSettings(errors=1, within=60 * SECOND, cooldown=30 * SECOND, trial_calls=3)
    )
    driver.trip()
    driver.clock.advance(30 * SECOND)
    assert [driver.admit()[0] for _ in range(4)] == [True, True, True, False]
    assert driver.record(None) == BreakerTransition(HALF_OPEN, HALF_OPEN)
    assert [driver.admit()[0] for _ in range(2)] == [True, False]


def test_a_trial_that_never_reports_frees_its_slot_after_a_cooldown() -> None:
    driver = Driver()
    driver.trip()
    driver.clock.advance(300 * SECOND)
    assert driver.admit()[0]
    driver.clock.advance(300 * SECOND - timedelta(microseconds=1))
    assert not driver.admit()[0]
    driver.clock.advance(timedelta(microseconds=1))
    assert driver.admit() == (True, HALF_OPEN, None, True)


def test_outcomes_reaching_an_open_breaker_change_nothing() -> None:
    driver = Driver()
    driver.trip()
    opened = driver.breaker
    assert driver.record(True) == BreakerTransition(OPEN, OPEN)
    assert driver.record(False) == BreakerTransition(OPEN, OPEN)
    assert driver.record(None) == BreakerTransition(OPEN, OPEN)
    assert driver.breaker == opened


HALF_FAILING = BreakerSettings(
    error_rate=Decimal("0.5"), min_calls=4, within=60 * SECOND, cooldown=60 * SECOND
)


def test_the_error_rate_opens_it_only_above_the_rate_and_with_enough_calls() -> None:
    driver = Driver(HALF_FAILING)
    assert not driver.record(False).opened  # 1 of 1 failed, but fewer than 4 calls
    assert not driver.record(False).opened  # 2 of 2
    driver.record(True)
    driver.record(True)
    assert not driver.record(True).opened  # 2 of 5
    assert not driver.record(False).opened  # 3 of 6: exactly the rate, not above it
    assert driver.record(False).opened  # 4 of 7


def test_the_error_rate_forgets_calls_older_than_the_window() -> None:
    driver = Driver(HALF_FAILING)
    for _ in range(10):
        driver.record(True)
    driver.clock.advance(60 * SECOND)  # the ten successes have left the window
    driver.record(True)
    driver.record(False)
    driver.record(False)
    assert driver.record(False).opened  # 3 of 4, not 3 of 14
    assert len(driver.breaker.slices) == 0


def test_the_rate_state_stays_small_however_many_calls() -> None:
    driver = Driver(HALF_FAILING)
    for _ in range(1000):
        driver.record(True)
        driver.clock.advance(timedelta(milliseconds=250))
    assert len(driver.breaker.slices) <= RATE_SLICES


def test_either_rule_opens_it_when_both_are_set() -> None:
    both = BreakerSettings(
        errors=3, error_rate=Decimal("0.9"), min_calls=2, within=60 * SECOND, cooldown=SECOND
    )
    driver = Driver(both)
    for _ in range(20):
        driver.record(True)
    assert [c.opened for c in driver.fail(3)] == [False, False, True]  # by count, rate low


def test_a_snapshot_shows_an_open_breaker_past_its_cooldown_as_half_open() -> None:
    driver = Driver()
    driver.trip()
    opened_at = driver.clock.now() - SECOND
    view = snapshot("tool:t", driver.breaker, driver.clock.now())
    assert (view.key, view.state, view.since) == ("tool:t", OPEN, opened_at)
    assert view.until == opened_at + 300 * SECOND
    later = driver.clock.now() + 300 * SECOND
    assert snapshot("tool:t", driver.breaker, later).state is HALF_OPEN
    assert snapshot("tool:t", Breaker(), later).since is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"errors": 0},
        {"errors": 1_000_000},
        {"error_rate": Decimal(1)},
        {"error_rate": Decimal(-1)},
        {"error_rate": Decimal("NaN")},
        {"error_rate": 0.5},
        {"errors": 1, "min_calls": 0},
        {"errors": 1, "trial_calls": 0},
        {"errors": 1, "within": timedelta(0)},
        {"errors": 1, "cooldown": -SECOND},
    ],
)
def test_settings_that_make_no_sense_are_refused(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"within": SECOND, "cooldown": SECOND, **kwargs}
    with pytest.raises(ValueError):
        BreakerSettings(**arguments)  # type: ignore[arg-type]


STAMPS = st.integers(0, 2**62)


@given(
    st.builds(
        Breaker,
        st.sampled_from(list(BreakerState)),
        STAMPS,
        STAMPS,
        st.lists(STAMPS, max_size=5).map(tuple),
        st.lists(st.tuples(STAMPS, STAMPS, STAMPS), max_size=5).map(tuple),
        st.lists(STAMPS, max_size=3).map(tuple),
    )
)
def test_a_breaker_survives_its_stored_form(breaker: Breaker) -> None:
    assert decode(encode(breaker)) == breaker


@pytest.mark.parametrize(
    "text", ["", "[]", "{}", '["ajar",0,0,[],[],[]]', '["open",0,0,[],[[1]],[]]']
)
def test_a_damaged_stored_breaker_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        decode(text)
