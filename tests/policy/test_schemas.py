"""Tool schemas refer only to their own parts: loading a policy never fetches a ``$ref``.

The tests that name a URL point it at a real HTTP server on loopback that would serve a
valid schema, and check that it received no request at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentguard import Guard, InvalidInput
from agentguard.errors import PolicyError
from agentguard.policy import load_policy, parse_policy
from agentguard.policy.schemas import RemoteReference, compile_validator, foreign_references


class SchemaServer:
    """An HTTP server on loopback that serves a schema and records every request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                body = json.dumps({"type": "string"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> SchemaServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server() -> Iterator[SchemaServer]:
    with SchemaServer() as running:
        yield running


def _policy(tool: str) -> str:
    return (
        "version: 1\n"
        "tools:\n"
        "  lookup:\n" + tool + "roles:\n  r: {allow: [lookup]}\nagents:\n  a: {roles: [r]}\n"
    )


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_server_answers_a_direct_fetch(server: SchemaServer) -> None:
    """The server used below does serve a schema, so its empty request log means something."""
    from urllib.request import urlopen

    with urlopen(f"{server.url}/probe.json") as response:
        assert json.loads(response.read()) == {"type": "string"}
    assert server.requests == ["/probe.json"]


@pytest.mark.parametrize("scheme", ["http", "https", "file"])
def test_a_ref_to_a_url_is_refused_at_load_naming_tool_and_ref(
    server: SchemaServer, tmp_path: Path, scheme: str
) -> None:
    base = {"http": server.url, "https": server.url.replace("http:", "https:"), "file": "file://"}
    ref = f"{base[scheme]}{tmp_path}/name.json" if scheme == "file" else f"{base[scheme]}/n.json"
    (tmp_path / "name.json").write_text('{"type": "string"}', encoding="utf-8")
    text = _policy(
        "    input_schema:\n"
        "      type: object\n"
        f"      properties:\n        name: {{$ref: '{ref}'}}\n"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    [problem] = info.value.problems
    assert problem.startswith(f"{path}:{_line(text, '$ref')}:")
    assert "tool 'lookup'" in problem and repr(ref) in problem and "is not allowed" in problem
    with pytest.raises(PolicyError):
        Guard.from_file(path, store="memory://")
    assert server.requests == []


def test_an_unreachable_host_is_a_policy_error_not_a_url_error() -> None:
    text = _policy("    input:\n      name: {$ref: 'http://unreachable.invalid/s.json'}\n")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    [problem] = info.value.problems
    assert problem.startswith(f"p.yaml:{_line(text, '$ref')}:")
    assert "'http://unreachable.invalid/s.json'" in problem


@pytest.mark.parametrize(
    "schema",
    [
        # a relative reference is resolved against the schema's $id: still a fetch
        "{$id: '{url}/root.json', type: object, properties: {name: {$ref: 'name.json'}}}",
        # references inside lists are found as well
        "{type: object, properties: {name: {anyOf: [{type: integer}, {$ref: '{url}/n'}]}}}",
        "{$defs: {n: {$ref: '{url}/n'}}, type: object, properties: {name: {$ref: '#/$defs/n'}}}",
        "{type: object, properties: {name: {$dynamicRef: '{url}/n'}}}",
    ],
)
def test_every_reference_out_of_the_schema_is_refused(server: SchemaServer, schema: str) -> None:
    text = _policy(f"    input_schema: {schema.replace('{url}', server.url)}\n")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    assert any("is not allowed" in p for p in info.value.problems), info.value.problems
    assert server.requests == []


def test_local_references_resolve_and_are_enforced(
    server: SchemaServer, db_url: str, tmp_path: Path
) -> None:
    text = _policy(
        "    input_schema:\n"
        f"      $id: '{server.url}/lookup.json'\n"
        "      $defs:\n"
        "        amount: {type: number, maximum: 100}\n"
        "      type: object\n"
        "      properties:\n"
        "        name: {type: string}\n"
        "        amount: {$ref: '#/$defs/amount'}\n"
        "      additionalProperties: false\n"
    )
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with Guard.from_file(path, store=db_url) as guard:

        @guard.tool()
        def lookup(name: str, amount: Decimal) -> str:
            return name

        agent = guard.agent("a")
        assert agent.call("lookup", name="ana", amount=Decimal("20")) == "ana"
        with pytest.raises(InvalidInput):
            agent.call("lookup", name="ana", amount=Decimal("200"))
    assert server.requests == []


def test_a_local_reference_to_nothing_is_refused_at_load() -> None:
    text = _policy(
        "    input_schema:\n"
        "      type: object\n"
        "      properties:\n"
        "        name: {$ref: '#/$defs/missing'}\n"
    )
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    [problem] = info.value.problems
    assert problem.startswith(f"p.yaml:{_line(text, '$ref')}:")
    assert "'#/$defs/missing' points to nothing" in problem


def test_a_property_named_ref_is_not_a_reference() -> None:
    text = _policy("    input:\n      $ref: {type: string}\n")
    loaded = parse_policy(text, source="p.yaml")
    assert loaded.arg_schema("lookup") is not None


def test_compiling_refuses_every_url_scheme_without_fetching(server: SchemaServer) -> None:
    for ref in (f"{server.url}/x.json", "ftp://127.0.0.1/x.json", "file:///etc/hostname"):
        schema = {"type": "object", "properties": {"x": {"$ref": ref}}}
        with pytest.raises(RemoteReference) as info:
            compile_validator(schema)
        assert info.value.uri == ref
        assert schema["properties"]["x"] == {"$ref": ref}  # not rewritten in place
    assert server.requests == []


def test_foreign_references_lists_paths_and_skips_local_ones() -> None:
    schema = {
        "$defs": {"a": {"type": "string"}},
        "properties": {
            "x": {"$ref": "#/$defs/a"},
            "y": {"items": [{"$ref": "other.json#/a"}]},
            "$ref": {"type": "string"},
        },
    }
    assert list(foreign_references(schema)) == [
        (("properties", "y", "items", 0, "$ref"), "other.json#/a")
    ]
