"""The dashboard's fragments over HTTP on a real gateway: every one refuses a missing,
wrong or agent's key, the admin ones a person who is not an admin; pages carry a strict
content security policy; values are escaped and redacted; forms act like the API."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from .conftest import Dashboard

PEOPLE = [
    ("get", "/ui/f/home"),
    ("get", "/ui/f/approvals"),
    ("post", "/ui/f/approvals/" + "0" * 32 + "/approve"),
    ("post", "/ui/f/approvals/" + "0" * 32 + "/reject"),
]
ADMINS = [
    ("get", "/ui/f/activity"),
    ("get", "/ui/f/agents"),
    ("post", "/ui/f/kill"),
    ("post", "/ui/f/resume"),
    ("get", "/ui/f/audit"),
    ("get", "/ui/f/audit/verify"),
    ("get", "/ui/f/incidents"),
    ("get", "/ui/f/incidents/inc-0000"),
]
MARKUP = '<img src=x onerror="alert(1)">'
CARD = "4111 1111 1111 1111"


def _call(dash: Dashboard, method: str, path: str, key: str | None) -> Any:
    return dash.get(path, key) if method == "get" else dash.post(path, key, {"agent": "x"})


@pytest.mark.parametrize(("method", "path"), PEOPLE + ADMINS)
def test_every_fragment_refuses_a_missing_wrong_or_agent_key(
    dash: Dashboard, method: str, path: str
) -> None:
    for key in (None, "agp_000000000000_AAAA", dash.agent_key, dash.admin_key[:-3] + "AAA"):
        got = _call(dash, method, path, key)
        assert got.status_code == 401, (path, key, got.text)
        assert got.json()["error"]["code"].startswith(("auth.", "identity."))
        assert key is None or key not in got.text


@pytest.mark.parametrize(("method", "path"), ADMINS)
def test_admin_fragments_refuse_an_approver_who_is_not_an_admin(
    dash: Dashboard, method: str, path: str
) -> None:
    got = _call(dash, method, path, dash.approver_key)
    assert got.status_code == 403 and got.json()["error"]["code"] == "auth.not_admin"


def test_pages_carry_a_strict_security_policy_and_no_key_in_them(dash: Dashboard) -> None:
    shell = dash.http.get("/ui/")
    assert shell.status_code == 200 and "Sign in" in shell.text
    for page in (shell, dash.get("/ui/f/home", dash.admin_key)):
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text.replace('<script src="', "")  # no inline script
    assert dash.admin_key not in dash.get("/ui/f/home", dash.admin_key).text
    assert dash.http.get("/ui", follow_redirects=False).headers["location"] == "/ui/"


@pytest.mark.parametrize("name", ["../__init__.py", "..%2F__init__.py", "templates", "x.js"])
def test_static_files_are_only_the_three_known(dash: Dashboard, name: str) -> None:
    assert dash.http.get(f"/ui/static/{name}").status_code == 404
    assert dash.http.get("/ui/static/htmx.min.js").status_code == 200


def _held(dash: Dashboard, order_id: str, amount: float = 800) -> Future[Any]:
    return dash.hold_refund(order_id, amount, CARD)


def test_the_queue_shows_arguments_escaped_and_redacted(dash: Dashboard) -> None:
    _held(dash, MARKUP)
    page = dash.get("/ui/f/approvals", dash.approver_key).text
    assert MARKUP not in page and "&lt;img src=x onerror=" in page
    assert "4111" not in page and "CREDIT_CARD" in page


def test_an_approval_with_an_edit_runs_the_edited_arguments_once(dash: Dashboard) -> None:
    outcome = _held(dash, "A-7", 800)
    [item] = dash.guard.approvals.list("pending", "finance_bot")
    bad = dash.post(f"/ui/f/approvals/{item.id}/approve", dash.admin_key,
                    {"edit": '{"amount": 450 "secret-ish"}'})  # fmt: skip
    assert bad.status_code == 422 and "secret-ish" not in bad.text
    ok = dash.post(f"/ui/f/approvals/{item.id}/approve", dash.admin_key,
                   {"edit": '{"amount": 450}', "comment": "half now"})  # fmt: skip
    assert ok.status_code == 200 and "approved" in ok.text
    assert outcome.result(timeout=30)["refunded"] == 450
    assert [r["amount"] for r in dash.refunds] == [450]
    again = dash.post(f"/ui/f/approvals/{item.id}/approve", dash.admin_key)
    assert again.status_code == 409  # decided once
    assert [r["amount"] for r in dash.refunds] == [450]


def test_kill_needs_a_reason_and_a_known_agent(dash: Dashboard) -> None:
    assert dash.post("/ui/f/kill", dash.admin_key, {"agent": "finance_bot"}).status_code == 422
    unknown = dash.post("/ui/f/kill", dash.admin_key, {"agent": "ghost", "reason": "x"})
    assert unknown.status_code == 422 and "ghost" not in unknown.text
    both = dash.post("/ui/f/kill", dash.admin_key,
                     {"agent": "finance_bot", "everything": "yes", "reason": "x"})  # fmt: skip
    assert both.status_code == 422
    ok = dash.post("/ui/f/kill", dash.admin_key, {"agent": "finance_bot", "reason": "loop"})
    assert ok.status_code == 200 and "stopped agent finance_bot" in ok.text
    [kill] = [r for r in dash.records() if r["action"] == "agentguard.kill"]
    assert "dashboard:maria" in str(kill)  # who stopped it is in the audit log


def test_activity_agents_audit_and_incidents_render_what_happened(dash: Dashboard) -> None:
    bot = dash.guard.agent("finance_bot")
    bot.call("lookup_order", order_id="A-1")
    from agentguard import control

    ident = control.open_incident(dash.guard.store, agent="finance_bot", reason="too many refunds",
                                  by="maria", severity="critical", stop=True,
                                  clock=dash.guard.clock)  # fmt: skip
    feed = dash.get("/ui/f/activity?part=rows", dash.admin_key).text
    assert "lookup_order" in feed and "<tr" in feed
    agents = dash.get("/ui/f/agents", dash.admin_key).text
    assert 'data-agent="finance_bot"' in agents and "Resume" in agents  # stopped by the incident
    assert "$5.00 per 1h" in agents
    audit = dash.get("/ui/f/audit?tool=lookup_order", dash.admin_key).text
    assert "lookup_order" in audit and "process_refund" not in audit
    assert "verified" in dash.get("/ui/f/audit/verify", dash.admin_key).text
    listed = dash.get("/ui/f/incidents", dash.admin_key).text
    assert ident in listed
    timeline = dash.get(f"/ui/f/incidents/{ident}", dash.admin_key).text
    assert "incident opened" in timeline and "too many refunds" in timeline


def test_a_deeply_nested_edit_is_refused_not_a_crash(dash: Dashboard) -> None:
    _held(dash, "A-9")
    [item] = dash.guard.approvals.list("pending", "finance_bot")
    deep = "[" * 100_000 + "]" * 100_000
    got = dash.post(f"/ui/f/approvals/{item.id}/approve", dash.admin_key, {"edit": deep})
    assert got.status_code == 422 and got.json()["error"]["code"] == "request.invalid"
    assert dash.guard.approvals.get(item.id).awaiting  # nothing was decided
