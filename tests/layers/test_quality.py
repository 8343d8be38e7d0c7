"""Quality checks: a user's own judgement of outbound text, with a timeout, failing closed."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from agentguard import Action, AgentGuardError, ContentBlocked, Guard, HeldForReview
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  post:
    input: {text: {type: string}, channel: {type: string}}
    outbound: [text]
  note:
    input: {text: {type: string}}
roles:
  writer: {allow: [post, note]}
agents:
  bot: {roles: [writer]}
detectors:
  quality_checks:
    - {name: judge, tools: [post], timeout: 200ms}
    - {name: strict, tools: [post], action: block, timeout: 5s}
"""


def _guard() -> tuple[Guard, list[str]]:
    guard = Guard(parse_policy(POLICY), "memory://")
    posted: list[str] = []

    @guard.tool()
    def post(text: str, channel: str) -> str:
        posted.append(text)
        return "ok"

    @guard.tool()
    def note(text: str) -> str:
        return "noted"

    return guard, posted


def test_passing_checks_let_the_action_run() -> None:
    guard, posted = _guard()
    seen: list[tuple[dict[str, str], Action]] = []

    @guard.quality_check("judge")
    def judge(fields: dict[str, str], action: Action) -> bool:
        seen.append((fields, action))
        return True

    guard.quality_check("strict")(lambda fields, action: None)
    guard.agent("bot").call("post", text="Our spring sale starts Monday.", channel="web")
    assert posted == ["Our spring sale starts Monday."]
    [(fields, action)] = seen
    assert fields == {"text": "Our spring sale starts Monday."}  # outbound fields only
    assert action.tool == "post" and action.agent == "bot"


def test_a_failing_review_check_holds_the_action_with_its_reason() -> None:
    guard, posted = _guard()
    guard.quality_check("judge")(lambda fields, action: "sounds robotic")
    guard.quality_check("strict")(lambda fields, action: True)
    with pytest.raises(HeldForReview) as caught:
        guard.agent("bot").call("post", text="PURCHASE NOW.", channel="web")
    assert caught.value.code == "quality.held_for_review"
    assert "sounds robotic" in caught.value.message
    assert posted == []


def test_a_failing_block_check_blocks_even_when_another_holds() -> None:
    guard, posted = _guard()
    guard.quality_check("judge")(lambda fields, action: False)
    guard.quality_check("strict")(lambda fields, action: False)
    with pytest.raises(ContentBlocked) as caught:
        guard.agent("bot").call("post", text="x" * 10, channel="web")
    assert caught.value.code == "quality.failed"
    assert posted == []


def test_a_check_that_times_out_fails_closed() -> None:
    guard, posted = _guard()
    release = threading.Event()

    @guard.quality_check("judge")
    def judge(fields: dict[str, str], action: Action) -> bool:
        release.wait(30)  # hangs until the test releases it, long after the 200 ms timeout
        return True

    guard.quality_check("strict")(lambda fields, action: True)
    try:
        with pytest.raises(HeldForReview) as caught:
            guard.agent("bot").call("post", text="hello there", channel="web")
    finally:
        release.set()
    assert "did not answer within 0.2s" in caught.value.message
    assert posted == []


def test_a_check_that_raises_or_is_missing_fails_closed_without_echoing_content() -> None:
    guard, posted = _guard()

    @guard.quality_check("judge")
    def judge(fields: dict[str, str], action: Action) -> bool:
        raise ValueError(fields["text"])

    # "strict" has no function: it blocks
    with pytest.raises(ContentBlocked) as caught:
        guard.agent("bot").call("post", text="secret plan: 4556 7375 8689 9855", channel="web")
    messages = [r.message for r in caught.value.decision.reasons]
    assert any("raised ValueError" in m for m in messages)
    assert any("no function is registered" in m for m in messages)
    assert all("4556" not in m for m in messages)
    assert posted == []


def test_a_check_reason_is_redacted() -> None:
    guard, _ = _guard()
    guard.quality_check("judge")(lambda f, a: "mentions jane.doe@fabrikam.co.uk")
    guard.quality_check("strict")(lambda f, a: True)
    with pytest.raises(HeldForReview) as caught:
        guard.agent("bot").call("post", text="hi", channel="web")
    assert "jane.doe@fabrikam.co.uk" not in str(caught.value)
    assert "[EMAIL]" in caught.value.message


def test_async_checks_are_awaited() -> None:
    guard, posted = _guard()

    async def judge(fields: dict[str, str], action: Action) -> bool | str:
        return "too long" if len(fields["text"]) > 5 else True

    guard.quality_check("judge")(judge)
    guard.quality_check("strict")(lambda f, a: True)
    guard.agent("bot").call("post", text="short", channel="web")
    with pytest.raises(HeldForReview):
        guard.agent("bot").call("post", text="much too long", channel="web")
    assert posted == ["short"]


def test_tools_a_check_does_not_name_are_not_checked() -> None:
    guard, _ = _guard()
    assert guard.agent("bot").call("note", text="anything at all") == "noted"


def test_registering_an_undeclared_check_is_an_error() -> None:
    guard, _ = _guard()
    with pytest.raises(AgentGuardError, match="no quality check named 'judg'"):
        guard.quality_check("judg")


def test_check_from_the_policy_call_path(tmp_path: Any, monkeypatch: Any) -> None:
    (tmp_path / "mychecks.py").write_text(
        "def no_caps(fields, action):\n    return fields['text'] != fields['text'].upper()\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    policy = POLICY.replace(
        "{name: judge, tools: [post], timeout: 200ms}", "{name: judge, call: 'mychecks:no_caps'}"
    )
    policy = policy.replace("    - {name: strict, tools: [post], action: block, timeout: 5s}\n", "")
    guard = Guard(parse_policy(policy), "memory://")
    guard.register(lambda text, channel: "ok", "post")
    assert guard.agent("bot").call("post", text="Fine text", channel="x") == "ok"
    with pytest.raises(HeldForReview):
        guard.agent("bot").call("post", text="SHOUTING TEXT", channel="x")
