"""``agentguard mcp-proxy``: an MCP server in front of another one, for one agent.

The proxy is an MCP server over stdio (the agent's MCP client starts it) and the client of
one downstream MCP server: one it starts as a subprocess (stdio), or one it connects to
over streamable HTTP (``--url``, optional ``--header``), both through
:mod:`agentguard.mcp_downstream` and the same code below. For agent ``NAME``:

* ``tools/list`` offers only the downstream tools the policy declares and lets ``NAME``
  use, as long as each still matches its pin (:mod:`agentguard.mcp_pins`);
* ``tools/call`` runs through the guard's whole pipeline — identity, kill switch, input
  schema, access, limits, content rules on the arguments and on the result, approvals —
  and is audited like any guarded call. A refusal is a tool result with ``isError`` and
  the text ``[code] message`` (never an argument value).

Every listing and every call re-reads the downstream listing, so a tool whose definition
changes mid-session is caught at its next use (the ``mcp`` layer,
:mod:`agentguard.layers.mcp`, refuses it). A result's text parts are the tool's result, as
the content rules see it; parts no rule can review (images, audio, resources, structured
content) are withheld, and tools are listed without output schemas. A downstream server
that has gone (a stdio process that exited, an HTTP server that cannot be reached) fails
closed: its tools are not listed and calls are refused. Written against the MCP Python
SDK 2.x (``mcp.server.lowlevel.Server`` with ``on_*`` handlers).

Examples (an MCP client's configuration)::

    agentguard mcp-proxy --agent research_agent --server github -- npx -y github-mcp
    agentguard mcp-proxy --agent research_agent --server docs \\
        --url https://docs.example/mcp --header 'Authorization: Bearer ${DOCS_TOKEN}'
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.client.session import ClientSession
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from agentguard.errors import AgentGuardError, PolicyError, ToolNotRegistered
from agentguard.guard import Guard
from agentguard.mcp_downstream import Downstream, open_session
from agentguard.mcp_pins import (
    Pin,
    PinStore,
    changed_record,
    fingerprint,
    observe,
    open_pins,
    pinned_record,
)
from agentguard.pipeline import Action

_log = logging.getLogger("agentguard.mcp")

NAME = "mcp"


class DownstreamToolError(AgentGuardError):
    """The downstream server answered a call with ``isError``: the call failed. ``texts``
    holds its error text for the agent (reviewed by the result rules first); the message
    names the tool only."""

    code = "mcp.tool_error"

    def __init__(self, tool: str, texts: Sequence[str]) -> None:
        super().__init__(f"tool {tool!r} reported an error")
        self.texts = list(texts)


@dataclass(frozen=True, slots=True)
class Offer:
    """A tool as the downstream server offers it now, and its pin (None: never approved)."""

    tool: types.Tool
    fingerprint: str
    pin: Pin | None

    @property
    def approved(self) -> bool:
        return (
            self.pin is not None
            and self.pin.state == "approved"
            and self.pin.fingerprint == self.fingerprint
        )


class McpProxy:
    """The proxy's two MCP handlers, over a guard and a connected downstream session."""

    def __init__(
        self,
        guard: Guard,
        downstream: ClientSession,
        *,
        agent: str,
        server: str,
        pins: PinStore | None = None,
        session: str | None = None,
    ) -> None:
        self.guard = guard
        self.downstream = downstream
        self.agent = agent
        self.server = server
        self.pins = pins if pins is not None else open_pins(guard.store)
        #: stdio has no MCP session id: one per proxy process groups its calls
        self.session = session or f"mcp-{secrets.token_hex(8)}"
        self._registered: set[str] = set()

    # ------------------------------------------------------------------ listing

    async def offers(self) -> dict[str, Offer]:
        """The downstream tools now, each judged against its pin (new pins and changes are
        recorded, so the ``mcp`` layer refuses a changed tool). Raises when the downstream
        listing or the pins cannot be read: nothing is offered then."""
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await self.downstream.list_tools(params=params)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return await asyncio.to_thread(self._judge, tools)

    def _judge(self, tools: Sequence[types.Tool]) -> dict[str, Offer]:
        now = self.guard.clock.now()
        declared = self.guard.policy.model.tools
        offers: dict[str, Offer] = {}
        for tool in tools:
            offered = fingerprint(tool.name, tool.description, tool.input_schema)
            pin, news = observe(
                self.pins, self.server, tool.name, offered, declared=tool.name in declared, now=now
            )
            offers[tool.name] = Offer(tool, offered, pin)
            if pin is not None and tool.name not in self._registered:
                self._register(tool.name)
            if not news or pin is None:
                continue
            if pin.state == "changed":
                _log.warning(
                    "MCP server %r changed tool %r since it was approved; it is hidden until "
                    "`agentguard mcp pins approve %s %s`",
                    self.server, tool.name, self.server, tool.name,
                )  # fmt: skip
                self.guard.store.append(changed_record(pin, now))
            else:
                self.guard.store.append(pinned_record(pin, now))
        return offers

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        """``tools/list``: the approved downstream tools this agent may use."""
        offers = await self.offers()
        policy = self.guard.policy
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=offer.tool.name,
                    description=offer.tool.description,
                    input_schema=offer.tool.input_schema,
                )
                for offer in offers.values()
                if offer.approved and policy.may_use(self.agent, offer.tool.name)
            ]
        )

    # -------------------------------------------------------------------- calls

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """``tools/call``: through the guard's pipeline; a refusal is an ``isError``
        result saying ``[code] message``."""
        name = params.name
        try:
            offers = await self.offers()
        except AgentGuardError as exc:  # the pins or the audit log: fail closed
            return _refusal(str(exc))
        except Exception as exc:
            _log.error("MCP server %r cannot list its tools (%s)", self.server, type(exc).__name__)
            return _refusal(
                f"[mcp.downstream_unavailable] MCP server {self.server!r} cannot list its tools"
            )
        action = Action(
            agent=self.agent,
            tool=name,
            args=dict(params.arguments or {}),
            session=self.session,
            metadata={"mcp_server": self.server},
        )
        try:
            result = await self.guard.aexecute(action)
        except DownstreamToolError as exc:
            return await self._failed(action, exc)
        except ToolNotRegistered:  # declared and allowed, but the server does not offer it
            if name in offers:  # left unregistered: see _register
                return _refusal(
                    f"[mcp.tool_unusable] tool {name!r} of MCP server {self.server!r} cannot "
                    "be used: the policy's conditions on it need an input schema for it"
                )
            return _refusal(
                f"[mcp.tool_unknown] MCP server {self.server!r} does not offer {name!r}"
            )
        except AgentGuardError as exc:  # Denied (ApprovalPending names its ticket), store
            return _refusal(str(exc))
        except Exception as exc:  # the downstream connection broke: audited as failed
            _log.error("MCP tool %r could not be called (%s)", name, type(exc).__name__)
            return _refusal(f"[mcp.downstream_error] tool {name!r} could not be called")
        return types.CallToolResult(content=_content(result))

    def _register(self, name: str) -> None:
        """Register the tool function that forwards to the downstream server (once per
        pinned tool, whatever its pin's state: the ``mcp`` layer refuses it while the pin
        is not approved). Its ``**arguments`` accept what the policy's input schema
        admitted. A policy whose conditions on the tool read arguments needs an input
        schema for it: without one the tool is left unregistered, and refused."""
        downstream = self.downstream

        async def forward(**arguments: Any) -> Any:
            answer = await downstream.call_tool(name, arguments)
            texts, withheld = _texts(answer.content)
            if answer.is_error:
                raise DownstreamToolError(name, texts)
            if withheld:
                texts.append(f"[agentguard: {withheld} non-text part(s) of the result withheld]")
            return texts[0] if len(texts) == 1 else texts

        forward.__dict__["mcp_server"] = self.server  # what the ``mcp`` layer looks for
        self._registered.add(name)
        try:
            self.guard.register(forward, name)
        except PolicyError as exc:
            _log.error("tool %r cannot be registered: %s", name, exc.message)

    async def _failed(self, action: Action, exc: DownstreamToolError) -> types.CallToolResult:
        """The downstream error text, after the result rules (it is content the model
        reads, as a result is): withheld entirely when a rule blocks it."""
        review = await asyncio.to_thread(self.guard.pipeline.review_result, action, exc.texts)
        if review.withheld:
            return _refusal(f"[{exc.code}] {exc.message}; its error text was withheld")
        return types.CallToolResult(content=_content(review.result), is_error=True)


# ------------------------------------------------------------------------------- serving


async def serve(guard: Guard, *, agent: str, server: str, downstream: Downstream) -> None:
    """Connect to the downstream server (start it, for stdio), then serve MCP on this
    process's stdin and stdout until the client closes them. Raises AgentGuardError
    (``mcp.downstream_unavailable``) when the downstream server cannot be initialised."""
    async with open_session(downstream, server=server) as session:
        proxy = McpProxy(guard, session, agent=agent, server=server)
        app: Server[Any] = Server(
            "agentguard-mcp-proxy",
            instructions=f"Tools of MCP server {server!r}, guarded by agentguard for {agent!r}.",
            on_list_tools=proxy.list_tools,
            on_call_tool=proxy.call_tool,
        )
        async with stdio_server() as (read, write):
            await app.run(read, write, app.create_initialization_options())


# ------------------------------------------------------------------------------ plumbing


def _refusal(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _texts(content: Sequence[types.ContentBlock]) -> tuple[list[str], int]:
    """The text parts of a result, and how many other parts were left out (images, audio,
    resources: no content rule could review them)."""
    texts = [part.text for part in content if isinstance(part, types.TextContent)]
    return texts, len(content) - len(texts)


def _content(result: Any) -> list[types.ContentBlock]:
    items = result if isinstance(result, list) else [result]
    return [types.TextContent(text=item if isinstance(item, str) else str(item)) for item in items]
