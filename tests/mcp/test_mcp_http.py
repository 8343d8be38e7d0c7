"""``agentguard mcp-proxy --url``: the proxy in front of a streamable-HTTP MCP server.

A real MCP client (the SDK's stdio client) talks to the proxy, a real ``agentguard``
subprocess, which connects over HTTP on loopback to a real MCP server: ``server.py --http``,
another subprocess that binds port 0 itself and prints the port it got. Each test runs in
pytest's ``tmp_path`` with its own policy and SQLite store (``test_mcp_proxy``'s).
"""

from __future__ import annotations

import re
import secrets
import select
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError
from tests.mcp.test_mcp_proxy import (
    AGENT,
    AGENTGUARD,
    POLICY,
    RUG_PULL,
    SERVER,
    SERVER_ID,
    _env,
    agentguard,
    audit,
    text_of,
)
from typer.testing import CliRunner

from agentguard import control
from agentguard.cli import app
from agentguard.store import SQLiteStore

DEADLINE = 20.0  # seconds: for a subprocess to report its port, for a session's steps


@dataclass
class HttpServer:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Kill it (no goodbye to its clients) and wait until it is gone."""
        self.process.kill()
        self.process.wait(timeout=DEADLINE)


@contextmanager
def http_server(workdir: Path, **env: str) -> Iterator[HttpServer]:
    """``server.py --http`` as a subprocess; yields once it has said which port listens."""
    with (workdir / "server.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(SERVER), "--http"],
            stdout=subprocess.PIPE,
            stderr=log,
            env=_env(workdir, **env),
            cwd=workdir,
        )
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], DEADLINE)
            line = process.stdout.readline() if ready else b""
            said = re.fullmatch(rb"PORT (\d+)\n", line)
            assert said, f"server.py --http said {line!r} (exit code {process.poll()})"
            yield HttpServer(f"http://127.0.0.1:{int(said.group(1))}/mcp", process)
        finally:
            process.kill()
            process.wait(timeout=DEADLINE)
            if process.stdout is not None:
                process.stdout.close()


def proxy_args(url: str, *extra: str) -> list[str]:
    return ["mcp-proxy", "--agent", AGENT, "--server", SERVER_ID, "--url", url, *extra]


@asynccontextmanager
async def proxied(
    workdir: Path, url: str, *extra: str, env: dict[str, str] | None = None
) -> AsyncIterator[ClientSession]:
    """An initialised MCP client session with the proxy for AGENT in front of ``url``."""
    params = StdioServerParameters(
        command=str(AGENTGUARD),
        args=proxy_args(url, *extra),
        env=_env(workdir, **(env or {})),
        cwd=workdir,
    )
    with (workdir / "proxy.log").open("a", encoding="utf-8") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            with anyio.fail_after(DEADLINE):
                await session.initialize()
            yield session


def run(workdir: Path, url: str, steps: Any, *extra: str, env: dict[str, str] | None = None) -> Any:
    """Run ``steps(session)`` against a fresh proxy in front of ``url``."""

    async def main() -> Any:
        async with proxied(workdir, url, *extra, env=env) as session:
            with anyio.fail_after(DEADLINE):
                return await steps(session)

    return anyio.run(main)


def run_proxy(workdir: Path, url: str, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The proxy CLI on its own, for a start that must fail (it connects before serving)."""
    return subprocess.run(
        [str(AGENTGUARD), *proxy_args(url, *extra)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(workdir, **env),
        cwd=workdir,
        timeout=60,
    )


def names(listing: Any) -> list[str]:
    return sorted(tool.name for tool in listing.tools)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    assert AGENTGUARD.exists(), f"console script not installed next to {sys.executable}"
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    return tmp_path


# --------------------------------------------------------------------------- access


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One proxy in front of one HTTP server: the listing, some calls, the audit log."""
    workdir = tmp_path_factory.mktemp("mcp-http")
    (workdir / "policy.yaml").write_text(POLICY, encoding="utf-8")

    async def steps(session: ClientSession) -> dict[str, Any]:
        return {
            "listed": names(await session.list_tools()),
            "forbidden": await session.call_tool("delete_all", {}),
            "allowed": await session.call_tool("search", {"q": "quarterly report"}),
            "injected": await session.call_tool("fetch_page", {"url": "https://example.com"}),
        }

    with http_server(workdir) as server:
        results: dict[str, Any] = run(workdir, server.url, steps)
    results["audit"] = audit(workdir)
    return results


def records(served: dict[str, Any], tool: str) -> list[dict[str, Any]]:
    return [r for r in served["audit"] if r["kind"] == "action" and r["action"] == tool]


def test_forbidden_tool_is_not_listed_and_its_call_is_refused(served: dict[str, Any]) -> None:
    assert served["listed"] == ["broken", "fetch_page", "publish", "search"]
    refused = served["forbidden"]
    assert refused.is_error
    assert text_of(refused).startswith("[access.")
    (record,) = records(served, "delete_all")
    assert record["status"] == "denied" and record["agent_id"] == AGENT


def test_allowed_call_reaches_the_http_server_and_is_audited(served: dict[str, Any]) -> None:
    result = served["allowed"]
    assert not result.is_error
    assert text_of(result) == "3 documents match a query of 16 characters"
    (record,) = records(served, "search")
    assert record["status"] == "executed" and record["agent_id"] == AGENT
    assert record["metadata"]["mcp_server"] == SERVER_ID


def test_result_rules_review_what_the_http_server_returns(served: dict[str, Any]) -> None:
    text = text_of(served["injected"])
    assert text.startswith("<untrusted-content") and 'source="tool:fetch_page"' in text


# --------------------------------------------------------------------------- pinning


def test_tool_changed_mid_session_is_hidden_and_refused_until_approved(workdir: Path) -> None:
    store = SQLiteStore(workdir / "ag.db")
    key, _ = control.issue_key(store, "alice", expires_in=None, tools=None, kind="approver")
    store.close()

    def rug_pull(server: HttpServer) -> None:  # the server changes `search` while it runs
        where = server.url.removesuffix("/mcp") + "/rug-pull"
        request = urllib.request.Request(where, data=RUG_PULL.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=DEADLINE) as answer:
            assert answer.status == 200

    with http_server(workdir) as server:

        async def steps(session: ClientSession) -> dict[str, Any]:
            seen: dict[str, Any] = {"first": names(await session.list_tools())}
            await anyio.to_thread.run_sync(rug_pull, server)
            seen["changed"] = names(await session.list_tools())
            seen["refused"] = await session.call_tool("search", {"q": "report"})
            seen["approve"] = await anyio.to_thread.run_sync(
                agentguard, workdir, "mcp", "pins", "approve", SERVER_ID, "search", "--key", key
            )
            seen["after"] = names(await session.list_tools())
            seen["result"] = await session.call_tool("search", {"q": "report"})
            return seen

        seen = run(workdir, server.url, steps)

    assert "search" in seen["first"]
    assert "search" not in seen["changed"] and "fetch_page" in seen["changed"]
    assert seen["refused"].is_error
    assert text_of(seen["refused"]).startswith("[mcp.tool_changed]")
    assert seen["approve"].exit_code == 0, seen["approve"].output
    assert "search" in seen["after"]
    assert not seen["result"].is_error and text_of(seen["result"]).startswith("3 documents")
    log = audit(workdir)
    (change,) = [r for r in log if r["action"] == "agentguard.mcp.tool_changed"]
    assert change["metadata"]["server"] == SERVER_ID and change["metadata"]["tool"] == "search"
    (approval,) = [r for r in log if r["action"] == "agentguard.mcp.tool_approved"]
    assert approval["metadata"]["by"] == "alice"
    searches = [(r["status"], r["reasons"][-1]["code"] if r["status"] == "denied" else None)
                for r in log if r["action"] == "search"]  # fmt: skip
    assert searches == [("denied", "mcp.tool_changed"), ("executed", None)]
    assert "evil" not in str(log)  # the new description is never recorded


# --------------------------------------------------------------------------- failures


def test_unreachable_server_stops_the_proxy_with_a_clear_message(workdir: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/mcp"
        done = run_proxy(workdir, url)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""  # nothing on the MCP channel
    said = "error: [mcp.downstream_unavailable] MCP server 'docs' ({}) is unavailable: {}"
    assert said.format(url.removesuffix("/mcp"), "cannot connect (ConnectError: ") in done.stderr
    assert "Traceback" not in done.stderr


def test_server_gone_mid_session_fails_closed(workdir: Path) -> None:
    with http_server(workdir) as server:

        async def steps(session: ClientSession) -> dict[str, Any]:
            seen: dict[str, Any] = {"before": await session.call_tool("search", {"q": "a"})}
            await anyio.to_thread.run_sync(server.stop)
            seen["call"] = await session.call_tool("search", {"q": "b"})
            try:
                seen["listed"] = names(await session.list_tools())
            except MCPError as exc:
                seen["listed"] = exc.error.message
            seen["forbidden"] = await session.call_tool("delete_all", {})
            return seen

        seen = run(workdir, server.url, steps)

    assert not seen["before"].is_error
    refused = seen["call"]
    assert refused.is_error
    assert text_of(refused) == (
        "[mcp.downstream_unavailable] MCP server 'docs' cannot list its tools"
    )
    assert "cannot connect" in seen["listed"]  # an error, not an empty or stale listing
    assert seen["forbidden"].is_error  # the proxy still answers every call: with a refusal
    statuses = [r["status"] for r in audit(workdir) if r["action"] == "search"]
    assert statuses == ["executed"]  # the second call never ran
    assert "Traceback" not in (workdir / "proxy.log").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- headers


def test_header_from_the_environment_authenticates_and_is_never_printed(
    workdir: Path,
) -> None:
    token = secrets.token_hex(16)
    header = ["--header", "Authorization: Bearer ${MCP_TEST_TOKEN}"]
    with http_server(workdir, MCP_TEST_REQUIRE_AUTH=token) as server:

        async def steps(session: ClientSession) -> Any:
            return await session.call_tool("search", {"q": "report"})

        result = run(workdir, server.url, steps, *header, env={"MCP_TEST_TOKEN": token})
        wrong = secrets.token_hex(16)  # the same proxy with a token the server refuses
        refused = run_proxy(workdir, server.url, *header, MCP_TEST_TOKEN=wrong)

    assert not result.is_error and text_of(result).startswith("3 documents")
    assert [r["status"] for r in audit(workdir) if r["action"] == "search"] == ["executed"]
    assert refused.returncode == 2
    assert "answered HTTP 401 Unauthorized" in refused.stderr
    assert "Traceback" not in refused.stderr
    stderr = (workdir / "proxy.log").read_text(encoding="utf-8") + refused.stderr
    assert token not in stderr and wrong not in stderr
    assert token not in str(audit(workdir))


URL = "http://127.0.0.1:9/mcp"  # never connected to: each of these is refused before


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--url", URL, "--", "python", "server.py"], {},
         "either --url or the MCP server's command after --, not both"),
        ([], {}, "give the MCP server's command after --, or its --url"),
        (["--header", "X-Key: k", "--", "python"], {}, "--header is for an HTTP server"),
        (["--url", "ftp://127.0.0.1/mcp"], {}, "--url must be an http:// or https:// URL"),
        (["--url", URL, "--header", "s3cr3t-value"], {}, "--header #1 is not 'Name: value'"),
        (["--url", URL, "--header", "Authorization: Bearer ${MCP_TEST_UNSET}"], {},
         "--header Authorization: environment variable MCP_TEST_UNSET is not set"),
        (["--url", URL, "--header", "Authorization: ${AGENTGUARD_KEY}"],
         {"AGENTGUARD_KEY": "s3cr3t-value"},
         "agentguard's own variables (AGENTGUARD_KEY) are never sent"),
        (["--url", URL, "--header", "X-A: ${TOKEN}", "--header", "x-a: b"],
         {"TOKEN": "s3cr3t-value"}, "--header x-a is given twice"),
        (["--url", URL, "--header", "X-A: ${TOKEN}"], {"TOKEN": "s3cr3t\nvalue"},
         "--header X-A: its value must be printable ASCII on one line"),
    ],
)  # fmt: skip
def test_usage_errors_name_the_problem_never_a_value(
    workdir: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    where = ["--policy", str(workdir / "policy.yaml"), "--store", f"sqlite:///{workdir / 'ag.db'}"]
    proxy = ["mcp-proxy", "--agent", AGENT, "--server", SERVER_ID, *where]
    result = CliRunner().invoke(app, [*proxy, *args], env={"MCP_TEST_UNSET": None, **env})
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "s3cr3t" not in result.output


def test_url_needs_a_server_id(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["mcp-proxy", "--agent", AGENT, "--url", URL])
    assert result.exit_code == 2
    assert "--url needs --server" in result.stderr
