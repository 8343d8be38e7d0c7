"""What an approval is bound to: a keyed hash of the exact action, and the ticket an agent
holds for a held action (its arguments stay in the agent's process)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from agentguard.pipeline import Action


@dataclass(frozen=True)
class ApprovalTicket:
    """A held action waiting for people: what :class:`~agentguard.errors.ApprovalPending`
    carries and :meth:`~agentguard.agent.AgentHandle.await_approval` takes.

    ``id`` is the request's id (``agentguard approvals approve ID``); ``mode`` is
    ``review`` (the call returned at once) or ``required`` (the call waited);
    ``deadline`` is when people's time runs out. The action itself, arguments included,
    stays in this process: it is what runs once approved.
    """

    id: str
    agent: str
    tool: str
    mode: str
    deadline: datetime | None
    binding: str = field(repr=False)
    action: Action = field(repr=False)


def action_binding(key: bytes, action: Action, agent: str) -> str:
    """The keyed hash an approval is bound to: tool, arguments (as the agent gave them),
    agent, session and subject. Keyed with the store's key, so the stored binding says
    nothing about the arguments."""
    document = [action.tool, agent, action.session, action.subject, action.args]
    try:
        body = orjson.dumps(document, default=_canonical, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # keys that are not strings, nesting orjson refuses
        body = repr(_plain(document)).encode("utf-8", "surrogatepass")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _canonical(value: Any) -> Any:
    """Values orjson does not know, each tagged with its type: ``Decimal("800")`` and the
    text ``"800"`` are different arguments and never share a binding."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"$bytes": value.hex()}
    if isinstance(value, set | frozenset):
        return {"$set": sorted(repr(v) for v in value)}
    if isinstance(value, tuple):
        return {"$tuple": list(value)}
    return f"{type(value).__qualname__}:{value!r}"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return sorted((repr(k), _plain(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
