"""Tools that report what a call cost (``agentguard.Cost``): the reported figure replaces
the policy's estimate, is booked in full against budgets (the next call is refused), and is
what the audit record says. Real guard, real SQLite file, manual clock."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard import Cost, Guard, RateLimited
from agentguard.clock import ManualClock
from agentguard.cost import book
from agentguard.policy import parse_policy
from agentguard.policy.models import TokenPrice

POLICY = """
version: 1
tools:
  complete:
    input: {prompt: {type: string}}
    cost: 0.10                      # the estimate, reserved before the call
    price: {input_token: 0.000003, output_token: 0.000015}
  lookup:
    input: {q: {type: string}}
roles:
  llm: {allow: [complete, lookup]}
agents:
  writer: {roles: [llm]}
limits:
  writer:
    - {cost: 1.00, per: 1h}
"""


@pytest.fixture
def guard(tmp_path: Path, clock: ManualClock) -> Iterator[Guard]:
    guard = Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}", clock=clock)
    yield guard
    guard.close()


def costs(guard: Guard) -> list[Any]:
    path = guard.store.path  # type: ignore[attr-defined]
    rows = sqlite3.connect(path).execute("SELECT body FROM audit ORDER BY seq").fetchall()
    return [json.loads(body)["cost"] for (body,) in rows]


def test_a_reported_amount_replaces_the_estimate_and_is_booked_in_full(guard: Guard) -> None:
    reports = iter(["0.45", "0.45", "0.45"])

    @guard.tool()
    def complete(prompt: str) -> Cost:
        return Cost(f"reply to {prompt}", amount=next(reports))

    agent = guard.agent("writer")
    assert agent.call("complete", prompt="a") == "reply to a"  # the agent gets the result
    assert agent.call("complete", prompt="b") == "reply to b"  # $0.90 booked
    # $0.90 + the $0.10 estimate fits $1.00 exactly; the report of $0.45 crosses it
    assert agent.call("complete", prompt="c") == "reply to c"
    with pytest.raises(RateLimited) as refused:  # $1.35 booked: nothing more fits
        agent.call("complete", prompt="d")
    assert refused.value.code == "limits.budget_exceeded"
    assert costs(guard) == ["0.45", "0.45", "0.45", None]


def test_tokens_are_priced_by_the_policy(guard: Guard) -> None:
    @guard.tool()
    def complete(prompt: str) -> Cost:
        return Cost({"text": "ok"}, input_tokens=10_000, output_tokens=2_000)

    assert guard.agent("writer").call("complete", prompt="x") == {"text": "ok"}
    assert costs(guard) == ["0.060000"]  # 10,000 × $0.000003 + 2,000 × $0.000015


def test_one_report_over_the_budget_is_booked_and_refuses_the_next(guard: Guard) -> None:
    @guard.tool()
    def complete(prompt: str) -> Cost:
        return Cost("expensive", amount=Decimal("25"))

    guard.agent("writer").call("complete", prompt="x")
    with pytest.raises(RateLimited):
        guard.agent("writer").call("complete", prompt="y")
    assert costs(guard) == ["25", None]


@pytest.mark.parametrize(
    "report",
    [
        Cost("r", amount="NaN"),
        Cost("r", amount=-1),
        Cost("r", amount=True),
        Cost("r", amount="lots"),
        Cost("r", amount=float("inf")),
        Cost("r", amount=Decimal("1e30")),
        Cost("r", input_tokens=-5),
        Cost("r", input_tokens=1.5),  # type: ignore[arg-type]
        Cost("r", input_tokens=10**40),
    ],
)
def test_an_unusable_report_books_the_estimate(guard: Guard, report: Cost) -> None:
    @guard.tool()
    def complete(prompt: str) -> Cost:
        return report

    assert guard.agent("writer").call("complete", prompt="x") == "r"
    assert costs(guard) == ["0.1"]  # the policy's 0.10


def test_without_a_report_or_a_price_the_estimate_is_booked() -> None:
    assert book(None, Decimal("0.1"), None).amount == Decimal("0.1")
    assert book(Cost("r"), Decimal("0.1"), None).source == "policy"
    tokens_unpriced = book(Cost("r", output_tokens=10), Decimal("0.1"), None)
    assert tokens_unpriced.amount == Decimal("0.1") and "no price" in tokens_unpriced.source
    input_only = TokenPrice(input_token=Decimal("0.001"))
    half = book(Cost("r", input_tokens=10, output_tokens=10), None, input_only)
    assert half.amount is None and "does not price" in half.source
    assert book(Cost("r", input_tokens=10), None, input_only).amount == Decimal("0.010")


def test_a_tool_with_no_cost_declared_still_counts_what_it_reports(guard: Guard) -> None:
    @guard.tool()
    def lookup(q: str) -> Cost:
        return Cost([q], amount="0.60")

    agent = guard.agent("writer")
    agent.call("lookup", q="a")
    agent.call("lookup", q="b")  # $1.20 booked: over
    with pytest.raises(RateLimited):
        agent.call("lookup", q="c")


def test_a_failed_call_is_recorded_at_the_cost_it_was_booked_at(guard: Guard) -> None:
    """The budget keeps a failed call's estimate (it may have cost money): the audit record,
    and so status, metrics and spend alerts, say the same."""

    @guard.tool()
    def complete(prompt: str) -> Cost:
        raise TimeoutError("upstream")

    with pytest.raises(TimeoutError):
        guard.agent("writer").call("complete", prompt="x")
    assert costs(guard) == ["0.1"]
    assert guard.store.total("cost|writer|*", guard.clock.now(), timedelta(hours=1)) == Decimal(
        "0.1"
    )
