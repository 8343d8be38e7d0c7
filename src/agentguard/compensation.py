"""How one journal entry is undone: the compensating (or restoring) function and the
arguments it is called with, computed from the policy and the entry alone.

* ``undo: {tool, args}`` — each argument is a CEL expression over the original ``args``
  and ``result`` (``refund_id: result.refund_id``). An expression that is a plain path
  (``args.amount``, ``result.refund.id``) gives the original value itself, so a
  ``Decimal`` stays that exact ``Decimal``; a computed one gives CEL's value converted back
  to Python (:func:`from_cel`: numbers as ``int`` or ``float``, CEL having no decimals).
* ``undo: tool`` (no ``args``) — the original arguments, plus ``result=`` when the function
  has a ``result`` parameter.
* ``snapshot: {tool, restore}`` — ``restore`` with the original arguments plus
  ``snapshot=`` the state captured before the action ran.

The arguments are then validated and converted against the function's signature, as a
call through the guard would be. Every refusal is an :class:`AgentGuardError` naming tools
and arguments, never values. Example::

    undo = compensation(entry, guard.policy, guard.tools, now=clock.now())
    call(undo.function, undo.args)
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agentguard.errors import AgentGuardError
from agentguard.journal import JournalEntry, UndoKind
from agentguard.policy import LoadedPolicy
from agentguard.policy.conditions import Condition, to_cel
from agentguard.tools import BindError, ToolFunction
from agentguard.values import plain

_PATH = re.compile(r"\s*(args|result)((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*")
_MISSING = object()
#: ``args.NAME`` in an undo expression, and every use of ``args`` at all
_ARG_NAME = re.compile(r"\bargs\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_ARG_USE = re.compile(r"\bargs\b")


@dataclass(frozen=True, slots=True)
class Compensation:
    """The call that undoes one entry: ``function`` (the tool named ``tool``) with
    ``args`` (raw values: never print them)."""

    tool: str
    function: ToolFunction
    args: Mapping[str, Any] = field(repr=False)


def compensation(
    entry: JournalEntry,
    policy: LoadedPolicy,
    functions: Mapping[str, ToolFunction],
    *,
    now: datetime,
) -> Compensation:
    """The call that undoes ``entry`` under the current policy. Refused
    (``rollback.policy_changed``) when the policy no longer undoes the tool with the tool
    it named when the action ran, ``rollback.not_registered`` when that tool has no
    implementation, ``rollback.bad_arguments`` when its arguments cannot be computed or do
    not fit it."""
    spec = policy.model.tools.get(entry.tool)
    name: str | None = None
    if spec is not None and entry.kind is UndoKind.UNDO and spec.undo_spec is not None:
        name = spec.undo_spec.tool
    elif spec is not None and entry.kind is UndoKind.SNAPSHOT and spec.snapshot is not None:
        name = spec.snapshot.restore
    if name != entry.undo_tool:
        raise AgentGuardError(
            f"tool {entry.tool!r} is no longer undone by {entry.undo_tool!r} in the policy "
            f"(action {entry.action_id}); undo it by hand, or restore that policy",
            code="rollback.policy_changed",
        )
    function = functions.get(name)
    if function is None:
        raise AgentGuardError(
            f"undo tool {name!r} has no registered implementation; register it with "
            "@guard.tool() or give it `call: module:function` in the policy",
            code="rollback.not_registered",
        )
    if entry.kind is UndoKind.SNAPSHOT:
        args = {**_accepted(function, entry.args), "snapshot": entry.snapshot}
    else:
        mapping = policy.undo_args.get(entry.tool)
        if mapping is None:
            args = _accepted(function, entry.args)
            if _takes(function, "result"):
                args["result"] = entry.result
        else:
            made: list[dict[str, Any]] = []  # CEL's variables, converted once if needed

            def variables() -> dict[str, Any]:
                if not made:
                    made.append(_variables(entry, policy, now))
                return made[0]

            args = {
                argument: _argument(entry, argument, condition, variables)
                for argument, condition in mapping.items()
            }
    try:
        bound = function.bind(args)
    except BindError as exc:
        raise AgentGuardError(
            f"the arguments for undo tool {name!r} do not fit it: {exc}",
            code="rollback.bad_arguments",
        ) from None
    return Compensation(name, function, bound)


def needed_args(
    tool: str,
    args: Mapping[str, Any],
    policy: LoadedPolicy,
    functions: Mapping[str, ToolFunction],
) -> dict[str, Any]:
    """The original arguments an undo of ``tool`` reads, and no others (the journal keeps
    only these, so a ``sensitive`` argument the undo does not need is never stored):
    those its ``undo.args`` expressions name (all of them when an expression reads
    ``args`` otherwise than as ``args.NAME``); for ``undo: TOOL`` and ``snapshot:``, those
    the compensating function accepts (all of them when it takes ``**kwargs``; when it is
    not registered yet, those its policy schema declares, else all but the tool's
    ``sensitive`` ones)."""
    spec = policy.model.tools.get(tool)
    if spec is None:
        return dict(args)
    mapping = policy.undo_args.get(tool)
    if mapping is not None:
        names: set[str] = set()
        for condition in mapping.values():
            if "args" not in condition.needs:
                continue
            named = set(_ARG_NAME.findall(condition.source))
            if len(_ARG_USE.findall(condition.source)) != len(_ARG_NAME.findall(condition.source)):
                return dict(args)  # args used some other way: keep them all
            names |= named
        return {k: v for k, v in args.items() if k in names}
    undo = spec.undo_spec
    name = spec.snapshot.restore if spec.snapshot is not None else undo.tool if undo else None
    function = functions.get(name) if name is not None else None
    if function is not None:
        return _accepted(function, args)
    schema = policy.arg_schema(name) if name is not None else None
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if isinstance(properties, Mapping):  # not registered yet: what its schema declares
        return {k: v for k, v in args.items() if k in properties}
    sensitive = {path.split(".")[0] for path in spec.sensitive}
    return {k: v for k, v in args.items() if k not in sensitive}


def needs_result(tool: str, policy: LoadedPolicy, functions: Mapping[str, ToolFunction]) -> bool:
    """Whether undoing an action of ``tool`` reads its result (so the journal keeps it):
    an ``undo.args`` expression reads ``result``, or, without ``args``, the compensating
    function takes ``result`` (not registered yet: its policy schema declares ``result``)."""
    mapping = policy.undo_args.get(tool)
    if mapping is not None:
        return any("result" in condition.needs for condition in mapping.values())
    spec = policy.model.tools.get(tool)
    undo = spec.undo_spec if spec is not None else None
    function = functions.get(undo.tool) if undo is not None else None
    if function is not None:
        return _takes(function, "result")
    # not registered yet: only when its policy schema declares a result (a result may hold
    # anything, a card number included: kept only when the undo says it reads it)
    schema = policy.arg_schema(undo.tool) if undo is not None else None
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return isinstance(properties, Mapping) and "result" in properties


def call(function: ToolFunction, args: Mapping[str, Any]) -> Any:
    """Call a tool's function directly (never through an agent's pipeline). An async one
    is run to completion when this thread runs no event loop; from inside a loop it is
    refused (``rollback.async_in_loop``): roll back from a thread instead."""
    if not function.is_async:
        return function.func(**args)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(function.func(**args))
    raise AgentGuardError(
        f"tool {function.name!r} is async and this thread runs an event loop; use "
        "`async with rollback.transaction()` or roll back from a thread",
        code="rollback.async_in_loop",
    )


def from_cel(value: Any) -> Any:
    """A CEL value as plain Python: null, bool, int, float, str, bytes, timestamp
    (datetime), duration (timedelta), and lists and maps of them. ``TypeError`` for
    anything else (never guessed)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return value
    if isinstance(value, datetime | timedelta):
        return value
    if isinstance(value, Mapping):
        return {str(key): from_cel(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [from_cel(item) for item in value]
    raise TypeError(f"a CEL value of type {type(value).__name__} has no Python equivalent")


def _argument(
    entry: JournalEntry,
    argument: str,
    condition: Condition,
    variables: Callable[[], Mapping[str, Any]],
) -> Any:
    found = _at_path(entry, condition.source)
    if found is not _MISSING:
        return found
    try:
        return from_cel(condition.value(variables()))
    except Exception as exc:
        raise AgentGuardError(
            f"undo argument {argument!r} of tool {entry.tool!r} could not be computed "
            f"({type(exc).__name__}); check its expression under undo.args",
            code="rollback.bad_arguments",
        ) from None


def _at_path(entry: JournalEntry, source: str) -> Any:
    """The original value a plain path names (``args.amount``), or _MISSING."""
    match = _PATH.fullmatch(source)
    if match is None:
        return _MISSING
    root, rest = match.groups()
    node: Any = entry.args if root == "args" else plain(entry.result)
    for part in (p.strip() for p in rest.split(".")[1:]):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _variables(entry: JournalEntry, policy: LoadedPolicy, now: datetime) -> dict[str, Any]:
    spec = policy.model.agents.get(entry.agent)
    return {
        "args": to_cel(dict(entry.args)),
        "result": to_cel(plain(entry.result)),
        "agent": {
            "id": entry.agent,
            "roles": list(spec.roles) if spec is not None else [],
            "owner": spec.owner if spec is not None else None,
        },
        "session": entry.session,
        "subject": None,  # not journaled
        "now": now,
    }


def _accepted(function: ToolFunction, args: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments ``function`` accepts by name (all of them when it takes ``**kwargs``
    or its signature cannot be read)."""
    try:
        parameters = inspect.signature(function.func).parameters
    except (TypeError, ValueError):
        return dict(args)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(args)
    return {k: v for k, v in args.items() if k in parameters}


def _takes(function: ToolFunction, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(function.func).parameters
    except (TypeError, ValueError):
        return False
