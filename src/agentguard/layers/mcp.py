"""The ``mcp`` layer: a tool forwarded to an MCP server runs only while its pin is
approved (:mod:`agentguard.mcp_pins`).

A forwarder is a tool function registered by ``agentguard mcp-proxy``; it carries the id
of its server as ``func.mcp_server``. Just before each call the proxy compares what the
server offers with the pin, so a definition that changed since it was approved has turned
the pin ``changed`` and the call is refused here (``mcp.tool_changed``) — after access
control, before limits, content rules and approvals, and audited like any refusal. A guard
with no forwarder registered has no such layer. Pins that cannot be read refuse the call.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentguard.errors import AgentGuardError
from agentguard.layers.registry import LayerContext, LayerSpec, register
from agentguard.mcp_pin_store import PinStore, open_pins
from agentguard.pipeline import CONTINUE, Action, Verdict, deny
from agentguard.store import Store
from agentguard.tools import ToolFunction

NAME = "mcp"


def server_of(function: ToolFunction | None) -> str | None:
    """The MCP server a registered tool forwards to, or None for any other tool."""
    server = getattr(function.func, "mcp_server", None) if function is not None else None
    return server if isinstance(server, str) else None


class McpPinLayer:
    name = NAME

    def __init__(self, store: Store, functions: Mapping[str, ToolFunction]) -> None:
        self._store = store
        self._functions = functions
        self._pins: PinStore | None = None

    def admit(self, action: Action) -> Verdict:
        server = server_of(self._functions.get(action.tool))
        if server is None:
            return CONTINUE
        try:
            if self._pins is None:
                self._pins = open_pins(self._store)
            pin = self._pins.get(server, action.tool)
        except AgentGuardError as exc:
            return deny(
                NAME,
                "mcp.pins_unavailable",
                f"the pins of MCP server {server!r} cannot be read ({exc.message}); "
                "the tool was not run",
            )
        if pin is None:
            return deny(
                NAME,
                "mcp.tool_unpinned",
                f"tool {action.tool!r} of MCP server {server!r} was never approved",
            )
        if pin.state != "approved":
            return deny(
                NAME,
                "mcp.tool_changed",
                f"tool {action.tool!r} of MCP server {server!r} changed since it was approved; "
                f"it is refused until a person approves it: agentguard mcp pins approve "
                f"{server} {action.tool}",
            )
        return CONTINUE


def _build(context: LayerContext) -> McpPinLayer | None:
    if not any(server_of(f) for f in context.functions.values()):
        return None
    return McpPinLayer(context.store, context.functions)


register(LayerSpec(NAME, 450, _build))
