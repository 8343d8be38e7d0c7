"""The OpenAI Agents SDK adapter: refusals as tool output, holds as SDK interruptions
answered from agentguard's approval requests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("agents", reason="openai-agents is not installed")

from agents import Agent, RunConfig, Runner, Tool

from agentguard import Guard
from agentguard.integrations.openai_agents import (
    guard_function_tool,
    settle_approvals,
)


@pytest.fixture
def example(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("openai_agents")


def test_example_allows_denies_and_runs_the_approved_refund_once(
    example: ModuleType, db_url: str, approver_key: str, audit_bodies: Any
) -> None:
    said: list[str] = []
    outcome = example.run(db_url, approver_key, say=said.append)

    assert outcome["interrupted"] == ["issue_refund"]
    assert outcome["still_waiting"] == []
    assert outcome["ran"] == ["lookup_order", "issue_refund"]  # the refund ran exactly once
    first, second, third = outcome["model_saw"][1:]
    assert "delivered" in first[0]  # the allowed call's result reached the model
    assert second[1].startswith("[access.no_rule] ")  # the refusal, as the tool's output
    assert "rf_A-7" in third[2]
    assert outcome["final"].startswith("Order A-7 is refunded")

    records = [(b["action"], b["decision"]) for b in audit_bodies() if b["kind"] == "action"]
    assert ("lookup_order", "allow") in records
    assert ("close_account", "deny") in records
    assert ("issue_refund", "hold") in records
    assert records.count(("issue_refund", "allow")) == 1
    approvals = [b["action"] for b in audit_bodies() if b["kind"] == "control"]
    assert "agentguard.approval.approved" in approvals
    assert "agentguard.approval.executed" in approvals
    assert not any("A-7" in line or "c-9" in line for line in said)  # no argument values


async def _run_with(example: ModuleType, db_url: str, decide: Callable[[Guard, str], Any]) -> Any:
    example.ran.clear()
    guard = Guard.from_file(example.HERE / "policy.yaml", db_url)
    agent = guard.agent("support_agent")
    model = example.ScriptedModel()
    tools: list[Tool] = [
        guard_function_tool(f, agent)
        for f in (example.lookup_order, example.close_account, example.issue_refund)
    ]
    bot = Agent(name="support", tools=tools, model=model)
    config = RunConfig(tracing_disabled=True)
    result = await Runner.run(bot, "refund A-7", run_config=config)
    state = result.to_state()
    [request] = guard.approvals.list(state="pending")
    decide(guard, request.id)
    waiting = await settle_approvals(state, agent)
    if not waiting:
        result = await Runner.run(bot, state, run_config=config)
    guard.close()
    return waiting, model.seen, result


def test_rejected_refund_is_rejected_in_the_run_with_agentguards_refusal(
    example: ModuleType, db_url: str, approver_key: str
) -> None:
    def reject(guard: Guard, request: str) -> None:
        guard.approvals.reject(request, key=approver_key, comment="not eligible")

    waiting, seen, result = asyncio.run(_run_with(example, db_url, reject))

    assert waiting == []
    assert seen[-1][-1].startswith("[approval.rejected] ")
    assert "issue_refund" not in example.ran
    assert result.final_output.startswith("Order A-7")


def test_undecided_request_leaves_the_run_interrupted(example: ModuleType, db_url: str) -> None:
    waiting, _, result = asyncio.run(_run_with(example, db_url, lambda guard, request: None))

    assert [item.tool_name for item in waiting] == ["issue_refund"]
    assert [item.tool_name for item in result.interruptions] == ["issue_refund"]
    assert "issue_refund" not in example.ran
