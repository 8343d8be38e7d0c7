"""The gateway's routes for admins: people under ``approvers:`` with ``admin: true``, who
authenticate with their approver key. They stop and resume agents, read and verify the
audit log, export it, read status, report signals, run incidents and manage agents' keys.
See :mod:`agentguard.gateway`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from agentguard.guard import Guard
from agentguard.keys import KeyCheck


class Refused(Exception):
    """A request the gateway refuses: answered as ``{"error": {"code", "message"}}`` with
    ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeRequest(_Strict):
    """What a kill switch covers: one agent, one tool, or everything."""

    agent: str | None = Field(default=None, max_length=200)
    tool: str | None = Field(default=None, max_length=200)
    everything: bool = False
    reason: str | None = Field(default=None, max_length=2000)


class SignalRequest(_Strict):
    """An external signal for the alert rules (``signal NAME``)."""

    name: str = Field(min_length=1, max_length=100)
    agent: str | None = Field(default=None, max_length=200)
    subject: str | None = Field(default=None, max_length=1024)


class IncidentRequest(_Strict):
    """Open an incident about an agent (it is stopped unless ``keep_running``)."""

    agent: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
    severity: str = Field(default="critical", pattern="^(info|warning|critical)$")
    keep_running: bool = False


class CloseRequest(_Strict):
    """Close an incident with what was learnt."""

    summary: str = Field(min_length=1, max_length=10_000)


class KeyRequest(_Strict):
    """A new key for an agent, optionally expiring and narrowed to some tools."""

    agent: str = Field(min_length=1, max_length=200)
    expires_in_seconds: int | None = Field(default=None, gt=0, le=10 * 365 * 86400)
    tools: list[str] | None = None
    label: str | None = Field(default=None, max_length=200)


def add_admin_routes(app: FastAPI, guard: Guard, admin_key: Any) -> None:
    """Add the admin routes to ``app`` (``admin_key``: the dependency that refuses anyone
    but an admin)."""
    # ------------------------------------------------------------------ admins

    def who(key: KeyCheck) -> str:
        return f"gateway:{key.record.agent}" if key.record is not None else "gateway"

    @app.post("/v1/kill", tags=["admins"])
    async def kill(body: ScopeRequest, key: KeyCheck = admin_key) -> Any:
        """Stop an agent, a tool or everything, in every process sharing the store."""
        if not body.reason or not body.reason.strip():
            raise Refused(422, "request.invalid", "say why (reason): it is recorded")
        reason = body.reason
        _one_scope(body)
        stopped = await asyncio.to_thread(
            lambda: guard.kill(
                agent=body.agent,
                tool=body.tool,
                everything=body.everything,
                reason=reason,
                by=who(key),
            )
        )
        return {"stopped": stopped.describe()}

    @app.post("/v1/resume", tags=["admins"])
    async def resume(body: ScopeRequest, key: KeyCheck = admin_key) -> Any:
        """Lift a kill switch."""
        _one_scope(body)
        lifted = await asyncio.to_thread(
            lambda: guard.resume(
                agent=body.agent,
                tool=body.tool,
                everything=body.everything,
                reason=body.reason,
                by=who(key),
            )
        )
        return {"resumed": lifted}

    @app.get("/v1/audit", tags=["admins"])
    async def audit(
        agent: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        limit: int = 100,
        _: KeyCheck = admin_key,
    ) -> Any:
        """Audit records, newest first (as stored: redacted), at most ``limit`` (≤ 1000)."""
        from agentguard.store import AuditQuery

        query = AuditQuery(agent=agent, tool=tool, decision=decision,
                           limit=min(max(limit, 1), 1000), newest_first=True)  # fmt: skip
        found = await asyncio.to_thread(lambda: [r.data for r in guard.store.search(query)])
        return {"records": found}

    @app.get("/v1/audit/verify", tags=["admins"])
    async def verify(_: KeyCheck = admin_key) -> Any:
        """Check the audit log's hash chain."""
        result = await asyncio.to_thread(guard.verify_audit)
        return {"ok": result.ok, "checked": result.checked, "bad_seq": result.bad_seq,
                "problem": result.problem}  # fmt: skip

    @app.get("/v1/status", tags=["admins"])
    async def status(_: KeyCheck = admin_key) -> Any:
        """Each agent's actions, errors and spend; breakers and kill switches."""
        from agentguard.status import StatusBoard

        board = StatusBoard(guard.store, policy=guard.policy, clock=guard.clock)
        return await asyncio.to_thread(lambda: board.report().as_json())

    @app.post("/v1/signals", tags=["admins"])
    async def signal(body: SignalRequest, key: KeyCheck = admin_key) -> Any:
        """Report an external signal to the alert rules (recorded in the audit log)."""
        try:
            done = await asyncio.to_thread(
                lambda: guard.signal(body.name, agent=body.agent, subject=body.subject, by=who(key))
            )
        except ValueError:  # its own words may quote the name: say what is allowed instead
            raise Refused(422, "request.invalid", "a signal's name is 1 to 100 letters, "
                           "digits, '_', '-', '.' or ':' (customer_complaint)") from None  # fmt: skip
        return {"done": done}

    @app.get("/v1/audit/export", tags=["admins"])
    async def export(_: KeyCheck = admin_key) -> StreamingResponse:
        """Every record with its hashes, one JSON object per line (as stored: redacted)."""
        from agentguard.store import AuditQuery

        def lines() -> Iterator[bytes]:
            import json

            for record in guard.store.search(AuditQuery()):
                yield (json.dumps(record.data, sort_keys=True) + "\n").encode()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/v1/incidents", tags=["admins"])
    async def incidents(_: KeyCheck = admin_key) -> Any:
        """Every incident in the audit log."""
        from agentguard.incident import list_incidents

        return {"incidents": await asyncio.to_thread(list_incidents, guard.store)}

    @app.post("/v1/incidents", tags=["admins"])
    async def open_incident(body: IncidentRequest, key: KeyCheck = admin_key) -> Any:
        """Open an incident (and stop the agent, unless keep_running)."""
        from agentguard import control

        if body.agent not in guard.policy.model.agents:
            raise Refused(422, "request.invalid", "the agent is not defined in the policy")
        ident = await asyncio.to_thread(
            lambda: control.open_incident(
                guard.store, agent=body.agent, reason=body.reason, by=who(key),
                severity=body.severity, stop=not body.keep_running, clock=guard.clock,
            )
        )  # fmt: skip
        return {"incident": ident}

    @app.get("/v1/incidents/{incident}", tags=["admins"])
    async def report(incident: str, _: KeyCheck = admin_key) -> Any:
        """An incident's timeline, from the audit log alone."""
        from agentguard.control import INCIDENT_ID
        from agentguard.incident import build_report

        if not INCIDENT_ID.fullmatch(incident):
            raise Refused(404, "incident.not_found", "there is no such incident")
        found = await asyncio.to_thread(build_report, guard.store, incident)
        return found.as_dict()

    @app.post("/v1/incidents/{incident}/close", tags=["admins"])
    async def close(incident: str, body: CloseRequest, key: KeyCheck = admin_key) -> Any:
        """Close an incident with what was learnt."""
        from agentguard import control
        from agentguard.incident import build_report

        if not control.INCIDENT_ID.fullmatch(incident):
            raise Refused(404, "incident.not_found", "there is no such incident")
        await asyncio.to_thread(build_report, guard.store, incident)  # 404 when unknown
        await asyncio.to_thread(
            lambda: control.close_incident(
                guard.store, incident, summary=body.summary, by=who(key), clock=guard.clock
            )
        )
        return {"incident": incident, "state": "closed"}

    @app.get("/v1/keys", tags=["admins"])
    async def keys(_: KeyCheck = admin_key) -> Any:
        """Agents' and approvers' key ids, whose, scopes and states: never the keys."""
        from agentguard.store.base import KEY_KINDS

        now = guard.clock.now()

        def rows() -> list[dict[str, Any]]:
            return [
                {"key_id": r.key_id, "kind": kind, "for": r.agent, "state": r.state(now),
                 "tools": sorted(r.tools) if r.tools is not None else None, "label": r.label}
                for kind in KEY_KINDS
                for r in guard.store.list_keys(kind=kind)
            ]  # fmt: skip

        return {"keys": await asyncio.to_thread(rows)}

    @app.post("/v1/keys", tags=["admins"])
    async def create_key(body: KeyRequest, _: KeyCheck = admin_key) -> Any:
        """A new key for an agent, shown once in this answer (only its hash is stored)."""
        lifetime = timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None
        if body.tools is not None and not body.tools:
            raise Refused(422, "request.invalid", "tools names no tool: leave it out for all")
        key = await asyncio.to_thread(
            lambda: guard.create_key(
                body.agent, expires_in=lifetime, tools=body.tools, label=body.label
            )
        )
        return {"key": key, "key_id": key.split("_")[1]}

    @app.delete("/v1/keys/{key_id}", tags=["admins"])
    async def revoke_key(key_id: str, _: KeyCheck = admin_key) -> Any:
        """Revoke an agent's key: refused from the next call on."""
        if not all(ch in "0123456789abcdef" for ch in key_id) or len(key_id) != 12:
            raise Refused(404, "keys.not_found", "there is no such key")
        revoked = await asyncio.to_thread(guard.revoke_key, key_id)
        if not revoked:
            raise Refused(404, "keys.not_found", "there is no such key, or it is revoked")
        return {"revoked": key_id}


def _one_scope(body: ScopeRequest) -> None:
    given = [body.agent is not None, body.tool is not None, body.everything]
    if sum(given) != 1:
        raise Refused(422, "request.invalid", "name exactly one of agent, tool or everything")
    for kind, name in (("agent", body.agent), ("tool", body.tool)):
        if name is not None and not name.strip():
            raise Refused(422, "request.invalid", f"the {kind} name is empty")
