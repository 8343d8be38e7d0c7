"""The downstream MCP server of ``agentguard mcp-proxy``: a command the proxy starts and
talks to over stdio, or a streamable-HTTP endpoint (``--url``) it connects to.

Either way the proxy gets one :class:`Downstream`, and :func:`open_session` turns it into an
initialised :class:`~mcp.client.session.ClientSession`: listing, pinning and every call
then take the same code path whatever the transport.

An HTTP downstream fails the way a stdio one does: a server that cannot be reached, or that
answers an MCP request with an HTTP error, fails that request (the proxy refuses the call)
instead of ending the session. Headers (``--header 'Name: value'``, where ``${ENV_NAME}``
in a value is read from the environment) go with every request; no message names a
header's value, and of the URL only its origin (scheme, host, port).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import mcp_types as types
from mcp.client import Transport
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from agentguard.errors import AgentGuardError

#: the SDK's own defaults for MCP over HTTP: a response stream may stay open a while
HTTP_TIMEOUT = httpx2.Timeout(30.0, read=300.0)

_OWN_PREFIX = "AGENTGUARD_"  # agentguard's variables (AGENTGUARD_KEY may be a person's key)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRINTABLE = re.compile(r"[\x20-\x7e\t]*")
#: headers the MCP transport sets itself on each request (its values win)
_TRANSPORT_HEADERS = frozenset(
    {"accept", "content-type", "content-length", "host", "last-event-id", "mcp-session-id",
     "mcp-protocol-version", "transfer-encoding", "connection"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Downstream:
    """How to reach the downstream server. ``where`` names it in messages (a command's
    name, or a URL's origin); ``transport`` opens one connection."""

    where: str
    transport: Callable[[], Transport]


def stdio_downstream(command: str, args: Sequence[str]) -> Downstream:
    """A server the proxy starts. It gets this process's environment but for agentguard's
    own variables."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OWN_PREFIX)}
    params = StdioServerParameters(command=command, args=list(args), env=env)
    return Downstream(where=command, transport=lambda: stdio_client(params))


def http_downstream(url: str, headers: Mapping[str, str] | None = None) -> Downstream:
    """A streamable-HTTP server at ``url``. Raises ValueError (never quoting the URL, which
    may carry credentials) when it is not an http(s) URL with a host."""
    where = public_url(url)
    fixed = dict(headers or {})

    def transport() -> Transport:
        return _http_transport(url, fixed)

    return Downstream(where=where, transport=transport)


@asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    async with (
        _FailClosedClient(headers=headers, timeout=HTTP_TIMEOUT) as client,
        streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams


@asynccontextmanager
async def open_session(downstream: Downstream, *, server: str) -> AsyncIterator[ClientSession]:
    """Connect to the downstream server and initialise an MCP session with it. Raises
    AgentGuardError (``mcp.downstream_unavailable``) when the server answers the
    initialisation with an error (an HTTP server that cannot be reached answers so too)."""
    async with (
        downstream.transport() as (read, write),
        ClientSession(read, write) as session,
    ):
        try:
            await session.initialize()
        except MCPError as exc:
            raise AgentGuardError(
                f"MCP server {server!r} ({downstream.where}) is unavailable: {exc.error.message}",
                code="mcp.downstream_unavailable",
            ) from None
        yield session


# --------------------------------------------------------------------------------- HTTP


def public_url(url: str) -> str:
    """``url`` as messages may show it: its origin, scheme, host and port (its userinfo,
    path and query may hold a secret). Raises ValueError when it is not an http:// or
    https:// URL with a host."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("--url must be an http:// or https:// URL with a host")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme.lower(), host, "", "", ""))


def parse_headers(specs: Sequence[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``--header 'Name: value'`` options as headers; ``${ENV_NAME}`` in a value is that
    environment variable. Raises ValueError naming the option's position, the header or the
    variable, never a value (an option without a colon may be a bare secret)."""
    env = os.environ if environ is None else environ
    headers: dict[str, str] = {}
    seen: set[str] = set()
    for number, spec in enumerate(specs, 1):
        name, colon, raw = spec.partition(":")
        name = name.strip()
        if not colon or not _TOKEN.fullmatch(name):
            raise ValueError(f"--header #{number} is not 'Name: value' (a header name, a colon)")
        if name.lower() in _TRANSPORT_HEADERS:
            raise ValueError(f"--header {name}: the MCP transport sets this header itself")
        if name.lower() in seen:
            raise ValueError(f"--header {name} is given twice")
        seen.add(name.lower())

        def variable(match: re.Match[str], header: str = name) -> str:
            var = match.group(1)
            if not _ENV_NAME.fullmatch(var):
                raise ValueError(
                    f"--header {header}: ${{…}} must hold an environment variable name"
                )
            if var.upper().startswith(_OWN_PREFIX):
                raise ValueError(
                    f"--header {header}: agentguard's own variables ({var}) are never sent "
                    "to an MCP server"
                )
            value = env.get(var)
            if not value:
                raise ValueError(
                    f"--header {header}: environment variable {var} is not set or empty"
                )
            return value

        value = _REFERENCE.sub(variable, raw.strip())
        if not _PRINTABLE.fullmatch(value):
            raise ValueError(f"--header {name}: its value must be printable ASCII on one line")
        headers[name] = value
    return headers


class _FailClosedClient(httpx2.AsyncClient):
    """An HTTP client whose failures reach the MCP session as JSON-RPC errors.

    The SDK's streamable-HTTP transport lets a request (a POST) that cannot be sent
    (connection refused, reset, timed out) end the whole session, and so the proxy; and it
    reports an HTTP error status without saying which. Here such a request is answered with a
    JSON-RPC error naming the problem (never a header or the URL): the request fails and
    the proxy refuses the call, as when a stdio server has gone."""

    async def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        try:
            response = await super().send(request, **kwargs)
        except httpx2.TransportError as exc:
            if request.method != "POST":  # the SDK copes with its GET stream and DELETE failing
                raise
            what = "cannot connect" if isinstance(exc, httpx2.ConnectError) else "request failed"
            reason = str(exc)[:200] or "no detail"
            return _error(request, f"{what} ({type(exc).__name__}: {reason})")
        status = response.status_code
        content_type = response.headers.get("content-type", "").lower()
        # 404 is left to the SDK: it means "session terminated" once a session exists
        if (
            request.method == "POST"
            and status >= 400
            and status != 404
            and not content_type.startswith("application/json")
        ):
            await response.aclose()
            phrase = httpx2.codes.get_reason_phrase(status)
            return _error(request, f"the server answered HTTP {status} {phrase}".rstrip())
        return response


def _error(request: httpx2.Request, message: str) -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": types.CONNECTION_CLOSED, "message": message},
    }
    return httpx2.Response(503, json=body, request=request)
