"""``agentguard mcp-proxy`` and ``agentguard mcp pins list|approve``.

``mcp-proxy`` serves MCP on stdin/stdout for one agent, in front of the MCP server whose
command follows ``--``, or of the streamable-HTTP MCP server at ``--url`` (with
``--header 'Name: value'``, ``${ENV_NAME}`` read from the environment, for its auth); see
:mod:`agentguard.mcp_proxy`. stdout is the MCP channel, so everything it says goes to
stderr, never a header's value. ``pins`` shows the tools pinned per server and lets a
person accept a changed definition with their approver key (``--key`` or
``AGENTGUARD_KEY``).

Exit codes: 0 done, 1 refused (not an approver, nothing to approve), 2 usage, 3 store
unavailable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from agentguard.cli_approvals import KeyOpt
from agentguard.cli_common import DEFAULT_POLICY, PolicyOpt, StoreOpt
from agentguard.store import DEFAULT_URL

mcp_app = typer.Typer(
    help="MCP servers behind `agentguard mcp-proxy`: the pins of their tools.",
    no_args_is_help=True,
)
pins_app = typer.Typer(
    help="List pinned MCP tools; approve a tool whose definition changed.", no_args_is_help=True
)
mcp_app.add_typer(pins_app, name="pins")

_INSTALL = 'the MCP proxy needs the MCP SDK: pip install "agentguard[mcp]"'


@pins_app.command("list")
def pins_list(
    server: Annotated[str | None, typer.Option("--server", help="Only this server's pins.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Every pinned tool: its approved fingerprint, its state (approved, or changed: hidden
    and refused until approved) and who approved it."""
    from agentguard.cli_common import _existing_store, _guarded, out
    from agentguard.cli_table import ColumnKind, print_table
    from agentguard.mcp_pins import open_pins

    db = _existing_store(store)
    pins = _guarded(lambda: open_pins(db).list(server))
    if as_json:
        for pin in pins:
            out.print(json.dumps(pin.as_dict(), sort_keys=True), markup=False, soft_wrap=True)
        return
    rows = [
        [
            pin.server,
            pin.tool,
            pin.state,
            pin.fingerprint[:16],
            (pin.observed or "")[:16],
            pin.approved_by,
            f"{pin.approved_at:%Y-%m-%d %H:%M}",
        ]
        for pin in pins
    ]
    columns: list[tuple[str, ColumnKind]] = [
        ("server", "id"),
        ("tool", "id"),
        ("state", "id"),
        ("approved", "id"),
        ("offered now", "id"),
        ("approved by", "id"),
        ("at (UTC)", "words"),
    ]
    print_table(out, columns, rows)


@pins_app.command("approve")
def pins_approve(
    server: Annotated[str, typer.Argument(help="The server id (mcp-proxy --server).")],
    tool: Annotated[str, typer.Argument(help="The tool whose new definition you accept.")],
    key: KeyOpt = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Accept the changed definition of a tool: the proxy offers it again. Needs an
    approver key of a person under the policy's approvers:."""
    from agentguard.cli_common import (
        EXIT_FAILED,
        EXIT_USAGE,
        _existing_store,
        _fail,
        _guarded,
        _policy,
        out,
    )
    from agentguard.clock import SystemClock
    from agentguard.errors import StoreUnavailable
    from agentguard.mcp_pins import PinError, approve_pin, open_pins

    if not key:
        raise _fail("give your approver key: --key agp_… or AGENTGUARD_KEY", EXIT_USAGE)
    loaded = _policy(policy)
    db = _existing_store(store)

    def approve() -> Any:
        try:
            return approve_pin(
                db, open_pins(db), loaded, server, tool, key=key, now=SystemClock().now()
            )
        except StoreUnavailable:
            raise
        except PinError as exc:
            raise _fail(str(exc), EXIT_FAILED) from None

    pin = _guarded(approve)
    out.print(
        f"approved tool {tool} of server {server}: fingerprint {pin.fingerprint[:16]}…, "
        f"by {pin.approved_by}",
        markup=False,
    )


def mcp_proxy(
    agent: Annotated[str, typer.Option("--agent", "-a", help="The agent the proxy acts for.")],
    command: Annotated[
        list[str] | None,
        typer.Argument(
            help="The downstream MCP server's command and arguments, after -- (or give --url).",
            show_default=False,
        ),
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="The server's id for its pins (default: the command's name; needed with --url).",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="A streamable-HTTP MCP server's URL, instead of a command."),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            help="'Name: value' sent to the --url server (repeatable); ${ENV_NAME} in the "
            "value is read from the environment. Never printed.",
            show_default=False,
        ),
    ] = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Serve MCP on stdin/stdout for one agent, in front of another MCP server:

        agentguard mcp-proxy --agent research_agent --server github -- npx -y github-mcp

    or, for a streamable-HTTP MCP server, `--url https://… [--header 'Name: value' …]` in
    place of the command; `${ENV_NAME}` in a header's value is read from the environment.

    Only the tools the policy lets the agent use are listed; every call goes through the
    policy and is audited; a tool whose definition changed since it was approved is hidden
    and refused until `agentguard mcp pins approve`."""
    from agentguard.cli_common import (
        EXIT_STORE,
        EXIT_USAGE,
        _fail,
        _guarded,
        _os_error,
        _policy,
        _store,
    )
    from agentguard.errors import AgentGuardError, StoreUnavailable

    try:
        import anyio

        from agentguard.guard import Guard
        from agentguard.mcp_downstream import (
            http_downstream,
            parse_headers,
            stdio_downstream,
        )
        from agentguard.mcp_proxy import serve
    except ModuleNotFoundError:
        raise _fail(_INSTALL, EXIT_USAGE) from None
    if command and url is not None:
        raise _fail("give either --url or the MCP server's command after --, not both", EXIT_USAGE)
    if header and url is None:
        raise _fail("--header is for an HTTP server: give its --url", EXIT_USAGE)
    if url is not None:
        if server is None:
            raise _fail(
                "--url needs --server: the id the server's tool pins are kept under", EXIT_USAGE
            )
        try:
            downstream = http_downstream(url, parse_headers(header or []))
        except ValueError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None
        starting = f"cannot connect to {downstream.where}"
    elif command:
        downstream = stdio_downstream(command[0], command[1:])
        starting = f"cannot start {command[0]!r}"
    else:
        raise _fail("give the MCP server's command after --, or its --url", EXIT_USAGE)
    loaded = _policy(policy)
    if agent not in loaded.model.agents:
        raise _fail(f"agent {agent!r} is not defined in {policy}", EXIT_USAGE)
    server_id = server if server is not None else Path(downstream.where).name
    if not server_id.strip():
        raise _fail("--server is empty; name the server", EXIT_USAGE)
    db = _store(store)
    guard = _guarded(lambda: Guard(loaded, db))
    try:
        anyio.run(lambda: serve(guard, agent=agent, server=server_id, downstream=downstream))
    except BaseException as exc:
        problem = _leaf(exc)
        if isinstance(problem, OSError):
            raise _fail(f"{starting}: {_os_error(problem)}", EXIT_USAGE) from None
        if isinstance(problem, StoreUnavailable):
            raise _fail(problem.message, EXIT_STORE) from None
        if isinstance(problem, AgentGuardError):
            raise _fail(str(problem), EXIT_USAGE) from None
        raise
    finally:
        guard.close()


def _leaf(exc: BaseException) -> BaseException:
    """The first error inside the exception groups of the proxy's task groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
