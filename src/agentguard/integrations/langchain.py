"""LangChain tools that run through agentguard, with approvals as LangGraph interrupts.

:func:`guard_tool` wraps any LangChain tool so that every call the model makes goes through
``agent.invoke(tool, args)``: checked by the policy, run, and audited. A refusal comes back
to the model as the tool's error output (a ``ToolMessage`` with ``status="error"`` and the
text ``[code] message``), so the graph carries on and the model can react to it.

A held action (``ApprovalPending``, approval mode ``review``) inside a LangGraph node calls
``langgraph.types.interrupt({"ticket": …, "tool": …, "agent": …})``: the graph stops and
is checkpointed. A person approves (``agentguard approvals approve ID`` or
``guard.approvals.approve(ID, key=…)``), then the graph is resumed with
``Command(resume=…)`` (the value is not used). LangGraph runs the interrupted task again
from its start; the adapter remembers the request it interrupted for (in this process, by
thread and task) and waits up to ``approval_timeout`` seconds for it with
``agent.await_approval``: approved, the action runs once and its result is the tool's
output; rejected or expired, the refusal is the tool's error (``[approval.rejected] …``);
still undecided, the graph is interrupted again. (A process that did not see the
interrupt calls ``agent.invoke`` again, which finds the request while it waits or once it
is approved.) Outside a graph, a held action is simply the tool's error output.

Example::

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.prebuilt import ToolNode
    from langgraph.types import Command
    from agentguard.integrations.langchain import guard_tools

    agent = guard.agent("support_agent")
    tools = guard_tools([lookup_order, issue_refund], agent)
    # model -> ToolNode -> model, as in examples/langgraph_agent/run.py
    graph = build_graph(model.bind_tools(tools), ToolNode(tools)).compile(
        checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t-1"}}
    state = graph.invoke({"messages": [("user", "refund order 7")]}, config)
    for pending in state.get("__interrupt__", []):
        print("waiting for", pending.value["ticket"])   # a person approves it
    state = graph.invoke(Command(resume="decided"), config)

A LangGraph node runs again from its start when resumed, so keep held tools apart from
others in one step (one tool call per model turn, or a ``ToolNode`` per call): a tool that
ran before the interrupt in the same node would be called again.

Approval mode ``required`` makes the call itself wait for the person (up to its
``timeout``) before the tool returns; use ``review`` for tools that should interrupt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException

from agentguard.agent import AgentHandle
from agentguard.approval_queue import ApprovalTicket
from agentguard.errors import AgentGuardError, ApprovalPending

__all__ = ["guard_tool", "guard_tools"]

#: langgraph's configurable key for a running task's interrupt state (its
#: ``CONFIG_KEY_SCRATCHPAD``, which langgraph keeps in a private module)
_SCRATCHPAD = "__pregel_scratchpad"


def guard_tool(
    tool: BaseTool,
    agent: AgentHandle,
    *,
    name: str | None = None,
    approval_timeout: float = 0.0,
) -> BaseTool:
    """A copy of ``tool`` whose every call runs as ``agent.invoke(name, args)``.

    ``name`` is the agentguard tool name (default: the LangChain tool's name); the wrapped
    tool has that name too. When the guard has no implementation of that name, the tool's
    function is registered (``guard.register``). ``approval_timeout`` is how long a resumed
    call waits for a decision still pending before interrupting again.

    >>> safe = guard_tool(search_orders, guard.agent("support_agent"))
    >>> safe.invoke({"order_id": "o1"})          # allowed: the tool's result
    >>> safe.invoke({"order_id": "secret"})      # refused: '[access.no_rule] …'
    """
    tool_name = name or tool.name
    guard = agent.guard
    if tool_name not in guard.tools:
        guard.register(_implementation(tool), tool_name)

    def run(**args: Any) -> Any:
        held = _HELD.find(tool_name, args)
        if held is None:
            try:
                return agent.invoke(tool_name, args)
            except ApprovalPending as pending:
                held = _HELD.keep(pending)
            except AgentGuardError as refused:
                raise ToolException(str(refused)) from None
        while True:
            _interrupt(held)
            try:
                return _HELD.settled(held, agent.await_approval(held.ticket, approval_timeout))
            except ApprovalPending:  # nobody decided yet: interrupt again
                continue
            except AgentGuardError as refused:
                _HELD.settled(held, None)
                raise ToolException(str(refused)) from None

    async def arun(**args: Any) -> Any:
        held = _HELD.find(tool_name, args)
        if held is None:
            try:
                return await agent.ainvoke(tool_name, args)
            except ApprovalPending as pending:
                held = _HELD.keep(pending)
            except AgentGuardError as refused:
                raise ToolException(str(refused)) from None
        while True:
            _interrupt(held)
            try:
                result = await agent.aawait_approval(held.ticket, approval_timeout)
            except ApprovalPending:
                continue
            except AgentGuardError as refused:
                _HELD.settled(held, None)
                raise ToolException(str(refused)) from None
            return _HELD.settled(held, result)

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=tool_name,
        description=tool.description,
        args_schema=tool.args_schema if tool.args_schema is not None else tool.get_input_schema(),
        return_direct=tool.return_direct,
        response_format=tool.response_format,
        handle_tool_error=True,
    )


def guard_tools(
    tools: Iterable[BaseTool], agent: AgentHandle, *, approval_timeout: float = 0.0
) -> list[BaseTool]:
    """:func:`guard_tool` for each of ``tools``."""
    return [guard_tool(t, agent, approval_timeout=approval_timeout) for t in tools]


def _implementation(tool: BaseTool) -> Callable[..., Any]:
    """What the guard runs once a call is allowed: the tool's own function when it has one
    (``@tool``, ``StructuredTool``), otherwise the tool itself invoked with the arguments."""
    func = getattr(tool, "func", None) or getattr(tool, "coroutine", None)
    if callable(func):
        return func  # type: ignore[no-any-return]

    def call_tool(**args: Any) -> Any:
        return tool.invoke(args)

    call_tool.__name__ = tool.name
    return call_tool


@dataclass(frozen=True)
class _Held:
    """A held call interrupted in a graph's task: ``task`` is (thread id, task namespace),
    empty outside a graph."""

    task: tuple[str, str]
    ticket: ApprovalTicket
    message: str


class _HeldCalls:
    """The held calls of interrupted graph tasks, in this process.

    A resumed LangGraph task runs again from its start. Its held call must then wait for
    the request it was interrupted for (and learn that it was rejected), not ask again:
    asking again after a rejection would queue a new request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], list[_Held]] = {}

    def find(self, tool: str, args: Mapping[str, Any]) -> _Held | None:
        task = _task()
        if task is None:
            return None
        with self._lock:
            for held in self._held.get(task, ()):
                if held.ticket.tool == tool and dict(held.ticket.action.args) == dict(args):
                    return held
        return None

    def keep(self, pending: ApprovalPending) -> _Held:
        held = _Held(_task() or ("", ""), pending.ticket, str(pending))
        if held.task != ("", ""):
            with self._lock:
                self._held.setdefault(held.task, []).append(held)
        return held

    def settled(self, held: _Held, result: Any) -> Any:
        with self._lock:
            kept = [h for h in self._held.get(held.task, ()) if h.ticket.id != held.ticket.id]
            if kept:
                self._held[held.task] = kept
            else:
                self._held.pop(held.task, None)
        return result


_HELD = _HeldCalls()


def _graph_config() -> Mapping[str, Any] | None:
    """The running LangGraph task's ``configurable``, or None outside a graph."""
    try:
        from langgraph.config import get_config
    except ImportError:
        return None
    try:
        config = get_config()
    except RuntimeError:  # not inside a runnable at all
        return None
    configurable = config.get("configurable", {})
    # a tool invoked on its own also has a config; only a graph's task has a scratchpad
    return configurable if _SCRATCHPAD in configurable else None


def _task() -> tuple[str, str] | None:
    configurable = _graph_config()
    if configurable is None:
        return None
    return str(configurable.get("thread_id", "")), str(configurable.get("checkpoint_ns", ""))


def _interrupt(held: _Held) -> None:
    """Interrupt the running LangGraph task for ``held`` (returns once resumed); outside
    a graph, the hold is the tool's error output."""
    if _graph_config() is None:
        raise ToolException(held.message)
    from langgraph.types import interrupt

    ticket = held.ticket
    interrupt({"ticket": ticket.id, "tool": ticket.tool, "agent": ticket.agent})
