"""The limits layer on a real SQLite store with an injected clock: several windows at once,
sliding edges, per-subject counts, budgets reserved and settled, retry limits, approval
after N, dry runs that count nothing, and refusals by later layers that release."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentguard import ContentBlocked, Guard, HeldForReview, PolicyError, RateLimited
from agentguard.clock import ManualClock
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  send_email:
    input: {to: {type: string}, body: {type: string}}
    outbound: [body]
  call_api: {input: {q: {type: string}}, cost: 0.25}
  fetch: {input: {url: {type: string}}}
  publish_post: {input: {text: {type: string}}}
  process_refund: {input: {amount: {type: number}}}
roles:
  all: {allow: [send_email, call_api, fetch, publish_post, process_refund]}
agents:
  email_agent: {roles: [all]}
  research_agent: {roles: [all]}
  content_agent: {roles: [all]}
  financial_agent: {roles: [all]}
  other_agent: {roles: [all]}
detectors:
  rules:
    - {scan: outbound, detectors: [secrets], action: block}
limits:
  email_agent:
    - {tool: send_email, max: 3, per: 1h}
    - {tool: send_email, max: 5, per: 1d}
  research_agent:
    - {tool: call_api, max: 100, per: 1m}
    - {cost: 1.00, per: 1h}
    - {tool: fetch, max_retries: 2}
  content_agent:
    - {tool: publish_post, max: 4, per: 1d, require_approval_after: 2}
  financial_agent:
    - {tool: process_refund, max: 2, per: 1d, per_subject: true}
  "*":
    - {tool: fetch, max: 50, per: 1h}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Guard, ManualClock, dict[str, int]]]:
    clock = ManualClock()
    ran: dict[str, int] = {}
    with Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}", clock=clock) as guard:

        def counting(name: str, fail: bool = False) -> Any:
            def tool(**kwargs: Any) -> str:
                ran[name] = ran.get(name, 0) + 1
                if fail and kwargs.get("url") == "http://down.test/":
                    raise ConnectionError("down")
                return "ok"

            return tool

        for name in ("send_email", "call_api", "publish_post", "process_refund"):
            guard.register(counting(name), name)
        guard.register(counting("fetch", fail=True), "fetch")
        yield guard, clock, ran


def send(guard: Guard) -> Any:
    return guard.agent("email_agent").call("send_email", to="a@b.test", body="hello")


def test_two_windows_at_once_and_retry_after(world: Any) -> None:
    guard, clock, ran = world
    for _ in range(3):
        send(guard)
    with pytest.raises(RateLimited) as caught:
        send(guard)
    assert caught.value.code == "limits.rate_exceeded"
    assert caught.value.retry_after == timedelta(hours=1)
    clock.advance(timedelta(minutes=61))
    send(guard)
    send(guard)  # 5 in the day now
    clock.advance(timedelta(hours=2))
    with pytest.raises(RateLimited) as caught:
        send(guard)  # the hour has room, the day does not
    assert "5 times per 1d" in caught.value.message
    assert ran["send_email"] == 5


def test_the_window_slides_no_double_burst_at_an_edge(world: Any) -> None:
    guard, clock, _ran = world
    send(guard)
    clock.advance(timedelta(minutes=59))
    send(guard)
    send(guard)
    clock.advance(timedelta(minutes=2))  # the first left the window, the others did not
    send(guard)
    with pytest.raises(RateLimited) as caught:
        send(guard)
    assert caught.value.retry_after == timedelta(minutes=58)


def test_a_budget_reserves_the_cost_and_refuses_past_it(world: Any) -> None:
    guard, _clock, ran = world
    agent = guard.agent("research_agent")
    for n in range(4):
        agent.call("call_api", q=f"q{n}")
    with pytest.raises(RateLimited) as caught:
        agent.call("call_api", q="one more")
    assert caught.value.code == "limits.budget_exceeded"
    assert ran["call_api"] == 4
    assert guard.check(agent="research_agent", tool="call_api", args={"q": "x"}).allowed is False


def test_a_call_that_keeps_failing_is_not_retried_past_max_retries(world: Any) -> None:
    guard, clock, ran = world
    agent = guard.agent("research_agent")
    for _ in range(2):
        with pytest.raises(ConnectionError):
            agent.call("fetch", url="http://down.test/")
    with pytest.raises(RateLimited) as caught:
        agent.call("fetch", url="http://down.test/")
    assert caught.value.code == "limits.retries_exceeded"
    assert agent.call("fetch", url="http://up.test/") == "ok"  # other arguments are fine
    clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(ConnectionError):
        agent.call("fetch", url="http://down.test/")  # the failures left the window
    assert ran["fetch"] == 4


def test_past_require_approval_after_actions_are_held_and_past_max_denied(world: Any) -> None:
    guard, _clock, ran = world
    agent = guard.agent("content_agent")
    agent.call("publish_post", text="one")
    agent.call("publish_post", text="two")
    with pytest.raises(HeldForReview) as caught:
        agent.call("publish_post", text="three")
    assert caught.value.code == "limits.approval_required"
    assert ran["publish_post"] == 2


def test_per_subject_counts_each_customer_apart_and_needs_a_subject(world: Any) -> None:
    guard, _clock, ran = world
    for customer in ("cust_1", "cust_2"):
        agent = guard.agent("financial_agent", subject=customer)
        agent.call("process_refund", amount=10)
        agent.call("process_refund", amount=10)
        with pytest.raises(RateLimited):
            agent.call("process_refund", amount=10)
    with pytest.raises(RateLimited):  # another spelling of the same customer
        guard.agent("financial_agent", subject=" CUST_1 ").call("process_refund", amount=10)
    with pytest.raises(RateLimited) as caught:
        guard.agent("financial_agent").call("process_refund", amount=10)
    assert caught.value.code == "limits.no_subject"
    assert ran["process_refund"] == 4


def test_a_dry_run_counts_nothing(world: Any) -> None:
    guard, _clock, _ran = world
    for _ in range(10):
        decision = guard.check(
            agent="email_agent", tool="send_email", args={"to": "a@b.test", "body": "x"}
        )
        assert decision.allowed
    for _ in range(3):
        send(guard)
    assert not guard.agent("email_agent").check("send_email", to="a@b.test", body="x").allowed


def test_an_action_a_later_layer_refuses_does_not_count(world: Any) -> None:
    guard, _clock, ran = world
    token = "ghp_" + "Zq8xT2mV9kR4wL7nB3cY6pH1sD5fG0jK8aE2"
    for _ in range(5):
        with pytest.raises(ContentBlocked):
            guard.agent("email_agent").call("send_email", to="a@b.test", body=f"key {token}")
    for _ in range(3):
        send(guard)  # the blocked ones did not use the window
    assert ran["send_email"] == 3


def test_limits_of_all_agents_together_are_shared(world: Any) -> None:
    guard, _clock, _ran = world
    for n in range(50):
        name = "research_agent" if n % 2 else "other_agent"
        guard.agent(name).call("fetch", url=f"http://up.test/{n}")
    with pytest.raises(RateLimited) as caught:
        guard.agent("email_agent").call("fetch", url="http://up.test/x")
    assert "all agents together" in caught.value.message


def test_counts_survive_a_restart(tmp_path: Path) -> None:
    clock = ManualClock()
    url = f"sqlite:///{tmp_path / 'ag.db'}"
    for expected_ok in (True, True, True, False):
        with Guard(parse_policy(POLICY), url, clock=clock) as guard:
            guard.register(lambda to, body: "sent", "send_email")
            if expected_ok:
                send(guard)
            else:
                with pytest.raises(RateLimited):
                    send(guard)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{tool: send_email, max: 3}", "add `per`"),
        ("{tool: send_email, max: 3, cost: 1, per: 1h}", "a limit is one of"),
        ("{tool: nothing_here, max: 3, per: 1h}", "not defined under 'tools:'"),
        ("{tool: send_email, max: 3, per: 1h, require_approval_after: 3}", "must be below"),
        ("{tool: send_email, max: 0, per: 1h}", "greater than 0"),
        ("{tool: send_email, max: 3, per: 1h, colour: red}", "unknown key 'colour'"),
    ],
)
def test_a_bad_limit_is_a_policy_error_naming_it(rule: str, message: str) -> None:
    text = POLICY.replace("- {tool: send_email, max: 3, per: 1h}", f"- {rule}")
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="p.yaml")
    assert message in str(caught.value)
    assert "p.yaml:" in str(caught.value)


def test_limits_for_an_unknown_agent_are_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            POLICY.replace(
                "  email_agent:\n    - {tool: send_email, max: 3",
                "  emial_agent:\n    - {tool: send_email, max: 3",
            )
        )
    assert "emial_agent" in str(caught.value)
