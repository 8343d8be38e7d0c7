"""The LangChain/LangGraph adapter: refusals as tool errors, holds as graph interrupts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("langchain_core", reason="langchain-core is not installed")
pytest.importorskip("langgraph", reason="langgraph is not installed")

from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.types import Command

from agentguard import Guard
from agentguard.integrations.langchain import guard_tool, guard_tools


@pytest.fixture
def example(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("langgraph_agent")


def test_example_allows_denies_and_runs_the_approved_refund_once(
    example: ModuleType, db_url: str, approver_key: str, audit_bodies: Any
) -> None:
    said: list[str] = []
    outcome = example.run(db_url, approver_key, say=said.append)

    lookup, close, refund = outcome["tool_messages"]
    assert (lookup["tool"], lookup["status"]) == ("lookup_order", "success")
    assert '"status": "delivered"' in lookup["content"]
    assert (close["tool"], close["status"]) == ("close_account", "error")
    assert close["content"].startswith("[access.no_rule] ")
    assert (refund["tool"], refund["status"]) == ("issue_refund", "success")
    assert "rf_A-7" in refund["content"]

    [held] = outcome["interrupts"]
    assert held["tool"] == "issue_refund" and held["agent"] == "support_agent"
    assert outcome["ran"] == ["lookup_order", "issue_refund"]  # the refund ran exactly once
    assert any("delivered" in seen for seen in outcome["model_saw"][1])  # result reached it
    assert any(seen.startswith("[access.no_rule]") for seen in outcome["model_saw"][2])
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


def test_rejected_refund_comes_back_to_the_model_as_a_tool_error(
    example: ModuleType, db_url: str, approver_key: str
) -> None:
    example.ran.clear()
    guard = Guard.from_file(example.HERE / "policy.yaml", db_url)
    agent = guard.agent("support_agent")
    tools = guard_tools([example.lookup_order, example.close_account, example.issue_refund], agent)
    graph = example.build_graph(example.ScriptedChatModel(), tools)
    config = {"configurable": {"thread_id": "t-reject"}}

    state = graph.invoke({"messages": [HumanMessage("refund A-7")]}, config)
    [pending] = state["__interrupt__"]
    guard.approvals.reject(pending.value["ticket"], key=approver_key, comment="not eligible")
    state = graph.invoke(Command(resume="decided"), config)
    guard.close()

    refund = [m for m in state["messages"] if isinstance(m, ToolMessage)][-1]
    assert refund.name == "issue_refund" and refund.status == "error"
    assert str(refund.content).startswith("[approval.rejected] ")
    assert "issue_refund" not in example.ran


def test_graph_stays_interrupted_while_nobody_has_decided(example: ModuleType, db_url: str) -> None:
    example.ran.clear()
    guard = Guard.from_file(example.HERE / "policy.yaml", db_url)
    agent = guard.agent("support_agent")
    tools = guard_tools([example.lookup_order, example.close_account, example.issue_refund], agent)
    graph = example.build_graph(example.ScriptedChatModel(), tools)
    config = {"configurable": {"thread_id": "t-undecided"}}

    first = graph.invoke({"messages": [HumanMessage("refund A-7")]}, config)
    again = graph.invoke(Command(resume="decided?"), config)
    requests = guard.approvals.list()
    guard.close()

    assert first["__interrupt__"][0].value["ticket"] == again["__interrupt__"][0].value["ticket"]
    assert [r.state for r in requests] == ["pending"]  # the same request, not a second one
    assert "issue_refund" not in example.ran


def test_guarded_tool_outside_a_graph_reports_a_hold_as_its_error(
    example: ModuleType, db_url: str
) -> None:
    guard = Guard.from_file(example.HERE / "policy.yaml", db_url)
    agent = guard.agent("support_agent")
    refund = guard_tool(example.issue_refund, agent)
    lookup = guard_tool(example.lookup_order, agent, name="lookup_order")

    assert lookup.invoke({"order_id": "A-1"})["status"] == "delivered"
    message = refund.invoke(
        {"type": "tool_call", "name": "issue_refund", "id": "c1",
         "args": {"order_id": "A-1", "amount": 5.0}}
    )  # fmt: skip
    guard.close()
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert str(message.content).startswith("[approval.")
    assert "waiting for approval" in message.content


def test_async_graph_runs_the_approved_refund_once(
    example: ModuleType, db_url: str, approver_key: str
) -> None:
    asyncio.run(_async_graph(example, db_url, approver_key))


async def _async_graph(example: ModuleType, db_url: str, approver_key: str) -> None:
    example.ran.clear()
    guard = Guard.from_file(example.HERE / "policy.yaml", db_url)
    agent = guard.agent("support_agent")
    tools = guard_tools([example.lookup_order, example.close_account, example.issue_refund], agent)
    graph = example.build_graph(example.ScriptedChatModel(), tools)
    config = {"configurable": {"thread_id": "t-async"}}

    state = await graph.ainvoke({"messages": [HumanMessage("refund A-7")]}, config)
    [pending] = state["__interrupt__"]
    guard.approvals.approve(pending.value["ticket"], key=approver_key)
    state = await graph.ainvoke(Command(resume="decided"), config)
    guard.close()

    replies = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in replies] == ["success", "error", "success"]
    assert example.ran == ["lookup_order", "issue_refund"]
