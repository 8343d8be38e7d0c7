"""``agentguard serve``: the HTTP gateway (see :mod:`agentguard.gateway`) on the policy and
store the other commands use. Tools the gateway runs itself (``/v1/execute``, rollbacks)
are the policy's ``call:`` functions."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from agentguard.cli_common import DEFAULT_POLICY, PolicyOpt, StoreOpt
from agentguard.store import DEFAULT_URL


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8700,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Serve the HTTP gateway until Ctrl-C: agents check, complete and execute over HTTP;
    people approve; /metrics, /healthz, /readyz, and the API's docs at /docs."""
    from agentguard.cli_common import EXIT_USAGE, _fail, _guarded, _policy, _store, err

    try:
        import uvicorn

        from agentguard.gateway import create_app
    except ImportError:
        raise _fail(
            "the gateway needs its extra: pip install 'agentguard[server]'", EXIT_USAGE
        ) from None
    from agentguard.guard import Guard

    loaded = _policy(policy)
    guard = _guarded(lambda: Guard(loaded, _store(store)))
    try:  # bound and listening before it says so: a client that read the line connects
        listener = listen(host, port)
    except OSError as exc:
        guard.close()
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE) from None
    err.print(
        f"agentguard gateway on http://{host}:{port} (dashboard at /ui/, API docs at /docs)",
        markup=False,
    )
    try:
        config = uvicorn.Config(create_app(guard), log_level="warning")
        uvicorn.Server(config).run(sockets=[listener])
    finally:
        listener.close()
        guard.close()


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening, for uvicorn to serve on.

    It is made with ``IPPROTO_TCP``: asyncio turns Nagle's algorithm off (``TCP_NODELAY``)
    only on accepted sockets that say they are TCP, and without that every answer waited
    for the client's delayed ACK (about 40 ms a request on Linux)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    return listener
