"""The CounterStore contract, run against every backend (``backend``, see backends.py).

Admission is all or none across windows and keys, windows slide exactly (an event at ``t``
counts while ``at - window < t <= at``), and money is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.store.backends import Backend

from agentguard.clock import ManualClock
from agentguard.store import Store
from agentguard.store.base import Admission, WindowRequest

T0 = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ONE = Decimal(1)


def count(key: str, limit: int, window: timedelta) -> WindowRequest:
    return WindowRequest(key, ONE, Decimal(limit), window)


def cost(key: str, amount: str, limit: str, window: timedelta = HOUR) -> WindowRequest:
    return WindowRequest(key, Decimal(amount), Decimal(limit), window)


def reservation(admission: Admission) -> str:
    assert admission.admitted and admission.reservation is not None
    return admission.reservation


# ------------------------------------------------------------------ admission


def test_admits_up_to_the_limit_inclusive_then_refuses(store: Store) -> None:
    per_minute = count("count:a:t", 3, MINUTE)
    totals = [store.admit([per_minute], T0).totals for _ in range(3)]
    assert totals == [(Decimal(1),), (Decimal(2),), (Decimal(3),)]
    refused = store.admit([per_minute], T0)
    assert not refused.admitted and refused.reservation is None
    assert refused.refused == per_minute and refused.totals == (Decimal(3),)
    assert store.total("count:a:t", T0, MINUTE) == 3


def test_an_empty_request_list_is_admitted_without_a_reservation(store: Store) -> None:
    assert store.admit([], T0) == Admission(True, None, None, None, ())


def test_a_final_admission_counts_with_nothing_left_to_settle(store: Store) -> None:
    per_minute = count("loop:a", 2, MINUTE)
    first = store.admit([per_minute], T0, final=True)
    assert first.admitted and first.reservation is None and first.totals == (Decimal(1),)
    assert store.admit([per_minute], T0, final=True).totals == (Decimal(2),)
    refused = store.admit([per_minute], T0, final=True)
    assert not refused.admitted and refused.totals == (Decimal(2),)
    assert store.total("loop:a", T0, MINUTE) == 2
    # ordinary reservations beside final events settle and release as before
    held = reservation(store.admit([cost("cost:a", "0.5", "10")], T0))
    store.admit([cost("cost:a", "0.5", "10")], T0, final=True)
    store.release(held)
    assert store.total("cost:a", T0, HOUR) == Decimal("0.5")
    assert store.admit([per_minute], T0 + MINUTE, final=True).admitted  # the window slid


def test_a_refusal_in_one_window_reserves_in_none_of_the_others(store: Store) -> None:
    calls_hour = count("count:a:t", 5, HOUR)
    calls_day = count("count:a:t", 100, DAY)
    budget = cost("cost:a", "0.5", "1.00")
    assert store.admit([calls_hour, calls_day, budget], T0).admitted
    assert store.admit([budget], T0).admitted  # the budget is now full, the counts are not
    answer = store.admit([calls_hour, calls_day, budget], T0 + SECOND)
    assert not answer.admitted and answer.refused == budget
    assert answer.totals == (Decimal(1), Decimal(1), Decimal("1.0"))
    assert store.total("count:a:t", T0 + SECOND, DAY) == 1  # nothing was added to the counts
    assert store.total("cost:a", T0 + SECOND, HOUR) == Decimal("1.0")


def test_the_first_request_that_overflows_is_the_one_named(store: Store) -> None:
    small = count("count:a:t", 1, MINUTE)
    other = count("count:b:t", 1, MINUTE)
    assert store.admit([small, other], T0).admitted
    answer = store.admit([other, small], T0)
    assert answer.refused == other and answer.totals == (ONE, ONE)


def test_one_key_in_two_windows_is_one_event(store: Store) -> None:
    hourly, daily = count("count:e:send", 50, HOUR), count("count:e:send", 500, DAY)
    answer = store.admit([hourly, daily], T0)
    assert answer.totals == (ONE, ONE)
    assert store.total("count:e:send", T0, DAY) == 1
    store.admit([hourly, daily], T0 + 2 * HOUR)
    assert store.total("count:e:send", T0 + 2 * HOUR, HOUR) == 1
    assert store.total("count:e:send", T0 + 2 * HOUR, DAY) == 2


def test_one_key_asked_two_different_amounts_is_an_error_and_changes_nothing(
    store: Store,
) -> None:
    with pytest.raises(ValueError, match="different amounts"):
        store.admit([cost("cost:a", "0.1", "5"), cost("cost:a", "0.2", "5", DAY)], T0)
    assert store.total("cost:a", T0, DAY) == 0


@pytest.mark.parametrize(
    ("amount", "limit", "window"),
    [
        (Decimal(-1), Decimal(5), MINUTE),
        (Decimal("NaN"), Decimal(5), MINUTE),
        (Decimal("Infinity"), Decimal(5), MINUTE),
        (ONE, Decimal(-5), MINUTE),
        (ONE, Decimal(5), timedelta(0)),
        (ONE, Decimal("1E+10"), MINUTE),
        (0.1, Decimal(5), MINUTE),
        (True, Decimal(5), MINUTE),
    ],
    ids=["negative", "nan", "infinite", "negative-limit", "no-window", "huge", "float", "bool"],
)
def test_a_request_that_makes_no_sense_is_a_value_error_when_made(
    amount: Decimal, limit: Decimal, window: timedelta
) -> None:
    with pytest.raises(ValueError):
        WindowRequest("k", amount, limit, window)


# --------------------------------------------------------------- sliding edge


def test_the_window_slides_so_there_is_no_double_burst_at_its_edge(store: Store) -> None:
    ten_a_minute = count("count:a:t", 10, MINUTE)
    late = T0 + 59 * SECOND
    assert all(store.admit([ten_a_minute], late).admitted for _ in range(10))
    # A fixed window would start afresh at 1:00 and let 10 more through at 1:01.
    refused = store.admit([ten_a_minute], T0 + 61 * SECOND)
    assert not refused.admitted and refused.retry_after == 58 * SECOND
    edge = late + MINUTE
    assert not store.admit([ten_a_minute], edge - timedelta(microseconds=1)).admitted
    assert all(store.admit([ten_a_minute], edge).admitted for _ in range(10))
    assert not store.admit([ten_a_minute], edge).admitted


def test_an_event_leaves_the_window_exactly_one_window_later(store: Store) -> None:
    five = count("k", 5, MINUTE)
    assert all(store.admit([five], T0).admitted for _ in range(5))
    assert store.total("k", T0 + MINUTE - timedelta(microseconds=1), MINUTE) == 5
    assert store.total("k", T0 + MINUTE, MINUTE) == 0
    assert store.total("k", T0 - timedelta(microseconds=1), MINUTE) == 0  # not yet in it


def test_retry_after_is_when_enough_of_the_oldest_amounts_have_expired(store: Store) -> None:
    for minutes, amount in ((0, "0.40"), (10, "0.40"), (20, "0.20")):
        assert store.admit([cost("cost:a", amount, "1.00")], T0 + minutes * MINUTE).admitted
    half = cost("cost:a", "0.5", "1.00")
    answer = store.admit([half], T0 + 30 * MINUTE)
    # 0.40 leaving at 1:00 is not enough; with the 0.40 leaving at 1:10 there is room.
    assert not answer.admitted and answer.retry_after == 40 * MINUTE
    assert not store.admit([half], T0 + 70 * MINUTE - timedelta(microseconds=1)).admitted
    assert store.admit([half], T0 + 70 * MINUTE).admitted


def test_an_amount_above_its_limit_never_fits(store: Store) -> None:
    answer = store.admit([cost("cost:a", "2.00", "1.00")], T0)
    assert not answer.admitted and answer.retry_after is None
    assert answer.totals == (Decimal(0),)


def test_an_admission_stamped_before_the_latest_events_counts_where_it_belongs(
    store: Store,
) -> None:
    # Two threads or processes read their clocks in one order and admit in the other.
    budget = cost("cost:a", "1", "10", MINUTE)
    reservation(store.admit([budget], T0 + 10 * SECOND))
    early = reservation(store.admit([cost("cost:a", "2", "10", MINUTE)], T0 + 5 * SECOND))
    reservation(store.admit([budget], T0 + 10 * SECOND))
    assert store.total("cost:a", T0 + 7 * SECOND, MINUTE) == 2
    assert store.total("cost:a", T0 + 10 * SECOND, MINUTE) == 4
    assert store.total("cost:a", T0 + 66 * SECOND, MINUTE) == 2  # the early one has left
    store.settle(early, {"cost:a": Decimal("0.5")}, T0 + 11 * SECOND)
    assert store.total("cost:a", T0 + 10 * SECOND, MINUTE) == Decimal("2.5")
    refused = store.admit([cost("cost:a", "8", "10", MINUTE)], T0 + 20 * SECOND)
    assert refused.retry_after == 45 * SECOND  # the 0.5 at 0:05 leaves at 1:05
    earlier = reservation(store.admit([cost("cost:a", "3", "10", MINUTE)], T0 + 3 * SECOND))
    assert store.total("cost:a", T0 + 10 * SECOND, MINUTE) == Decimal("5.5")
    store.release(earlier)
    assert store.total("cost:a", T0 + 10 * SECOND, MINUTE) == Decimal("2.5")
    assert store.total("cost:a", T0 + 5 * SECOND, MINUTE) == Decimal("0.5")
    assert store.admit([cost("cost:a", "7.5", "10", MINUTE)], T0 + 20 * SECOND).admitted


# -------------------------------------------------------------------- money


def test_three_times_a_tenth_fills_three_tenths_exactly(store: Store) -> None:
    tenth = cost("cost:r", "0.1", "0.3")
    totals = [store.admit([tenth], T0).totals[0] for _ in range(3)]
    assert totals == [Decimal("0.1"), Decimal("0.2"), Decimal("0.3")]
    assert not store.admit([tenth], T0).admitted
    assert store.admit([cost("cost:r", "0", "0.3")], T0).admitted  # full, not over
    assert store.total("cost:r", T0, HOUR) == Decimal("0.3")


def test_amounts_finer_than_a_millionth_round_up_and_limits_down(store: Store) -> None:
    assert store.admit([cost("cost:r", "0.0000001", "1")], T0).totals == (Decimal("0.000001"),)
    answer = store.admit([cost("cost:r", "0.000001", "0.0000029")], T0)
    assert answer.admitted and answer.totals == (Decimal("0.000002"),)
    assert not store.admit([cost("cost:r", "0.000001", "0.0000029")], T0).admitted


# --------------------------------------------------------- settle and release


def test_settle_books_the_actual_amount_down_or_up(store: Store) -> None:
    estimate = cost("cost:a", "0.50", "1.00")
    first = reservation(store.admit([estimate], T0))
    store.settle(first, {"cost:a": Decimal("0.20")}, T0 + SECOND)
    assert store.total("cost:a", T0 + SECOND, HOUR) == Decimal("0.20")
    second = reservation(store.admit([estimate], T0 + SECOND))
    store.settle(second, {"cost:a": Decimal("0.75")}, T0 + 2 * SECOND)
    assert store.total("cost:a", T0 + 2 * SECOND, HOUR) == Decimal("0.95")


def test_a_settlement_past_the_limit_is_booked_and_the_next_admission_refused(
    store: Store,
) -> None:
    estimate = cost("cost:a", "0.50", "1.00")
    ticket = reservation(store.admit([estimate], T0))
    store.settle(ticket, {"cost:a": Decimal("1.30")}, T0 + SECOND)
    assert store.total("cost:a", T0 + SECOND, HOUR) == Decimal("1.30")
    answer = store.admit([cost("cost:a", "0", "1.00")], T0 + SECOND)
    assert not answer.admitted and answer.totals == (Decimal("1.30"),)
    # It leaves with its admission time, not its settlement's.
    assert answer.retry_after == HOUR - SECOND


def test_keys_not_named_in_a_settlement_keep_their_reserved_amount(store: Store) -> None:
    ticket = reservation(
        store.admit([count("count:a:t", 10, HOUR), cost("cost:a", "0.50", "5")], T0)
    )
    store.settle(ticket, {"cost:a": Decimal("0.10"), "cost:other": Decimal(3)}, T0)
    assert store.total("count:a:t", T0, HOUR) == 1
    assert store.total("cost:a", T0, HOUR) == Decimal("0.10")
    assert store.total("cost:other", T0, HOUR) == 0  # not part of the reservation


def test_settle_is_idempotent(store: Store) -> None:
    ticket = reservation(store.admit([cost("cost:a", "0.50", "5")], T0))
    store.settle(ticket, {"cost:a": Decimal("0.20")}, T0)
    store.settle(ticket, {"cost:a": Decimal("3")}, T0)
    store.release(ticket)  # settled: it happened
    assert store.total("cost:a", T0, HOUR) == Decimal("0.20")


def test_release_removes_every_event_of_the_reservation_once(store: Store) -> None:
    requests = [count("count:a:t", 2, MINUTE), count("count:a:t", 9, DAY), cost("cost:a", "1", "5")]
    kept = reservation(store.admit(requests, T0))
    gone = reservation(store.admit(requests, T0))
    assert not store.admit(requests, T0).admitted
    store.release(gone)
    store.release(gone)
    store.settle(gone, {"cost:a": Decimal(4)}, T0)  # released: nothing to settle
    assert store.total("count:a:t", T0, DAY) == 1 and store.total("cost:a", T0, HOUR) == 1
    assert store.admit(requests, T0).admitted  # room again
    assert kept != gone


@pytest.mark.parametrize("unknown", ["", "nonsense", "m0", "m999", "ff.1.2", "ff.", "-1.-1"])
def test_unknown_reservations_are_ignored(store: Store, unknown: str) -> None:
    reservation(store.admit([cost("cost:a", "0.5", "5")], T0))
    store.settle(unknown, {"cost:a": Decimal(4)}, T0)
    store.release(unknown)
    assert store.total("cost:a", T0, HOUR) == Decimal("0.5")


def test_a_settlement_with_a_bad_amount_is_a_value_error_and_keeps_the_reservation(
    store: Store,
) -> None:
    ticket = reservation(store.admit([cost("cost:a", "0.5", "5")], T0))
    with pytest.raises(ValueError):
        store.settle(ticket, {"cost:a": Decimal(-1)}, T0)
    store.settle(ticket, {"cost:a": Decimal("0.7")}, T0)
    assert store.total("cost:a", T0, HOUR) == Decimal("0.7")


# ----------------------------------------------------------- keeping events


def test_events_are_kept_for_the_longest_window_ever_asked_for_their_key(
    backend: Backend, store: Store
) -> None:
    daily = count("count:a:t", 1000, DAY)
    minute = count("count:a:t", 1000, MINUTE)
    assert store.admit([daily], T0).admitted
    for step in range(100):  # short windows only from now on: the daily event must stay
        assert store.admit([minute], T0 + HOUR + step * SECOND).admitted
    assert store.total("count:a:t", T0 + 2 * HOUR, DAY) == 101
    later = T0 + 2 * DAY  # everything has left every window
    for step in range(10):
        store.admit([minute], later + step * SECOND)
    assert backend.stored_events(store, "count:a:t") == 10


def test_old_events_are_pruned_a_bounded_number_per_admission(
    backend: Backend, store: Store
) -> None:
    per_second = count("count:a:t", 1_000_000, SECOND)
    for step in range(300):
        store.admit([per_second], T0 + step * timedelta(milliseconds=10))
    # 100 events a second, kept for one second: the log stays near that, not at 300.
    assert backend.stored_events(store, "count:a:t") <= 101


def test_counts_survive_a_restart(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"the {backend.name} backend keeps nothing across a restart")
    three = [count("count:a:t", 3, HOUR), cost("cost:a", "0.5", "10")]
    first = backend.open("kept")
    tickets = [reservation(first.admit(three, T0)) for _ in range(3)]
    first.close()
    again = backend.open("kept")
    assert again.total("count:a:t", T0, HOUR) == 3
    assert not again.admit(three, T0 + SECOND).admitted
    again.settle(tickets[0], {"cost:a": Decimal(2)}, T0 + SECOND)  # ids outlive the process
    again.release(tickets[1])
    assert again.total("cost:a", T0 + SECOND, HOUR) == Decimal("2.5")
    assert again.total("count:a:t", T0 + SECOND, HOUR) == 2
    again.close()


def test_threads_admit_exactly_up_to_the_limit(store: Store) -> None:
    limit = count("count:a:t", 100, HOUR)
    budget = cost("cost:a", "0.25", "30.00")
    admitted: list[Admission] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait(timeout=30)
        for _ in range(40):
            answer = store.admit([limit, budget], T0)
            if answer.admitted:
                admitted.append(answer)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(admitted) == 100
    assert len({a.reservation for a in admitted}) == 100
    assert store.total("cost:a", T0, HOUR) == Decimal("25.00")
    assert sorted(a.totals[0] for a in admitted) == [Decimal(n) for n in range(1, 101)]


# ------------------------------------------------- property: a reference model

KEYS = {  # key → its windows (length, limit); "cost" amounts vary, "count" ones are 1
    "count": ((MINUTE, Decimal(3)), (5 * MINUTE, Decimal(8))),
    "cost": ((2 * MINUTE, Decimal("1.0")),),
}


@dataclass
class Event:
    key: str
    at: datetime
    amount: Decimal
    ticket: int
    open: bool = True


class Model:
    """A sliding log as plainly as it can be written: a list of events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def total(self, key: str, at: datetime, window: timedelta) -> Decimal:
        return sum(
            (e.amount for e in self.events if e.key == key and at - window < e.at <= at),
            Decimal(0),
        )

    def retry_after(self, request: WindowRequest, at: datetime) -> timedelta | None:
        if request.amount > request.limit:
            return None
        inside = [
            e for e in self.events if e.key == request.key and at - request.window < e.at <= at
        ]
        # The earliest moment when what is left of today's window leaves room.
        for wait in sorted({timedelta(0)} | {e.at + request.window - at for e in inside}):
            left = sum((e.amount for e in inside if e.at > at + wait - request.window), Decimal(0))
            if left + request.amount <= request.limit:
                return wait
        raise AssertionError("unreachable: every event leaves eventually")

    def admit(self, requests: Sequence[WindowRequest], at: datetime, ticket: int) -> Admission:
        totals = [self.total(r.key, at, r.window) for r in requests]
        for request, total in zip(requests, totals, strict=True):
            if total + request.amount > request.limit:
                return Admission(False, None, request, self.retry_after(request, at), tuple(totals))
        amounts = {r.key: r.amount for r in requests}
        self.events += [Event(key, at, amount, ticket) for key, amount in amounts.items()]
        after = tuple(t + r.amount for t, r in zip(totals, requests, strict=True))
        return Admission(True, str(ticket), None, None, after)

    def settle(self, ticket: int, actual: dict[str, Decimal]) -> None:
        for event in self.events:
            if event.ticket == ticket and event.open:
                event.amount = actual.get(event.key, event.amount)
                event.open = False

    def release(self, ticket: int) -> None:
        self.events = [e for e in self.events if not (e.ticket == ticket and e.open)]


AMOUNTS = st.sampled_from(["0", "0.1", "0.25", "0.3", "0.5", "0.7", "1.2"]).map(Decimal)
ADMIT = st.tuples(st.just("admit"), st.sampled_from(["count", "cost", "both"]), AMOUNTS)
STEP = st.one_of(st.integers(0, 10_000), st.integers(0, 150_000))  # milliseconds
OPERATIONS = st.lists(
    st.one_of(
        ADMIT,
        ADMIT,
        st.tuples(st.just("advance"), STEP, st.just(Decimal(0))),
        st.tuples(st.just("settle"), st.integers(0, 50), AMOUNTS),
        st.tuples(st.just("release"), st.integers(0, 50), st.just(Decimal(0))),
    ),
    max_size=50,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_the_store_agrees_with_a_reference_model_and_never_admits_past_a_limit(
    backend: Backend, operations: list[tuple[str, object, Decimal]]
) -> None:
    store, model, clock = backend.open(), Model(), ManualClock(T0)
    tickets: list[tuple[str, int]] = []  # (the store's reservation, the model's ticket)
    try:
        for what, arg, amount in operations:
            now = clock.now()
            if what == "advance":
                assert isinstance(arg, int)
                clock.advance(timedelta(milliseconds=arg))
            elif what == "admit":
                keys = ["count", "cost"] if arg == "both" else [str(arg)]
                requests = [
                    WindowRequest(key, ONE if key == "count" else amount, limit, window)
                    for key in keys
                    for window, limit in KEYS[key]
                ]
                got = store.admit(requests, now)
                expected = model.admit(requests, now, len(tickets))
                assert (got.admitted, got.refused, got.retry_after, got.totals) == (
                    expected.admitted,
                    expected.refused,
                    expected.retry_after,
                    expected.totals,
                )
                if got.admitted:
                    for request, total in zip(requests, got.totals, strict=True):
                        assert total <= request.limit
                    assert got.reservation is not None
                    tickets.append((got.reservation, len(tickets)))
            elif tickets:
                assert isinstance(arg, int)
                reserved, ticket = tickets[arg % len(tickets)]
                if what == "settle":
                    store.settle(reserved, {"cost": amount}, now)
                    model.settle(ticket, {"cost": amount})
                else:
                    store.release(reserved)
                    model.release(ticket)
            for key, windows in KEYS.items():
                for window, _ in windows:
                    assert store.total(key, clock.now(), window) == model.total(
                        key, clock.now(), window
                    )
    finally:
        store.close()
