"""The dashboard's HTML fragments (``/ui/f/…``), each behind the API's roles: approvers
have the queue, admins everything else. Errors are the gateway's JSON errors (the page
shows their code and message). See :mod:`agentguard.dashboard`."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from agentguard.approval import Approval
from agentguard.dashboard import charts, render
from agentguard.gateway_admin import Refused
from agentguard.guard import Guard
from agentguard.keys import KeyCheck
from agentguard.status import StatusBoard, money

#: the charts cover the last hour in twelve bars of five minutes
SPAN, BUCKETS = timedelta(hours=1), 12
#: at most this many characters of an action's (redacted) arguments are shown
MAX_SHOWN = 4000
FEED_SIZE = 50


def add_views(app: FastAPI, guard: Guard, *, approver_key: Any, admin_key: Any) -> None:
    """Add the dashboard's fragments to ``app``."""
    board: list[StatusBoard] = []  # made on first use: it reads the log since a day ago
    lock = threading.Lock()  # a board's tallies are not thread-safe

    def person(key: KeyCheck) -> str:
        return key.record.agent if key.record is not None else ""

    def is_admin(name: str) -> bool:
        spec = (guard.policy.model.approvers or {}).get(name)
        return spec is not None and spec.admin

    # ---------------------------------------------------------------- everyone

    @app.get("/ui/f/home", include_in_schema=False)
    async def home(key: KeyCheck = approver_key) -> HTMLResponse:
        """The signed-in frame: who, the tabs this person may open."""
        name = person(key)
        return render("home.html", name=name, admin=is_admin(name))

    @app.get("/ui/f/approvals", include_in_schema=False)
    async def queue(part: str = "", _: KeyCheck = approver_key) -> HTMLResponse:
        return await _queue(part == "list", None)

    async def _queue(only_list: bool, flash: str | None) -> HTMLResponse:
        now = guard.clock.now()
        items = await asyncio.to_thread(guard.approvals.list, None, None)
        waiting = [_approval(a, now) for a in items if a.awaiting]
        decided = [_approval(a, now) for a in items if not a.awaiting][-10:][::-1]
        name = "queue_list.html" if only_list else "queue.html"
        return render(name, waiting=waiting, decided=decided, flash=flash)

    @app.post("/ui/f/approvals/{approval_id}/approve", include_in_schema=False)
    async def approve(request: Request, approval_id: str, _: KeyCheck = approver_key) -> Any:
        fields = await _form(request)
        edit = _edit(fields.get("edit", ""))
        comment = fields.get("comment", "").strip() or None
        key = request.state.key
        item = await asyncio.to_thread(
            lambda: guard.approvals.approve(approval_id, key=key, edit=edit, comment=comment)
        )
        said = "approved" if not item.awaiting else "approved: waiting for another person"
        return await _queue(False, f"{item.tool} ({item.id[:8]}) {said}")

    @app.post("/ui/f/approvals/{approval_id}/reject", include_in_schema=False)
    async def reject(request: Request, approval_id: str, _: KeyCheck = approver_key) -> Any:
        fields = await _form(request)
        comment = fields.get("comment", "").strip() or None
        key = request.state.key
        item = await asyncio.to_thread(
            lambda: guard.approvals.reject(approval_id, key=key, comment=comment)
        )
        return await _queue(False, f"{item.tool} ({item.id[:8]}) rejected: it will not run")

    # ------------------------------------------------------------------ admins

    @app.get("/ui/f/activity", include_in_schema=False)
    async def activity(part: str = "", _: KeyCheck = admin_key) -> HTMLResponse:
        from agentguard.store import AuditQuery

        query = AuditQuery(limit=FEED_SIZE, newest_first=True)
        found = await asyncio.to_thread(lambda: list(guard.store.search(query)))
        rows = [_row(r.seq, r.data) for r in found]
        return render("feed_rows.html" if part == "rows" else "feed.html", rows=rows)

    def _agents_view() -> dict[str, Any]:
        with lock:
            if not board:
                board.append(StatusBoard(guard.store, policy=guard.policy, clock=guard.clock))
            report = board[0].report()
            series = charts.timeline(board[0].activity, span=SPAN, buckets=BUCKETS, now=report.at)
        agents = []
        for status in report.agents:
            own = series.get(status.agent, [])
            agents.append(
                {
                    "name": status.agent,
                    "breaker": str(status.breaker),
                    "kill": status.kill,
                    "hour": status.last_hour,
                    "spend_hour": money(status.last_hour.spend),
                    "spend_day": money(status.last_day.spend),
                    "budgets": [_budget(b) for b in status.budgets],
                    "executed": charts.bars([c.executed for c in own], label="calls run"),
                    "errors": charts.bars(
                        charts.error_rates(own),
                        label="error rate",
                        unit="%",
                        top=1.0,
                        css="bar bad",
                    ),
                    "denials": charts.bars(
                        [c.denied for c in own], label="denials", css="bar warn"
                    ),
                    "spend": charts.bars([c.spend for c in own], label="spend", unit="$"),
                }
            )
        return {
            "agents": agents,
            "shared": [_budget(b) for b in report.shared_budgets],
            "breakers": report.breakers,
            "kills": report.kills,
            "at": report.at,
        }

    async def _agents(flash: str | None = None) -> HTMLResponse:
        view = await asyncio.to_thread(_agents_view)
        return render("agents.html", flash=flash, **view)

    @app.get("/ui/f/agents", include_in_schema=False)
    async def agents(_: KeyCheck = admin_key) -> HTMLResponse:
        return await _agents()

    @app.post("/ui/f/kill", include_in_schema=False)
    async def kill(request: Request, key: KeyCheck = admin_key) -> HTMLResponse:
        fields = await _form(request)
        reason = fields.get("reason", "").strip()
        if not reason:
            raise Refused(422, "request.invalid", "say why (reason): it is recorded")
        scope = _scope(fields, guard)
        await asyncio.to_thread(
            lambda: guard.kill(**scope, reason=reason[:2000], by=f"dashboard:{person(key)}")
        )
        return await _agents(f"stopped {_describe(scope)}")

    @app.post("/ui/f/resume", include_in_schema=False)
    async def resume(request: Request, key: KeyCheck = admin_key) -> HTMLResponse:
        fields = await _form(request)
        scope = _scope(fields, guard)
        lifted = await asyncio.to_thread(
            lambda: guard.resume(
                **scope, reason="resumed from the dashboard", by=f"dashboard:{person(key)}"
            )
        )
        said = "resumed" if lifted else "was not stopped:"
        return await _agents(f"{said} {_describe(scope)}")

    @app.get("/ui/f/audit", include_in_schema=False)
    async def audit(
        agent: str = "", tool: str = "", decision: str = "", limit: int = 100,
        _: KeyCheck = admin_key,
    ) -> HTMLResponse:  # fmt: skip
        from agentguard.store import AuditQuery

        query = AuditQuery(agent=agent.strip() or None, tool=tool.strip() or None,
                           decision=decision.strip() or None,
                           limit=min(max(limit, 1), 1000), newest_first=True)  # fmt: skip
        found = await asyncio.to_thread(lambda: list(guard.store.search(query)))
        rows = [
            {**_row(r.seq, r.data), "detail": _pretty(r.data)} for r in found
        ]  # as stored: redacted
        wanted = {"agent": agent, "tool": tool, "decision": decision, "limit": query.limit}
        return render("audit.html", rows=rows, wanted=wanted)

    @app.get("/ui/f/audit/verify", include_in_schema=False)
    async def verify(_: KeyCheck = admin_key) -> HTMLResponse:
        result = await asyncio.to_thread(guard.verify_audit)
        return render("chain.html", chain=result)

    @app.get("/ui/f/incidents", include_in_schema=False)
    async def incidents(_: KeyCheck = admin_key) -> HTMLResponse:
        from agentguard.incident import list_incidents

        found = await asyncio.to_thread(list_incidents, guard.store)
        return render("incidents.html", incidents=found[::-1])

    @app.get("/ui/f/incidents/{incident}", include_in_schema=False)
    async def incident(incident: str, _: KeyCheck = admin_key) -> HTMLResponse:
        from agentguard.control import INCIDENT_ID
        from agentguard.incident import build_report

        if not INCIDENT_ID.fullmatch(incident):
            raise Refused(404, "incident.not_found", "there is no such incident")
        found = await asyncio.to_thread(build_report, guard.store, incident)
        report = found.as_dict()
        return render("incident.html", report=report, events=_timeline(report))


# ------------------------------------------------------------------------ helpers


async def _form(request: Request) -> dict[str, str]:
    """A form post's fields (URL-encoded, at most 20); an empty body is no field."""
    body = await request.body()
    if not body:
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused(415, "request.invalid", "send the form URL-encoded")
    try:
        pairs = parse_qsl(
            body.decode(), keep_blank_values=True, max_num_fields=20, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        raise Refused(422, "request.invalid", "the form could not be read") from None
    return dict(pairs)


def _edit(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        edit = orjson.loads(text)  # bounded depth: a deeply nested edit is refused, not a crash
    except orjson.JSONDecodeError:
        raise Refused(422, "request.invalid", 'the edit is not JSON: {"name": value, …}') from None
    if not isinstance(edit, dict) or not edit:
        raise Refused(422, "request.invalid", "the edit is a JSON object of arguments to change")
    return edit


def _scope(fields: dict[str, str], guard: Guard) -> dict[str, Any]:
    agent, tool = fields.get("agent", "").strip(), fields.get("tool", "").strip()
    everything = fields.get("everything") == "yes"
    if [bool(agent), bool(tool), everything].count(True) != 1:
        raise Refused(422, "request.invalid", "name exactly one of agent, tool or everything")
    if agent and agent not in guard.policy.model.agents:
        raise Refused(422, "request.invalid", "the agent is not defined in the policy")
    if everything:
        return {"everything": True}
    return {"agent": agent} if agent else {"tool": tool[:200]}


def _describe(scope: dict[str, Any]) -> str:
    if scope.get("everything"):
        return "every agent"
    return f"agent {scope['agent']}" if "agent" in scope else f"tool {scope['tool']}"


def _approval(item: Approval, now: datetime) -> dict[str, Any]:
    try:
        summary = json.loads(item.summary)
    except ValueError:
        summary = {}
    if not isinstance(summary, dict):
        summary = {}
    shown = summary.get("input")
    remaining = None
    if item.deadline is not None:
        remaining = int((item.deadline - now).total_seconds())
    return {
        "id": item.id,
        "agent": item.agent,
        "tool": item.tool,
        "tier": item.tier,
        "state": str(item.state),
        "mode": summary.get("mode", ""),
        "input": shown if isinstance(shown, str) else _pretty(shown),
        "reasons": [r for r in summary.get("reasons", []) if isinstance(r, dict)],
        "session": summary.get("session"),
        "subject": summary.get("subject"),
        "requested_at": _iso(item.requested_at),
        "deadline": _iso(item.deadline),
        "remaining": remaining,
        "approvers": list(item.approvers),
        "required": item.required,
        "rejected_by": item.rejected_by,
        "comment": item.comment,
    }


def _row(seq: int, data: dict[str, Any]) -> dict[str, Any]:
    reasons = data.get("reasons") or []
    last = reasons[-1] if reasons and isinstance(reasons[-1], dict) else {}
    return {
        "seq": seq,
        "at": str(data.get("timestamp", ""))[:19].replace("T", " "),
        "agent": data.get("agent_id") or "",
        "tool": data.get("action") or "",
        "decision": data.get("decision") or "",
        "status": data.get("status") or "",
        "code": last.get("code", ""),
        "message": last.get("message", ""),
        "cost": data.get("cost"),
    }


def _budget(use: Any) -> dict[str, Any]:
    spent = use.spent
    return {
        "scope": use.scope,
        "tool": use.tool or "every tool",
        "budget": money(use.budget),
        "per": use.as_json()["per"],
        "spent": None if spent is None else money(spent),
        "gauge": None if spent is None else charts.gauge(spent, use.budget, label="budget"),
    }


def _timeline(report: dict[str, Any]) -> list[dict[str, Any]]:
    events = [{"at": report["opened_at"], "what": "incident opened",
               "detail": f"by {report['opened_by'] or 'unknown'}: {report['reason']}"}]  # fmt: skip
    for name, what in (("first_anomaly", "first anomaly"), ("first_looping_call", "first loop")):
        if report.get(name):
            events.append({**report[name], "what": f"{what}: {report[name]['what']}"})
    for kind in ("alerts", "stops", "resumes", "rollbacks"):
        events.extend(report.get(kind) or [])
    if report.get("closed_at"):
        events.append({"at": report["closed_at"], "what": "incident closed",
                       "detail": report.get("summary") or ""})  # fmt: skip
    return sorted(events, key=lambda e: str(e.get("at") or ""))


def _pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "\n… (cut: see the audit log)"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
