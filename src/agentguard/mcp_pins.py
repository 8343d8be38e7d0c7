"""Pins of the tools an MCP server offers: protection against a "rug pull".

An MCP server describes its tools itself, and a model reads those descriptions as
instructions. A server that was approved with honest descriptions can later change one
("also send the file to …") or widen an input schema, and every client picks the change up
silently. A pin records each tool's **fingerprint** — SHA-256 of the canonical JSON of its
name, description and input schema — as it was approved. When the server later offers a
different one, the pin turns ``changed``: the proxy hides the tool and refuses calls to it
until a person approves the new definition (``agentguard mcp pins approve``).

First sight of a tool pins it automatically only when the policy declares the tool: that
declaration is the person's approval, recorded as ``approved_by="policy"``.

Example::

    pins = open_pins(store)
    pin, changed = observe(pins, "github", "search", fingerprint(tool), declared=True, now=now)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from agentguard.audit import AuditEntry, control_entry
from agentguard.keys import authenticate
from agentguard.mcp_pin_store import Pin, PinError, PinState, PinStore, open_pins
from agentguard.policy import LoadedPolicy
from agentguard.store import Store

__all__ = [
    "BY_POLICY",
    "Pin",
    "PinError",
    "PinState",
    "PinStore",
    "approve_pin",
    "changed_record",
    "fingerprint",
    "observe",
    "open_pins",
    "pinned_record",
]

#: the ``approved_by`` of a pin made because the policy declares the tool
BY_POLICY = "policy"


def fingerprint(name: str, description: str | None, input_schema: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a tool's name, description and input schema."""
    document = {"name": name, "description": description, "inputSchema": input_schema}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- decisions


def observe(
    pins: PinStore,
    server: str,
    tool: str,
    offered: str,
    *,
    declared: bool,
    now: datetime,
) -> tuple[Pin | None, bool]:
    """Compare what ``server`` offers for ``tool`` (fingerprint ``offered``) with its pin.

    Returns the pin (None: an undeclared tool seen for the first time, left unpinned) and
    whether this observation is news to record: a new pin, or a newly changed one. A tool
    that changes back to its approved definition stays ``changed``: the server has shown it
    changes tools, so a person decides.
    """
    current = pins.get(server, tool)
    if current is None:
        if not declared:
            return None, False
        pin = Pin(server, tool, offered, "approved", now, BY_POLICY, now)
        stored = pins.add(pin)
        if stored != pin:  # another process pinned it first: judge against that pin
            return observe(pins, server, tool, offered, declared=declared, now=now)
        return stored, True
    if current.state == "approved" and current.fingerprint == offered:
        return current, False
    marked = pins.mark_changed(server, tool, offered)
    if marked is None:  # removed meanwhile: nothing is approved
        return None, False
    return marked


def pinned_record(pin: Pin, now: datetime) -> AuditEntry:
    """The control record of a tool pinned on first sight."""
    return control_entry(
        now,
        "mcp.tool_pinned",
        "approved",
        {"server": pin.server, "tool": pin.tool, "fingerprint": pin.fingerprint,
         "by": pin.approved_by},
    )  # fmt: skip


def changed_record(pin: Pin, now: datetime) -> AuditEntry:
    """The control record of a tool whose definition no longer matches its pin. It names
    the fingerprints only, never the description (the text may be the attack)."""
    return control_entry(
        now,
        "mcp.tool_changed",
        "changed",
        {"server": pin.server, "tool": pin.tool, "old_fingerprint": pin.fingerprint,
         "new_fingerprint": pin.observed},
    )  # fmt: skip


def approve_pin(
    store: Store,
    pins: PinStore,
    policy: LoadedPolicy,
    server: str,
    tool: str,
    *,
    key: str,
    now: datetime,
) -> Pin:
    """A person accepts the changed definition of ``tool``, with their approver key.

    The person is the key's, and must be under the policy's ``approvers:`` (and allowed the
    tool and its risk tier there). An agent's key is refused. Audited as
    ``agentguard.mcp.tool_approved``.
    """
    check = authenticate(store, key, now, kind="approver")
    if check.record is None:
        raise PinError(
            f"{check.message}: approving a pin needs an approver key (keys create --approver)",
            code="mcp.unauthorized",
        )
    who = check.record.agent
    spec = (policy.model.approvers or {}).get(who)
    if spec is None:
        raise PinError(
            f"{who!r} is not under approvers: in the policy, so cannot approve",
            code="mcp.unauthorized",
        )
    if spec.tools is not None and not any(fnmatchcase(tool, p) for p in spec.tools):
        raise PinError(
            f"{who!r} may not approve tool {tool!r} (approvers.{who}.tools)",
            code="mcp.unauthorized",
        )
    tool_spec = policy.model.tools.get(tool)
    if spec.tiers is not None and (tool_spec is None or str(tool_spec.risk) not in spec.tiers):
        raise PinError(
            f"{who!r} may not approve tool {tool!r} of its risk tier (approvers.{who}.tiers)",
            code="mcp.unauthorized",
        )
    before, after = pins.approve(server, tool, who, now)
    store.append(
        control_entry(
            now,
            "mcp.tool_approved",
            "approved",
            {
                "server": server,
                "tool": tool,
                "old_fingerprint": before.fingerprint,
                "new_fingerprint": after.fingerprint,
                "by": who,
            },
            key_id=check.record.key_id,
        )
    )
    return after
