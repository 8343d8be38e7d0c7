"""A LangGraph support agent whose tools go through agentguard.

    python examples/langgraph_agent/run.py      # on a fresh SQLite file in a temp folder

The model is scripted (no network): it looks an order up (allowed: the result reaches the
model), tries to close the customer's account (denied: the model reads ``[code] message``
as the tool's error), then refunds the order (held for review: the graph is interrupted).
A person approves the request with an approver key, the graph is resumed with
``Command(resume=…)``, and the refund runs exactly once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command
from pydantic import Field

from agentguard import Guard
from agentguard.integrations.langchain import guard_tools

HERE = Path(__file__).resolve().parent

#: what each tool was asked to do, in this process (the refund must appear once)
ran: list[str] = []


@tool
def lookup_order(order_id: str) -> dict[str, str]:
    """Look an order up."""
    ran.append("lookup_order")
    return {"order_id": order_id, "status": "delivered", "total": "80.00"}


@tool
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    ran.append("close_account")
    return "closed"


@tool
def issue_refund(order_id: str, amount: float) -> dict[str, str]:
    """Refund an order."""
    ran.append("issue_refund")
    return {"refund_id": f"rf_{order_id}", "status": "refunded"}


def _call(name: str, call_id: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


#: the scripted model's turns: one tool call per turn, so that a held call is alone in its
#: tools step (LangGraph runs an interrupted node again from its start)
SCRIPT = (
    _call("lookup_order", "call_1", order_id="A-7"),
    _call("close_account", "call_2", customer_id="c-9"),
    _call("issue_refund", "call_3", order_id="A-7", amount=80.0),
    AIMessage(content="Order A-7 is refunded; I may not close accounts."),
)


class ScriptedChatModel(BaseChatModel):
    """A chat model that plays :data:`SCRIPT`: its turn is the number of AI messages it
    has been shown. ``seen`` keeps the tool messages each turn received."""

    seen: list[list[ToolMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.seen.append([m for m in messages if isinstance(m, ToolMessage)])
        turn = sum(isinstance(m, AIMessage) for m in messages)
        return ChatResult(generations=[ChatGeneration(message=SCRIPT[turn])])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self


def build_graph(model: BaseChatModel, tools: Sequence[Any]) -> Any:
    """The usual tool-calling loop: model, then tools while the model asks for them."""

    def call_model(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    return graph.compile(checkpointer=InMemorySaver())


def run(store: str, approver_key: str, say: Any = print) -> dict[str, Any]:
    """Run the scripted agent; approve its refund with ``approver_key`` when it asks."""
    ran.clear()
    guard = Guard.from_file(HERE / "policy.yaml", store)
    agent = guard.agent("support_agent", session="support-2026-12")
    model = ScriptedChatModel()
    graph = build_graph(model, guard_tools([lookup_order, close_account, issue_refund], agent))
    config = {"configurable": {"thread_id": "support-1"}}

    state = graph.invoke({"messages": [HumanMessage("Refund order A-7, then close c-9.")]}, config)
    interrupts = [dict(i.value) for i in state.get("__interrupt__", ())]
    for held in interrupts:
        say(f"{held['tool']} waits for approval {held['ticket']}: a person decides")
        guard.approvals.approve(held["ticket"], key=approver_key, comment="order checked")

    state = graph.invoke(Command(resume="decided"), config)
    replies = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    for reply in replies:
        say(f"{reply.name}: {reply.status}")
    guard.close()
    return {
        "tool_messages": [
            {"tool": m.name, "status": m.status, "content": m.content} for m in replies
        ],
        "interrupts": interrupts,
        "ran": list(ran),
        "model_saw": [[m.content for m in turn] for turn in model.seen],
        "final": state["messages"][-1].content,
    }


if __name__ == "__main__":
    from agentguard.control import issue_key
    from agentguard.store import open_store

    folder = Path(tempfile.mkdtemp(prefix="agentguard-langgraph-"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    store = open_store(url)
    key, _ = issue_key(store, "alice", expires_in=None, tools=None, kind="approver")
    store.close()
    run(url, key)
    print(f"\naudit log: {url} (agentguard audit tail --store {url})")
