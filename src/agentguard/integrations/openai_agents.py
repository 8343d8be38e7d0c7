"""OpenAI Agents SDK function tools that run through agentguard.

:func:`guard_function_tool` turns a Python function into the SDK's ``FunctionTool`` (as
``agents.function_tool`` does, same schema from the signature and docstring) whose calls
run as ``agent.ainvoke(tool, args)``: checked, run and audited. A refusal is returned to
the model as the tool's output text, ``[code] message``; the run carries on.

Approvals map onto the SDK's own human-in-the-loop flow, answered by agentguard:

1. ``needs_approval`` asks agentguard. A dry run (``agent.check``) that says *held* makes
   the adapter ask for real (``agent.ainvoke``): that queues agentguard's approval request
   (or finds it) and nothing runs; the SDK then stops the run with an interruption
   (``result.interruptions``). Anything else needs no SDK approval.
2. People decide in agentguard (``agentguard approvals approve ID``,
   ``guard.approvals.approve(ID, key=…)``), never in the SDK.
3. :func:`settle_approvals` copies those decisions onto the run: an approved request is
   ``state.approve(item)``, a rejected or expired one ``state.reject(item,
   rejection_message="[approval.rejected] …")``; undecided ones are returned, still pending.
4. ``Runner.run(sdk_agent, state)`` resumes. The approved tool call runs the held action
   once, through the current policy (``agent.aawait_approval``).

Example::

    from agents import Agent, RunConfig, Runner
    from agentguard.integrations.openai_agents import guard_function_tool, settle_approvals

    agent = guard.agent("support_agent")
    tools = [guard_function_tool(f, agent) for f in (lookup_order, issue_refund)]
    bot = Agent(name="support", tools=tools, model=model)
    result = await Runner.run(bot, "refund order 7")
    while result.interruptions:                       # agentguard held a call
        state = result.to_state()
        waiting = await settle_approvals(state, agent, timeout=600)
        if waiting:
            break                                     # nobody decided yet: resume later
        result = await Runner.run(bot, state)

The held action's arguments stay in this process (as with agentguard's own tickets):
resume a run in the process that was interrupted. Approval mode ``review`` is the one that
maps onto interruptions; with ``required`` the call waits for the person (up to its
``timeout``) inside ``needs_approval``, and the run carries on without interruption.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents import FunctionTool, RunContextWrapper, RunState, ToolApprovalItem, function_tool
from agents.tool_context import ToolContext

from agentguard.agent import AgentHandle
from agentguard.errors import AgentGuardError, ApprovalPending

if typing.TYPE_CHECKING:
    from agentguard.approval_queue import ApprovalTicket

__all__ = ["guard_function_tool", "settle_approvals"]

#: request states in which people may still decide
_UNDECIDED = frozenset({"pending", "escalated"})
#: how often :func:`settle_approvals` reads the queue while it waits
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class _Outcome:
    """A call already answered before the SDK ran the tool: its result, or a refusal."""

    result: Any = None
    refusal: str | None = None


class _Calls:
    """What the adapter knows of held calls, by the SDK's call id, in this process."""

    def __init__(self) -> None:
        self.tickets: dict[str, ApprovalTicket] = {}
        self.outcomes: dict[str, _Outcome] = {}

    async def attempt(self, agent: AgentHandle, tool: str, args: dict[str, Any], call: str) -> bool:
        """Ask agentguard for real; True when the call is held (its ticket is kept)."""
        try:
            result = await agent.ainvoke(tool, args)
        except ApprovalPending as pending:
            self.tickets[call] = pending.ticket
            return True
        except AgentGuardError as refused:
            self.outcomes[call] = _Outcome(refusal=str(refused))
            return False
        # the policy changed since the dry run and the call ran: the tool hands this over
        self.outcomes[call] = _Outcome(result=result)
        return False


_CALLS = _Calls()


def guard_function_tool(
    func: Callable[..., Any],
    agent: AgentHandle,
    *,
    name: str | None = None,
    approval_timeout: float = 0.0,
    **options: Any,
) -> FunctionTool:
    """A ``FunctionTool`` for ``func`` whose calls run as ``agent.ainvoke(name, args)``.

    ``name`` is the tool's name for agentguard and the model (default: the function's
    name); ``func`` is registered on the guard under it unless the guard already has an
    implementation. ``approval_timeout`` is how long an approved call waits for its claim
    (see :meth:`~agentguard.agent.AgentHandle.await_approval`). Other keyword ``options``
    go to ``agents.function_tool`` (``description_override``, ``strict_mode``, …), except
    ``needs_approval``, which agentguard answers.

    >>> tool = guard_function_tool(lookup_order, guard.agent("support_agent"))
    """
    if "needs_approval" in options or "name_override" in options:
        raise TypeError("guard_function_tool sets needs_approval and the name itself")
    tool_name = name or getattr(func, "__name__", "")
    if not tool_name:
        raise TypeError("a tool needs a name: pass name=")
    guard = agent.guard
    if tool_name not in guard.tools:
        guard.register(func, tool_name)
    signature = inspect.signature(func)

    async def needs_approval(
        context: RunContextWrapper[Any], params: dict[str, Any], call_id: str
    ) -> bool:
        decision = await asyncio.to_thread(agent.check, tool_name, **params)
        if not decision.held:
            return False
        return await _CALLS.attempt(agent, tool_name, params, call_id)

    async def invoke(context: ToolContext[Any], /, *args: Any, **kwargs: Any) -> Any:
        call = context.tool_call_id
        outcome = _CALLS.outcomes.pop(call, None)
        if outcome is not None:
            return outcome.refusal if outcome.refusal is not None else outcome.result
        ticket = _CALLS.tickets.pop(call, None)
        try:
            if ticket is not None:
                return await agent.aawait_approval(ticket, approval_timeout)
            arguments = signature.bind(*args, **kwargs).arguments
            return await agent.ainvoke(tool_name, dict(arguments))
        except AgentGuardError as refused:
            return str(refused)

    # the SDK reads the schema, name and description from the function: func's own, with
    # the tool context first (how the adapter learns the call id)
    hints = typing.get_type_hints(func, include_extras=True)
    parameters = [
        inspect.Parameter(
            "context", inspect.Parameter.POSITIONAL_ONLY, annotation=ToolContext[Any]
        ),
        *[
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in signature.parameters.values()
        ],
    ]
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        with contextlib.suppress(AttributeError):
            setattr(invoke, attribute, getattr(func, attribute))
    invoke.__annotations__ = {"context": ToolContext[Any], **hints}
    invoke.__dict__["__signature__"] = signature.replace(
        parameters=parameters, return_annotation=hints.get("return", signature.return_annotation)
    )
    return function_tool(invoke, name_override=tool_name, needs_approval=needs_approval, **options)


async def settle_approvals(
    state: RunState[Any], agent: AgentHandle, *, timeout: float = 0.0
) -> list[ToolApprovalItem]:
    """Answer the run's interruptions from agentguard's approval requests.

    For each interruption of a tool this guard implements: approved in agentguard →
    ``state.approve(item)``; rejected, expired or otherwise refused →
    ``state.reject(item, rejection_message="[code] message")``. Waits up to ``timeout``
    seconds for people to decide; returns the interruptions still undecided (and those of
    tools agentguard does not know), which the caller may settle later or answer itself.
    """
    give_up = time.monotonic() + max(timeout, 0.0)
    waiting = list(state.get_interruptions())
    while True:
        undecided = [item for item in waiting if not await _settle(state, agent, item)]
        if not undecided or time.monotonic() >= give_up:
            return undecided
        waiting = undecided
        await asyncio.sleep(min(_POLL_SECONDS, max(give_up - time.monotonic(), 0.0)))


async def _settle(state: RunState[Any], agent: AgentHandle, item: ToolApprovalItem) -> bool:
    """Approve or reject ``item`` as agentguard decided; False while undecided or unknown."""
    call = item.call_id
    tool = item.tool_name
    if call is None or tool is None or tool not in agent.guard.tools:
        return False
    if call in _CALLS.outcomes:  # answered already: the tool hands the answer over
        state.approve(item)
        return True
    ticket = _CALLS.tickets.get(call)
    if ticket is None:  # the SDK asked for approval without asking agentguard: ask now
        args = json.loads(item.arguments or "{}")
        if not await _CALLS.attempt(agent, tool, args, call):
            state.approve(item)
            return True
        ticket = _CALLS.tickets[call]
    status = await asyncio.to_thread(agent.approval_status, ticket)
    if status in _UNDECIDED:
        return False
    if status == "approved":
        state.approve(item)
        return True
    _CALLS.tickets.pop(call, None)
    try:  # rejected, expired or used: the refusal, with its code, for the model
        result = await agent.aawait_approval(ticket, 0)
    except AgentGuardError as refused:
        state.reject(item, rejection_message=str(refused))
    else:  # approved in the meantime and run now: the tool hands the result over
        _CALLS.outcomes[call] = _Outcome(result=result)
        state.approve(item)
    return True
