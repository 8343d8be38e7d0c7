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


LOOPS = """
version: 1
tools:
  search: {input: {q: {type: string}}}
  open_page: {input: {url: {type: string}}}
  summarise: {input: {url: {type: string}}}
roles:
  all: {allow: [search, open_page, summarise]}
agents:
  research_agent: {roles: [all]}
breakers:
  loops:
    within: 10m
    cycles: 3
    burst: {factor: 5, window: 1m, baseline: 1h, min_calls: 20}
"""


@pytest.fixture
def looping(tmp_path: Path) -> Iterator[tuple[Guard, ManualClock]]:
    clock = ManualClock()
    with Guard(parse_policy(LOOPS), f"sqlite:///{tmp_path / 'ag.db'}", clock=clock) as guard:
        guard.register(lambda q: [q], "search")
        guard.register(lambda url: url, "open_page")
        guard.register(lambda url: url[:5], "summarise")
        yield guard, clock


@pytest.mark.parametrize(
    "cycle",
    [
        [("search", {"q": "x"}), ("open_page", {"url": "u"})],
        [("search", {"q": "x"}), ("open_page", {"url": "u"}), ("summarise", {"url": "u"})],
    ],
)
def test_a_short_cycle_of_calls_is_a_loop(
    looping: tuple[Guard, ManualClock], cycle: list[tuple[str, dict[str, str]]]
) -> None:
    guard, clock = looping
    agent = guard.agent("research_agent", session="s1")
    made = 0
    with pytest.raises(CircuitOpen) as caught:
        for _ in range(10):
            for tool, args in cycle:
                agent.call(tool, **args)
                made += 1
                clock.advance(timedelta(seconds=1))
    assert caught.value.code == "breakers.loop_detected"
    assert "same cycle of calls" in caught.value.message
    # the step search → open_page is made a third time in the third round: refused
    assert made == 2 * len(cycle) + 1
    with pytest.raises(AgentStopped):
        agent.call("search", q="something else")


def test_varied_work_is_not_a_cycle(looping: tuple[Guard, ManualClock]) -> None:
    guard, clock = looping
    agent = guard.agent("research_agent", session="s1")
    for n in range(15):  # search → open → summarise, each round on another page
        agent.call("search", q=f"topic {n}")
        agent.call("open_page", url=f"https://example.org/{n}")
        agent.call("summarise", url=f"https://example.org/{n}")
        clock.advance(timedelta(seconds=30))


def test_a_burst_far_above_the_sessions_own_pace_is_a_loop(
    looping: tuple[Guard, ManualClock],
) -> None:
    guard, clock = looping
    agent = guard.agent("research_agent", session="steady")
    for n in range(30):  # an hour at one call every two minutes
        agent.call("search", q=f"q{n}")
        clock.advance(timedelta(minutes=2))
    made = 0
    with pytest.raises(CircuitOpen) as caught:
        for n in range(100):  # then a call a second
            agent.call("search", q=f"fast {n}")
            made += 1
            clock.advance(timedelta(seconds=1))
    assert caught.value.code == "breakers.burst_detected"
    assert made == 19  # the 20th call of the minute is min_calls, and 20 > 5 × 0.5
    with pytest.raises(AgentStopped):
        agent.call("search", q="after")


def test_a_new_session_has_no_pace_to_burst_from(looping: tuple[Guard, ManualClock]) -> None:
    guard, clock = looping
    agent = guard.agent("research_agent", session="fresh")
    for n in range(40):  # 40 calls in its first 40 seconds: no past pace to compare with
        agent.call("search", q=f"q{n}")
        clock.advance(timedelta(seconds=1))


def test_a_loop_policy_must_say_what_a_loop_is() -> None:
    text = LOOPS.replace(
        "    cycles: 3\n    burst: {factor: 5, window: 1m, baseline: 1h, min_calls: 20}\n", ""
    )
    with pytest.raises(PolicyError, match="say what a loop is"):
        parse_policy(text)
    bad = LOOPS.replace("baseline: 1h", "baseline: 30s")
    with pytest.raises(PolicyError, match="`baseline` must be longer than `window`"):
        parse_policy(bad)
