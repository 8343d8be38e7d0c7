"""The dashboard's charts: each action lands in the bucket of its time, the buckets add up
to the window, and the SVG carries only numbers the chart computed (labels escaped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentguard.activity import Activity, Counts
from agentguard.audit import AuditEntry
from agentguard.clock import ManualClock
from agentguard.dashboard.charts import bars, gauge, timeline
from agentguard.store.memory import MemoryStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SPAN, BUCKETS = timedelta(hours=1), 12
STEP = int(SPAN.total_seconds()) // BUCKETS


def _activity(actions: list[tuple[str, int, str]]) -> Activity:
    store, activity = MemoryStore(), Activity(clock=ManualClock(T0))
    for agent, age, status in actions:
        store.append(
            AuditEntry(timestamp=T0 - timedelta(seconds=age), kind="action", agent_id=agent,
                       action="t", decision="deny" if status == "denied" else "allow",
                       status=status, cost=Decimal("0.10") if status == "executed" else None)
        )  # fmt: skip
    from agentguard.activity import AuditFollower

    AuditFollower(store, activity).poll()
    return activity


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.integers(min_value=-30, max_value=int(SPAN.total_seconds()) - 1),
            st.sampled_from(["executed", "failed", "denied", "held"]),
        ),
        max_size=40,
    )
)
def test_each_action_lands_in_the_bucket_of_its_time(actions: list[tuple[str, int, str]]) -> None:
    series = timeline(_activity(actions), span=SPAN, buckets=BUCKETS, now=T0)
    assert set(series) == {agent for agent, _, _ in actions}
    for agent, buckets in series.items():
        assert len(buckets) == BUCKETS
        expected = [[] for _ in range(BUCKETS)]  # type: list[list[str]]
        for who, age, status in actions:
            if who == agent:  # a clock ahead of now counts in the newest bucket
                expected[BUCKETS - 1 - max(age, 0) // STEP].append(status)
        for got, want in zip(buckets, expected, strict=True):
            assert got.actions == len(want)
            assert got.failed == want.count("failed") and got.denied == want.count("denied")
            assert got.spend == Decimal("0.10") * want.count("executed")


def test_actions_older_than_the_span_are_left_out() -> None:
    series = timeline(_activity([("a", 3600, "executed"), ("a", 7200, "failed")]),
                      span=SPAN, buckets=BUCKETS, now=T0)  # fmt: skip
    assert series.get("a", [Counts()] * BUCKETS) == [Counts()] * BUCKETS


def test_bars_draw_one_bar_per_nonzero_value_with_escaped_labels() -> None:
    svg = bars([0, 2, None, 4], label='<script>"x"</script>')
    assert svg.count("<rect") == 2 and "<title>4</title>" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'height="52.0"' in svg  # the largest value is a full bar
    rates = bars([0.5, 1.0], label="error rate", unit="%", top=1.0)
    assert "<title>50%</title>" in rates and "<title>100%</title>" in rates


def test_a_gauge_turns_red_from_the_whole_budget() -> None:
    assert 'class="fine"' in gauge(Decimal("1"), Decimal("10"), label="b")
    assert 'class="warn"' in gauge(Decimal("8"), Decimal("10"), label="b")
    over = gauge(Decimal("12"), Decimal("10"), label="b")
    assert 'class="over"' in over and 'width="240.0"' in over and "120%" in over


def test_timeline_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        timeline(Activity(clock=ManualClock(T0)), span=SPAN, buckets=0, now=T0)
