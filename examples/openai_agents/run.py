"""An OpenAI Agents SDK support agent whose tools go through agentguard.

    python examples/openai_agents/run.py      # on a fresh SQLite file in a temp folder

The model is scripted (no network, no tracing export): it looks an order up (allowed: the
result reaches the model), tries to close the customer's account (denied: the model reads
``[code] message`` as the tool's output), then refunds the order (held for review: the
SDK's ``needs_approval`` interrupts the run). A person approves agentguard's request with
an approver key, ``settle_approvals`` approves the SDK's interruption accordingly, the run
resumes, and the refund runs exactly once.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agents import Agent, Model, ModelResponse, RunConfig, Runner, Tool, Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from agentguard import Guard
from agentguard.integrations.openai_agents import guard_function_tool, settle_approvals

HERE = Path(__file__).resolve().parent

#: what each tool was asked to do, in this process (the refund must appear once)
ran: list[str] = []


def lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up."""
    ran.append("lookup_order")
    return {"order_id": order_id, "status": "delivered", "total": "80.00"}


def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    ran.append("close_account")
    return "closed"


def issue_refund(order_id: str, amount: float) -> dict[str, str]:
    """Refund an order."""
    ran.append("issue_refund")
    return {"refund_id": f"rf_{order_id}", "status": "refunded"}


def _call(name: str, call_id: str, **args: Any) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        type="function_call", name=name, call_id=call_id, arguments=json.dumps(args)
    )


#: the scripted model's turns, one tool call each, then its answer
SCRIPT: tuple[Any, ...] = (
    _call("lookup_order", "call_1", order_id="A-7"),
    _call("close_account", "call_2", customer_id="c-9"),
    _call("issue_refund", "call_3", order_id="A-7", amount=80.5),
    ResponseOutputMessage(
        id="msg_1",
        type="message",
        role="assistant",
        status="completed",
        content=[
            ResponseOutputText(
                type="output_text",
                text="Order A-7 is refunded; I may not close accounts.",
                annotations=[],
            )
        ],
    ),
)


class ScriptedModel(Model):
    """Plays :data:`SCRIPT`: its turn is the number of tool outputs it has been shown.
    ``seen`` keeps the tool outputs each turn received."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        items = [] if isinstance(input, str) else list(input)
        outputs = [
            str(item.get("output"))
            for item in items
            if isinstance(item, dict) and item.get("type") == "function_call_output"
        ]
        self.seen.append(outputs)
        return ModelResponse(output=[SCRIPT[len(outputs)]], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model does not stream")


async def arun(store: str, approver_key: str, say: Any = print) -> dict[str, Any]:
    """Run the scripted agent; approve its refund with ``approver_key`` when it asks."""
    ran.clear()
    guard = Guard.from_file(HERE / "policy.yaml", store)
    agent = guard.agent("support_agent", session="support-2026-12")
    model = ScriptedModel()
    tools: list[Tool] = [
        guard_function_tool(f, agent) for f in (lookup_order, close_account, issue_refund)
    ]
    bot = Agent(name="support", instructions="Help the customer.", tools=tools, model=model)
    config = RunConfig(tracing_disabled=True)

    result = await Runner.run(bot, "Refund order A-7, then close c-9.", run_config=config)
    interrupted = [item.tool_name for item in result.interruptions]
    state = result.to_state()
    for request in guard.approvals.list(state="pending", agent="support_agent"):
        say(f"{request.tool} waits for approval {request.id}: a person decides")
        guard.approvals.approve(request.id, key=approver_key, comment="order checked")
    waiting = await settle_approvals(state, agent)
    result = await Runner.run(bot, state, run_config=config)
    for turn in model.seen[1:]:
        say(f"the model was shown {len(turn)} tool output(s)")
    guard.close()
    return {
        "interrupted": interrupted,
        "still_waiting": [item.tool_name for item in waiting],
        "ran": list(ran),
        "model_saw": model.seen,
        "final": result.final_output,
    }


def run(store: str, approver_key: str, say: Any = print) -> dict[str, Any]:
    """:func:`arun`, from synchronous code."""
    return asyncio.run(arun(store, approver_key, say))


if __name__ == "__main__":
    from agentguard.control import issue_key
    from agentguard.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="agentguard-openai-agents-"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    store = open_store(url)
    key, _ = issue_key(store, "alice", expires_in=None, tools=None, kind="approver")
    store.close()
    run(url, key)
    print(f"\naudit log: {url} (agentguard audit tail --store {url})")
