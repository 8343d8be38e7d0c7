"""The HTTP gateway on a real uvicorn server on a loopback port: agents check, complete and
execute over HTTP (curl too), held actions are approved over HTTP by people, every route
refuses the wrong keys, and errors never echo what was sent."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.served import Served

from agentguard import Guard
from agentguard.clock import ManualClock
from agentguard.control import issue_key
from agentguard.gateway import MAX_BODY, create_app
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  lookup: {risk: low, input: {q: {type: string}}}
  send_note:
    risk: low
    input: {to: {type: string}, body: {type: string}}
    outbound: [body]
  publish_post: {risk: medium, input: {post_id: {type: string}}}
  wire: {risk: high, input: {amount: {type: number}}}
  secret_tool: {risk: low}
roles:
  worker: {allow: [lookup, send_note, publish_post, wire]}
agents:
  bot: {roles: [worker]}
  other: {roles: [worker]}
approvals:
  low: {mode: none}
  medium: {mode: review, within: 2h}
  high: {mode: required, timeout: 10m}
approvers:
  alice: {tools: ["*"]}
  olga: {admin: true}
detectors:
  rules:
    - {scan: results, detectors: [secrets], action: redact}
"""


class Gateway:
    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "gw.db"
        self.clock = ManualClock()
        self.guard = Guard(parse_policy(POLICY), f"sqlite:///{self.db}", clock=self.clock)
        self.ran: list[str] = []

        @self.guard.tool()
        def lookup(q: str) -> dict[str, str]:
            self.ran.append("lookup")
            return {"answer": f"about {q}"}

        @self.guard.tool()
        def publish_post(post_id: str) -> str:
            self.ran.append("publish_post")
            return post_id

        store = self.guard.store
        self.agent_key = self.guard.create_key("bot")
        self.other_key = self.guard.create_key("other")
        self.narrow_key = self.guard.create_key("bot", tools=["lookup"])
        self.expired_key = self.guard.create_key("bot", expires_in=timedelta(minutes=1))
        self.revoked_key = self.guard.create_key("bot")
        self.guard.revoke_key(self.revoked_key.split("_")[1])
        self.approver_key = issue_key(store, "alice", expires_in=None, tools=None,
                                      kind="approver")[0]  # fmt: skip
        self.admin_key = issue_key(store, "olga", expires_in=None, tools=None,
                                   kind="approver")[0]  # fmt: skip
        self.clock.advance(timedelta(minutes=2))  # the expired key is past its time
        self.served = Served(create_app(self.guard))
        self.url, self.http = self.served.url, self.served.http

    def post(self, path: str, key: str | None, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.http.post(path, json=body, headers=headers)

    def get(self, path: str, key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.http.get(path, headers=headers)

    def records(self) -> list[dict[str, Any]]:
        rows = sqlite3.connect(self.db).execute("SELECT body FROM audit ORDER BY seq")
        return [json.loads(body) for (body,) in rows]

    def close(self) -> None:
        self.served.close()
        self.guard.close()


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[Gateway]:
    gateway = Gateway(tmp_path)
    yield gateway
    gateway.close()


def test_check_then_complete_is_audited_and_the_result_is_checked(gw: Gateway) -> None:
    checked = gw.post("/v1/check", gw.agent_key, {"tool": "send_note",
                                                  "args": {"to": "a", "body": "hi"}})  # fmt: skip
    assert checked.status_code == 200, checked.text
    answer = checked.json()
    assert answer["decision"] == "allow" and answer["decision_id"]
    secret = "AKIA" + "Z7Q3XK2M9P4R6T8V"
    done = gw.post("/v1/complete", gw.agent_key,
                   {"decision_id": answer["decision_id"], "result": {"note": f"key {secret}"}})  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "executed"
    assert secret not in done.text  # the result rules redacted it before the agent saw it
    again = gw.post("/v1/complete", gw.agent_key, {"decision_id": answer["decision_id"]})
    assert again.status_code == 404 and again.json()["error"]["code"] == "remote.unknown_decision"
    [record] = [r for r in gw.records() if r["action"] == "send_note"]
    assert record["status"] == "executed" and record["agent_id"] == "bot"
    assert secret not in json.dumps(record)


def test_a_denied_check_is_an_answer_and_is_audited(gw: Gateway) -> None:
    answer = gw.post("/v1/check", gw.agent_key, {"tool": "secret_tool", "args": {}}).json()
    assert answer["decision"] == "deny" and answer["code"].startswith("access.")
    assert "decision_id" not in answer
    assert [r["status"] for r in gw.records() if r["action"] == "secret_tool"] == ["denied"]


def test_a_decision_cannot_be_completed_by_another_agent(gw: Gateway) -> None:
    answer = gw.post("/v1/check", gw.agent_key, {"tool": "lookup", "args": {"q": "x"}}).json()
    stolen = gw.post("/v1/complete", gw.other_key, {"decision_id": answer["decision_id"]})
    assert stolen.status_code == 404


def test_execute_runs_a_tool_the_gateway_has(gw: Gateway) -> None:
    done = gw.post("/v1/execute", gw.agent_key, {"tool": "lookup", "args": {"q": "tea"}})
    assert done.json() == {"decision": "allow", "status": "executed",
                           "result": {"answer": "about tea"}}  # fmt: skip
    assert gw.ran == ["lookup"]


def test_a_held_action_is_approved_over_http_and_then_runs_once(gw: Gateway) -> None:
    held = gw.post("/v1/execute", gw.agent_key, {"tool": "publish_post",
                                                 "args": {"post_id": "p1"}}).json()  # fmt: skip
    assert held["decision"] == "hold" and held["ticket"]
    ticket = held["ticket"]
    assert gw.get(f"/v1/approvals/{ticket}", gw.agent_key).json()["state"] == "pending"
    assert gw.get(f"/v1/approvals/{ticket}", gw.other_key).status_code == 404  # not theirs
    refused = gw.post(f"/v1/approvals/{ticket}/approve", gw.agent_key, {})
    assert refused.status_code == 401  # an agent key never approves
    approved = gw.post(f"/v1/approvals/{ticket}/approve", gw.approver_key, {"comment": "ok"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    listed = gw.get("/v1/approvals?state=approved", gw.approver_key).json()["approvals"]
    assert [a["id"] for a in listed] == [ticket]
    ran = gw.post("/v1/execute", gw.agent_key, {"tool": "publish_post", "args": {"post_id": "p1"}})
    assert ran.json()["status"] == "executed"
    again = gw.post("/v1/execute", gw.agent_key, {"tool": "publish_post",
                                                  "args": {"post_id": "p1"}}).json()  # fmt: skip
    assert again["decision"] == "hold"  # spent: a new request
    assert gw.ran == ["publish_post"]


def test_a_required_approval_answers_hold_at_once_over_http(gw: Gateway) -> None:
    held = gw.post("/v1/execute", gw.agent_key, {"tool": "wire", "args": {"amount": 5}}).json()
    assert held["decision"] == "hold" and held["code"] == "approval.required"
    checked = gw.post("/v1/check", gw.agent_key, {"tool": "wire", "args": {"amount": 5}}).json()
    assert checked["decision"] == "hold" and checked["ticket"] == held["ticket"]


def test_a_held_check_is_approved_then_checked_again_and_completed(gw: Gateway) -> None:
    body = {"tool": "publish_post", "args": {"post_id": "p2"}, "session": "s"}
    held = gw.post("/v1/check", gw.agent_key, body).json()
    assert held["decision"] == "hold"
    gw.post(f"/v1/approvals/{held['ticket']}/approve", gw.approver_key, {})
    waited = gw.get(f"/v1/approvals/{held['ticket']}?wait=5", gw.agent_key).json()
    assert waited["state"] == "approved"
    allowed = gw.post("/v1/check", gw.agent_key, body).json()
    assert allowed["decision"] == "allow"
    done = gw.post("/v1/complete", gw.agent_key, {"decision_id": allowed["decision_id"],
                                                  "result": "published"})  # fmt: skip
    assert done.json() == {"status": "executed", "result": "published"}
    state = gw.get(f"/v1/approvals/{held['ticket']}", gw.approver_key).json()["state"]
    assert state == "executed"


ADMIN_ROUTES = [
    ("post", "/v1/kill", {"agent": "bot", "reason": "test"}),
    ("post", "/v1/resume", {"agent": "bot"}),
    ("get", "/v1/audit", None),
    ("get", "/v1/audit/verify", None),
    ("get", "/v1/status", None),
    ("post", "/v1/signals", {"name": "customer_complaint"}),
    ("get", "/v1/audit/export", None),
    ("get", "/v1/incidents", None),
    ("get", "/v1/keys", None),
]

ROUTES = [
    *ADMIN_ROUTES,
    ("post", "/v1/check", {"tool": "lookup", "args": {"q": "x"}}),
    ("post", "/v1/complete", {"decision_id": "x"}),
    ("post", "/v1/execute", {"tool": "lookup", "args": {"q": "x"}}),
    ("get", "/v1/approvals/" + "0" * 32, None),
    ("get", "/v1/approvals", None),
    ("post", "/v1/approvals/" + "0" * 32 + "/approve", {}),
    ("post", "/v1/approvals/" + "0" * 32 + "/reject", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("which", ["missing", "wrong", "expired", "revoked", "forged"])
def test_every_route_refuses_a_bad_key(
    gw: Gateway, method: str, path: str, body: Any, which: str
) -> None:
    key = {
        "missing": None,
        "wrong": "not-a-key",
        "expired": gw.expired_key,
        "revoked": gw.revoked_key,
        "forged": gw.agent_key[:-4] + "AAAA",
    }[which]
    got = gw.post(path, key, body) if method == "post" else gw.get(path, key)
    assert got.status_code == 401, (which, path, got.text)
    assert key is None or key not in got.text


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_routes_for_admins_refuse_agents_and_approvers_who_are_not_admins(
    gw: Gateway, method: str, path: str, body: Any
) -> None:
    for key, status in ((gw.agent_key, 401), (gw.approver_key, 403)):
        got = gw.post(path, key, body) if method == "post" else gw.get(path, key)
        assert got.status_code == status, (path, got.text)
    ok = gw.post(path, gw.admin_key, body) if method == "post" else gw.get(path, gw.admin_key)
    assert ok.status_code == 200, (path, ok.text)


def test_an_admin_stops_and_resumes_an_agent_and_reads_the_log(gw: Gateway) -> None:
    stopped = gw.post("/v1/kill", gw.admin_key, {"agent": "bot", "reason": "runaway"})
    assert stopped.status_code == 200
    refused = gw.post("/v1/execute", gw.agent_key, {"tool": "lookup", "args": {"q": "x"}})
    assert refused.json()["code"].startswith("killswitch.")
    assert gw.post("/v1/kill", gw.admin_key, {"agent": "bot"}).status_code == 422  # no reason
    assert gw.post("/v1/resume", gw.admin_key, {"agent": "bot"}).json() == {"resumed": True}
    records = gw.get("/v1/audit?limit=5", gw.admin_key).json()["records"]
    assert records[0]["action"] == "agentguard.resume" and len(records) <= 5
    assert gw.get("/v1/audit/verify", gw.admin_key).json()["ok"] is True
    assert "agents" in gw.get("/v1/status", gw.admin_key).json()


def test_an_admin_runs_an_incident_and_manages_keys(gw: Gateway) -> None:
    opened = gw.post("/v1/incidents", gw.admin_key, {"agent": "bot", "reason": "leak"}).json()
    incident = opened["incident"]
    listed = gw.get("/v1/incidents", gw.admin_key).json()["incidents"]
    assert [i["incident"] for i in listed] == [incident]
    report = gw.get(f"/v1/incidents/{incident}", gw.admin_key).json()
    assert report["agent"] == "bot" and report["stops"]
    closed = gw.post(f"/v1/incidents/{incident}/close", gw.admin_key, {"summary": "fixed"})
    assert closed.json()["state"] == "closed"
    assert gw.get("/v1/incidents/inc_0000000000000000", gw.admin_key).status_code == 404
    made = gw.post("/v1/keys", gw.admin_key, {"agent": "other", "tools": ["lookup"]}).json()
    assert made["key"].startswith("ag_")
    ids = {k["key_id"]: k for k in gw.get("/v1/keys", gw.admin_key).json()["keys"]}
    assert ids[made["key_id"]]["tools"] == ["lookup"] and "key" not in ids[made["key_id"]]
    assert made["key"] not in gw.get("/v1/keys", gw.admin_key).text
    assert gw.http.delete(f"/v1/keys/{made['key_id']}",
                          headers={"Authorization": f"Bearer {gw.admin_key}"}).status_code == 200  # fmt: skip
    refused = gw.post("/v1/check", made["key"], {"tool": "lookup", "args": {"q": "x"}})
    assert refused.status_code == 401
    exported = gw.get("/v1/audit/export", gw.admin_key).text.splitlines()
    assert all(json.loads(line)["hash"] for line in exported) and len(exported) >= 4


@pytest.mark.parametrize(("method", "path", "body"), ROUTES[len(ADMIN_ROUTES) + 4 :])
def test_routes_for_people_refuse_agent_keys(
    gw: Gateway, method: str, path: str, body: Any
) -> None:
    got = gw.post(path, gw.agent_key, body) if method == "post" else gw.get(path, gw.agent_key)
    assert got.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "body"), ROUTES[len(ADMIN_ROUTES) : len(ADMIN_ROUTES) + 3]
)
def test_routes_for_agents_refuse_approver_keys(
    gw: Gateway, method: str, path: str, body: Any
) -> None:
    got = (
        gw.post(path, gw.approver_key, body) if method == "post" else gw.get(path, gw.approver_key)
    )
    assert got.status_code == 401


def test_a_narrowed_key_is_refused_outside_its_tools(gw: Gateway) -> None:
    answer = gw.post("/v1/check", gw.narrow_key, {"tool": "send_note",
                                                  "args": {"to": "a", "body": "b"}}).json()  # fmt: skip
    assert answer["decision"] == "deny"


def test_errors_never_echo_what_was_sent_and_bodies_are_bounded(gw: Gateway) -> None:
    secret = "sk_live_" + "9f8e7d6c5b4a3928170615"
    bad = gw.post("/v1/check", gw.agent_key, {"tool": "lookup", "args": "x", "extra": secret})
    assert bad.status_code == 422 and secret not in bad.text
    assert bad.json()["error"]["code"] == "request.invalid"
    huge = gw.post("/v1/check", gw.agent_key, {"tool": "lookup", "args": {"q": "x" * MAX_BODY}})
    assert huge.status_code == 413


def test_health_readiness_metrics_and_docs(gw: Gateway) -> None:
    assert gw.get("/healthz", None).json() == {"status": "ok"}
    assert gw.get("/readyz", None).json() == {"status": "ready"}
    gw.post("/v1/execute", gw.agent_key, {"tool": "lookup", "args": {"q": "x"}})
    text = gw.get("/metrics", None).text
    assert "agentguard_actions_total" in text
    assert gw.get("/openapi.json", None).json()["info"]["title"] == "agentguard gateway"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_client_in_another_language_checks_completes_and_is_audited(gw: Gateway) -> None:
    script = f"""
set -eu
auth="Authorization: Bearer {gw.agent_key}"
id=$(curl -sf --noproxy '*' -H "$auth" -H 'Content-Type: application/json' \\
  -d '{{"tool": "lookup", "args": {{"q": "shell"}}}}' {gw.url}/v1/check \\
  | sed -E 's/.*"decision_id":"([^"]+)".*/\\1/')
curl -sf --noproxy '*' -H "$auth" -H 'Content-Type: application/json' \\
  -d "{{\\"decision_id\\": \\"$id\\", \\"result\\": {{\\"answer\\": 42}}}}" {gw.url}/v1/complete
"""
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": "executed", "result": {"answer": 42}}
    [record] = [r for r in gw.records() if r["action"] == "lookup"]
    assert record["status"] == "executed" and record["output"] == {"answer": 42}


def test_bodies_that_do_not_parse_and_unknown_paths_answer_in_the_error_shape(gw: Gateway) -> None:
    deep = '{"tool": "lookup", "args": {"q": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    headers = {"Authorization": f"Bearer {gw.agent_key}", "content-type": "application/json"}
    got = gw.http.post("/v1/check", content=deep, headers=headers)
    assert got.status_code == 400
    assert got.json()["error"]["code"] == "request.invalid"
    missing = gw.get("/v1/nothing-here", gw.agent_key)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "request.not_found"
    assert [r for r in gw.records() if r.get("action") == "lookup"] == []  # nothing ran
