"""The breakers layer on a real SQLite store with an injected clock: closed → open →
half-open → closed, a failed trial reopens, per agent and per tool, loops stop the agent
until a person resumes it, and a dry run counts nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard import AgentStopped, CircuitOpen, Guard, PolicyError, RateLimited
from agentguard.clock import ManualClock
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  call_api: {input: {q: {type: string}}, cost: 0.10}
  flaky: {input: {n: {type: integer}}}
roles:
  all: {allow: [call_api, flaky]}
agents:
  research_agent: {roles: [all]}
  other_agent: {roles: [all]}
breakers:
  errors: {errors: 3, within: 60s, cooldown: 5m}
  loops: {same_call: 5, within: 60s}
limits:
  research_agent:
    - {cost: 2.00, per: 1h}
"""


class Flaky:
    def __init__(self) -> None:
        self.failing = True
        self.ran = 0

    def __call__(self, n: int) -> int:
        self.ran += 1
        if self.failing:
            raise TimeoutError("upstream timed out")
        return n


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Guard, ManualClock, Flaky]]:
    clock = ManualClock()
    flaky = Flaky()
    with Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}", clock=clock) as guard:
        guard.register(flaky, "flaky")
        guard.register(lambda q: f"answer to {q}", "call_api")
        yield guard, clock, flaky


def test_a_breaker_opens_rests_tries_and_closes(world: Any) -> None:
    guard, clock, flaky = world
    agent = guard.agent("research_agent")
    for n in range(3):
        with pytest.raises(TimeoutError):
            agent.call("flaky", n=n)
    with pytest.raises(CircuitOpen) as caught:
        agent.call("flaky", n=99)
    assert caught.value.code == "breakers.open"
    assert caught.value.retry_after == timedelta(minutes=5)
    with pytest.raises(CircuitOpen):  # the agent's breaker: its other tools rest too
        agent.call("call_api", q="x")
    with pytest.raises(CircuitOpen):  # the tool's breaker: other agents rest too
        guard.agent("other_agent").call("flaky", n=1)
    assert flaky.ran == 3
    clock.advance(timedelta(minutes=5, seconds=1))
    flaky.failing = False
    assert agent.call("flaky", n=7) == 7  # the trial call closes it
    assert agent.call("flaky", n=8) == 8
    assert agent.call("call_api", q="y") == "answer to y"


def test_a_failed_trial_opens_the_breaker_again(world: Any) -> None:
    guard, clock, flaky = world
    agent = guard.agent("research_agent")
    for n in range(3):
        with pytest.raises(TimeoutError):
            agent.call("flaky", n=n)
    clock.advance(timedelta(minutes=6))
    with pytest.raises(TimeoutError):
        agent.call("flaky", n=10)  # the trial fails
    with pytest.raises(CircuitOpen):
        agent.call("flaky", n=11)
    assert flaky.ran == 4


def test_failures_spread_wider_than_the_window_do_not_open_it(world: Any) -> None:
    guard, clock, flaky = world
    agent = guard.agent("research_agent")
    for n in range(6):
        with pytest.raises(TimeoutError):
            agent.call("flaky", n=n)
        clock.advance(timedelta(seconds=31))
    assert flaky.ran == 6


def test_a_loop_stops_the_agent_until_resumed(world: Any) -> None:
    guard, clock, _flaky = world
    agent = guard.agent("research_agent")
    for _ in range(4):
        agent.call("call_api", q="same question")
    with pytest.raises(CircuitOpen) as caught:
        agent.call("call_api", q="same question")
    assert caught.value.code == "breakers.loop_detected"
    with pytest.raises(AgentStopped):  # stopped for everything, in every process
        agent.call("call_api", q="another question")
    clock.advance(timedelta(hours=2))
    with pytest.raises(AgentStopped):  # no timeout lifts it
        agent.call("call_api", q="later")
    assert guard.resume(agent="research_agent", reason="looked at it")
    assert agent.call("call_api", q="after resume") == "answer to after resume"


def test_different_calls_are_not_a_loop(world: Any) -> None:
    guard, _clock, _flaky = world
    agent = guard.agent("research_agent")
    for n in range(12):
        agent.call("call_api", q=f"question {n}")


def test_the_runaway_research_agent_is_stopped_early_and_within_budget(world: Any) -> None:
    # The mission's incident 3: an agent that would make 10,000 calls in an hour.
    guard, clock, _flaky = world
    agent = guard.agent("research_agent")
    executed = 0
    stopped_by = None
    for n in range(10_000):
        try:
            agent.call("call_api", q=f"page {n % 3}")
            executed += 1
        except (CircuitOpen, RateLimited, AgentStopped) as exc:
            stopped_by = exc.code
            break
        clock.advance(timedelta(milliseconds=360))
    assert stopped_by == "breakers.loop_detected"
    assert executed <= 12
    spent = Decimal("0.10") * executed
    assert spent <= Decimal("2.00")


def test_a_dry_run_counts_nothing(world: Any) -> None:
    guard, _clock, _flaky = world
    for _ in range(20):
        assert guard.check(agent="research_agent", tool="call_api", args={"q": "same"}).allowed
    guard.agent("research_agent").call("call_api", q="same")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("errors: {within: 60s}", "give `errors`, `error_rate`, or both"),
        ("errors: {error_rate: 150%, within: 60s}", "between 0 and 1"),
        ("loops: {same_call: 1, within: 60s}", "greater than 1"),
        ("errors: {errors: 3, within: 60s, colour: red}", "unknown key 'colour'"),
    ],
)
def test_a_bad_breaker_is_a_policy_error(section: str, message: str) -> None:
    text = POLICY.split("breakers:")[0] + f"breakers:\n  {section}\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="p.yaml")
    assert message in str(caught.value)


def test_an_error_rate_is_read_as_a_share() -> None:
    text = POLICY.split("breakers:")[0] + "breakers:\n  errors: {error_rate: 10%, within: 1m}\n"
    errors = parse_policy(text).model.breakers.errors  # type: ignore[union-attr]
    assert errors is not None and errors.error_rate == Decimal("0.1")
