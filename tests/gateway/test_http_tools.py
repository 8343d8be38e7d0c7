"""Tools that are HTTP endpoints (``tools.NAME.http``), run by the gateway's
``POST /v1/execute`` against a real HTTP server on loopback: the arguments go as JSON or a
query, the secret header comes from the environment and is never recorded, and every
failure (a missing secret, an error status, a redirect, an answer too large, a server that
is down) fails the call closed with a code and no echo of what was sent or received."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.served import Served

from agentguard import Guard
from agentguard.errors import PolicyError
from agentguard.gateway import create_app
from agentguard.http_tool import HttpToolError
from agentguard.policy import parse_policy

TOKEN = "tk_live_9f8e7d6c5b4a39281706"  # what the endpoint wants; never to be recorded
LEAK = "private-body-text-4242"


class Endpoint(BaseHTTPRequestHandler):
    """Records each request; answers by path."""

    seen: list[dict[str, Any]]

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append({"method": self.command, "path": self.path,
                          "auth": self.headers.get("authorization"), "body": body})  # fmt: skip
        if self.path.startswith("/tickets"):
            if self.headers.get("authorization") != f"Bearer {TOKEN}":
                return self._send(401, b'{"error": "no"}')
            return self._send(201, json.dumps({"id": "T-1", "got": json.loads(body)}).encode())
        if self.path.startswith("/weather"):
            return self._send(200, b"sunny", kind="text/plain")
        if self.path.startswith("/fail"):
            return self._send(500, LEAK.encode(), kind="text/plain")
        if self.path.startswith("/move"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if self.path.startswith("/huge"):
            return self._send(200, b"x" * 5000, kind="text/plain")
        return self._send(404, b"")

    do_GET = do_POST = do_DELETE = _answer

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def _policy(base: str) -> str:
    return f"""
version: 1
tools:
  create_ticket:
    input: {{title: {{type: string}}, body: {{type: string}}}}
    http:
      url: {base}/tickets
      headers: {{Authorization: "Bearer ${{TICKETS_TOKEN}}"}}
  get_weather:
    input: {{city: {{type: string}}, days: {{type: integer}}}}
    http: {{url: "{base}/weather", method: GET}}
  flaky: {{http: {{url: "{base}/fail"}}}}
  moved: {{http: {{url: "{base}/move", method: GET}}}}
  huge: {{http: {{url: "{base}/huge", method: GET, max_response_bytes: 1000}}}}
  down: {{http: {{url: "http://127.0.0.1:{_closed_port()}/x", timeout: 5s}}}}
  explode: {{input: {{order_id: {{type: string}}}}}}
roles:
  worker: {{allow: ["*"]}}
agents:
  bot: {{roles: [worker]}}
"""


def _closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class World:
    def __init__(self, tmp_path: Path) -> None:
        Endpoint.seen = self.seen = []
        self.endpoint = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
        threading.Thread(target=self.endpoint.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{self.endpoint.server_address[1]}"
        self.db = tmp_path / "gw.db"
        self.guard = Guard(parse_policy(_policy(base)), f"sqlite:///{self.db}")
        self.key = self.guard.create_key("bot")

        @self.guard.tool()
        def explode(order_id: str) -> str:
            raise ValueError(f"cannot refund {order_id}: {LEAK}")

        self.served = Served(create_app(self.guard))
        self.http = self.served.http

    def execute(self, tool: str, **args: Any) -> dict[str, Any]:
        got = self.http.post("/v1/execute", json={"tool": tool, "args": args},
                             headers={"Authorization": f"Bearer {self.key}"})  # fmt: skip
        assert got.status_code == 200, got.text
        answer: dict[str, Any] = got.json()
        return answer

    def log(self) -> str:
        rows = sqlite3.connect(self.db).execute("SELECT body FROM audit ORDER BY seq")
        return "\n".join(body for (body,) in rows)

    def close(self) -> None:
        self.served.close()
        self.endpoint.shutdown()
        self.guard.close()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("TICKETS_TOKEN", TOKEN)
    made = World(tmp_path)
    yield made
    made.close()


def test_a_post_tool_sends_json_with_the_secret_header_and_records_no_secret(
    world: World,
) -> None:
    got = world.execute("create_ticket", title="Refund", body="card declined")
    assert got == {"decision": "allow", "status": "executed",
                   "result": {"id": "T-1", "got": {"title": "Refund", "body": "card declined"}}}  # fmt: skip
    [sent] = world.seen
    assert sent["method"] == "POST" and sent["auth"] == f"Bearer {TOKEN}"
    assert TOKEN not in world.log()
    assert '"status":"executed"' in world.log().replace(" ", "")


def test_a_get_tool_sends_the_arguments_as_a_query(world: World) -> None:
    got = world.execute("get_weather", city="Köln & Bonn", days=3)
    assert got["result"] == "sunny"
    assert world.seen[0]["path"] == "/weather?city=K%C3%B6ln+%26+Bonn&days=3"


def test_a_missing_secret_fails_closed_and_nothing_is_sent(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKETS_TOKEN")
    got = world.execute("create_ticket", title="x", body="y")
    assert got["status"] == "failed"
    assert got["error"]["code"] == "http_tool.secret_missing"
    assert "TICKETS_TOKEN" in got["error"]["message"]
    assert world.seen == []


@pytest.mark.parametrize(
    ("tool", "code", "said"),
    [
        ("flaky", "http_tool.status", "answered HTTP 500"),
        ("moved", "http_tool.status", "redirected (not followed)"),
        ("huge", "http_tool.too_large", "more than 1000 bytes"),
        ("down", "http_tool.unreachable", "cannot be reached"),
    ],
)
def test_failures_fail_the_call_with_a_code_and_no_echo(
    world: World, tool: str, code: str, said: str
) -> None:
    got = world.execute(tool)
    assert got["status"] == "failed" and got["error"]["code"] == code
    assert said in got["error"]["message"]
    assert LEAK not in json.dumps(got) and LEAK not in world.log()
    assert [s["path"] for s in world.seen if s["path"].startswith("/elsewhere")] == []
    assert '"status":"failed"' in world.log().replace(" ", "")


def test_the_library_calls_http_tools_too(world: World) -> None:
    bot = world.guard.agent("bot")
    assert bot.call("get_weather", city="Oslo", days=1) == "sunny"
    with pytest.raises(HttpToolError, match="answered HTTP 500"):
        bot.call("flaky")


@pytest.mark.parametrize(
    ("http", "problem"),
    [
        ("{url: 'ftp://x/y'}", "http:// or https://"),
        ("{url: 'https://x/y', method: TRACE}", "method"),
        ("{url: 'https://x/${AGENTGUARD_KEY}'}", "agentguard's own"),
        ("{url: 'https://x/${1BAD}'}", "not an environment variable"),
        ("{url: 'https://x/', headers: {Host: evil}}", "set by the HTTP client"),
        ("{url: 'https://x/', headers: {'X: y': z}}", "not a header name"),
        ("{url: 'https://x/', timeout: 1h}", "at most 10m"),
        ("{url: 'https://x/${OPEN'}", "not closed"),
    ],
)
def test_a_bad_http_tool_is_refused_when_the_policy_loads(http: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem.replace("(", r"\(")):
        parse_policy(f"version: 1\ntools:\n  t: {{http: {http}}}\n")


def test_a_tool_is_python_or_http_not_both() -> None:
    with pytest.raises(PolicyError, match="not both"):
        parse_policy("version: 1\ntools:\n  t: {call: 'os:getcwd', http: {url: 'https://x/'}}\n")


def test_a_python_tool_that_raises_is_a_failed_call_that_says_only_the_type(
    world: World,
) -> None:
    got = world.execute("explode", order_id="A-1")
    assert got == {"decision": "allow", "status": "failed",
                   "error": {"code": "tool.failed", "message": "the tool raised ValueError"}}  # fmt: skip
    assert LEAK not in json.dumps(got)  # the tool's own words stay out of the answer
    assert '"status":"failed"' in world.log().replace(" ", "")  # and the call is recorded
