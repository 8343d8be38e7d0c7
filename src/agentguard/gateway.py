"""The HTTP gateway: agents in any process or language call agentguard over HTTP.

``agentguard serve`` (default ``127.0.0.1:8700``) serves :func:`create_app`. Keys travel
only as ``Authorization: Bearer <key>``: an agent's key (``ag_…``) reaches its own
``/v1/check``, ``/v1/complete``, ``/v1/execute`` and its tickets; an approver's key
(``agp_…``) the approval queue. Every answer is JSON; errors are
``{"error": {"code": …, "message": …}}`` with agentguard's stable codes and never echo what
was sent.

Agents::

    POST /v1/check     {"tool", "args", "session"?, "subject"?, "metadata"?}
                       → {"decision": "allow"|"deny"|"hold", "decision_id"?, "ticket"?, "reasons"}
    POST /v1/complete  {"decision_id", "result"? | "error"?, "cost"?}
                       → {"status": "executed"|"failed"|"withheld", "result"?}
    POST /v1/execute   {"tool", "args", …}: the gateway runs a tool it has (the policy's call:)
    GET  /v1/approvals/{id}?wait=30   a ticket's state (long-poll up to 60 s)

People (approver keys): ``GET /v1/approvals``, ``POST /v1/approvals/{id}/approve``
(``{"edit"?, "comment"?}``), ``POST /v1/approvals/{id}/reject``. Admins (approver keys of
people with ``admin: true`` under ``approvers:``): ``POST /v1/kill``, ``POST /v1/resume``,
``GET /v1/audit``, ``GET /v1/audit/verify``, ``GET /v1/status``, ``POST /v1/signals``.
Operations:
``GET /healthz``, ``GET /readyz`` (the store answers), ``GET /metrics`` (Prometheus,
``agentguard_*``), OpenAPI at ``/docs``. The web dashboard for people is at ``/ui/``
(:mod:`agentguard.dashboard`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentguard.approval import Approval, ApprovalError
from agentguard.dashboard import add_dashboard
from agentguard.errors import (
    AgentGuardError,
    ApprovalPending,
    Denied,
    ResultWithheld,
    StoreUnavailable,
    ToolNotRegistered,
)
from agentguard.gateway_admin import Refused as _Refused
from agentguard.gateway_admin import add_admin_routes
from agentguard.guard import Guard
from agentguard.http_tool import HttpToolError
from agentguard.keys import KeyCheck, authenticate
from agentguard.pipeline import Action, Decision
from agentguard.remote import RemoteCalls

#: the largest request body accepted (bytes)
MAX_BODY = 1024 * 1024
#: the longest a ticket's long-poll waits (seconds)
MAX_WAIT = 60.0

Scope = Literal["agent", "approver"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckRequest(_Strict):
    """An action the agent (named by its key) wants to make."""

    tool: str = Field(min_length=1, max_length=200)
    args: dict[str, Any] = Field(default_factory=dict)
    session: str | None = Field(default=None, max_length=1024)
    subject: str | None = Field(default=None, max_length=1024)
    metadata: dict[str, Any] = Field(default_factory=dict)


class CompleteRequest(_Strict):
    """What became of an allowed action the agent ran itself."""

    decision_id: str = Field(min_length=1, max_length=100)
    result: Any = None
    error: str | None = Field(default=None, max_length=10_000)
    cost: Decimal | None = Field(default=None, ge=0)


class DecideRequest(_Strict):
    """A person's decision: an optional edit of top-level arguments and a comment."""

    edit: dict[str, Any] | None = None
    comment: str | None = Field(default=None, max_length=10_000)


def create_app(guard: Guard, *, ttl: float = 600.0) -> FastAPI:
    """The gateway's ASGI app over ``guard`` (which it does not close)."""
    app = FastAPI(
        title="agentguard gateway",
        description="Policy enforcement for AI agents' tool calls.",
        version="1",
    )
    remote = RemoteCalls(guard._executor, ttl=ttl)
    app.add_middleware(_BodyLimit)

    def caller(scope: Scope) -> Callable[[Request], KeyCheck]:
        def dependency(request: Request) -> KeyCheck:
            header = request.headers.get("authorization", "")
            kind, _, key = header.partition(" ")
            if kind.lower() != "bearer" or not key.strip():
                raise _Refused(401, "auth.missing", "send your key as Authorization: Bearer <key>")
            check = authenticate(guard.store, key.strip(), guard.clock.now(), kind=scope)
            if check.record is None:
                wrong = "an approver key" if scope == "approver" else "an agent key"
                code = check.code if check.code != "identity.key_malformed" else "auth.wrong_key"
                raise _Refused(401, code, f"{check.message}; this route needs {wrong}")
            request.state.key = key.strip()
            return check

        return dependency

    def admin(request: Request) -> KeyCheck:
        check = caller("approver")(request)
        name = check.record.agent if check.record is not None else ""
        spec = (guard.policy.model.approvers or {}).get(name)
        if spec is None or not spec.admin:
            raise _Refused(403, "auth.not_admin",
                           f"{name!r} is not an admin (approvers.{name}.admin in the policy)")  # fmt: skip
        return check

    agent_key = Depends(caller("agent"))
    approver_key = Depends(caller("approver"))
    admin_key = Depends(admin)

    @app.exception_handler(_Refused)
    async def refused(_: Request, exc: _Refused) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        )  # never the input itself: it may hold a secret
        return _error(422, "request.invalid", where or "the request is invalid")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (an unknown path, a body that does not parse, a method
        # not allowed) in the gateway's error shape; their details are fixed sentences
        code = {404: "request.not_found", 405: "request.method_not_allowed"}.get(
            exc.status_code, "request.invalid"
        )
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(StoreUnavailable)
    async def store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return _error(503, exc.code, exc.message)

    @app.exception_handler(AgentGuardError)
    async def refused_by_agentguard(_: Request, exc: AgentGuardError) -> JSONResponse:
        not_found = exc.code.endswith(".not_found") or exc.code == "remote.unknown_decision"
        status = 404 if not_found else 400
        if exc.code == "approval.unauthorized":
            status = 403
        return _error(status, exc.code, exc.message)

    @app.exception_handler(ApprovalError)
    async def approval_refused(_: Request, exc: ApprovalError) -> JSONResponse:
        status = 404 if exc.code == "approval.not_found" else 409
        return _error(status, exc.code, exc.message)

    @app.exception_handler(Exception)
    async def failed(_: Request, exc: Exception) -> JSONResponse:  # never a traceback
        return _error(500, "gateway.internal_error", f"the gateway failed ({type(exc).__name__})")

    # ------------------------------------------------------------------ agents

    def action_of(request: Request, body: CheckRequest) -> Action:
        return Action(
            agent="",
            tool=body.tool,
            args=body.args,
            session=body.session,
            subject=body.subject,
            metadata=body.metadata,
            credential=request.state.key,
        )

    @app.post("/v1/check", tags=["agents"])
    async def check(request: Request, body: CheckRequest, _: KeyCheck = agent_key) -> Any:
        """The decision for an action the agent runs itself; complete it with its result."""
        checked = await asyncio.to_thread(remote.check, action_of(request, body))
        return _decision(checked.decision, checked.decision_id, checked.ticket)

    @app.post("/v1/complete", tags=["agents"])
    async def complete(body: CompleteRequest, key: KeyCheck = agent_key) -> Any:
        """The result (or error) of an allowed action: checked, recorded, returned as the
        agent may see it."""
        agent = key.record.agent if key.record is not None else ""
        try:
            result = await asyncio.to_thread(
                lambda: remote.complete(
                    body.decision_id, agent, result=body.result, error=body.error, cost=body.cost
                )
            )
        except ResultWithheld as exc:
            return {"status": "withheld", "reasons": _reasons(exc.decision)}
        if body.error is not None:
            return {"status": "failed"}
        return {"status": "executed", "result": _json(result)}

    @app.post("/v1/execute", tags=["agents"])
    async def execute(request: Request, body: CheckRequest, _: KeyCheck = agent_key) -> Any:
        """Run a tool the gateway has (the policy's ``call:``) through the whole pipeline."""
        try:
            result = await guard.aexecute(action_of(request, body), wait_for_approval=False)
        except ApprovalPending as pending:
            return _decision(pending.decision, None, pending.ticket)
        except ResultWithheld as exc:
            return {"decision": "allow", "status": "withheld", "reasons": _reasons(exc.decision)}
        except Denied as exc:
            return _decision(exc.decision, None, None)
        except ToolNotRegistered as exc:
            return _error(404, exc.code, exc.message)
        except HttpToolError as exc:  # ran and failed: recorded as failed; safe to say why
            error = {"code": exc.code, "message": exc.message}
            return {"decision": "allow", "status": "failed", "error": error}
        except AgentGuardError:
            raise  # refusals and store failures: the handlers above answer them
        except Exception as exc:  # the tool raised: recorded as failed; its words may hold
            # a secret, so only the exception's type is said
            error = {"code": "tool.failed", "message": f"the tool raised {type(exc).__name__}"}
            return {"decision": "allow", "status": "failed", "error": error}
        return {"decision": "allow", "status": "executed", "result": _json(result)}

    @app.get("/v1/approvals/{approval_id}", tags=["agents", "people"])
    async def ticket(request: Request, approval_id: str, wait: float = 0.0) -> Any:
        """A request's state, to its agent (agent key) or to approvers; ``wait``: seconds
        to long-poll while it is still waiting for people (at most 60)."""
        header = request.headers.get("authorization", "")
        key = header.partition(" ")[2].strip()
        scope: Scope = "approver" if key.startswith("agp_") else "agent"
        check = caller(scope)(request)
        give_up = time.monotonic() + min(max(wait, 0.0), MAX_WAIT)
        while True:
            item = await asyncio.to_thread(guard.approvals.get, approval_id)
            if scope == "agent" and (check.record is None or item.agent != check.record.agent):
                raise _Refused(
                    404, "approval.not_found", f"there is no approval request {approval_id!r}"
                )
            if not item.awaiting or time.monotonic() >= give_up:
                return _approval(item)
            await asyncio.sleep(0.25)

    # ------------------------------------------------------------------ people

    @app.get("/v1/approvals", tags=["people"])
    async def approvals(
        state: str | None = None, agent: str | None = None, _: KeyCheck = approver_key
    ) -> Any:
        """Requests, oldest first (``state``: pending, approved, …)."""
        items = await asyncio.to_thread(guard.approvals.list, state, agent)
        return {"approvals": [_approval(i) for i in items]}

    @app.post("/v1/approvals/{approval_id}/approve", tags=["people"])
    async def approve(
        request: Request, approval_id: str, body: DecideRequest, _: KeyCheck = approver_key
    ) -> Any:
        """Approve (optionally editing arguments) with your approver key."""
        key = request.state.key
        item = await asyncio.to_thread(
            lambda: guard.approvals.approve(
                approval_id, key=key, edit=body.edit, comment=body.comment
            )
        )
        return _approval(item)

    @app.post("/v1/approvals/{approval_id}/reject", tags=["people"])
    async def reject(
        request: Request, approval_id: str, body: DecideRequest, _: KeyCheck = approver_key
    ) -> Any:
        """Reject with your approver key: the action never runs."""
        key = request.state.key
        item = await asyncio.to_thread(
            lambda: guard.approvals.reject(approval_id, key=key, comment=body.comment)
        )
        return _approval(item)

    add_admin_routes(app, guard, admin_key)
    add_dashboard(app, guard, approver_key=approver_key, admin_key=admin_key)

    # --------------------------------------------------------------- operations

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Any:
        """The gateway is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Any:
        """The store answers (503 when it does not)."""
        try:
            await asyncio.to_thread(guard.store.count)
        except Exception as exc:
            return _error(
                503, "store.unavailable", f"the store does not answer ({type(exc).__name__})"
            )
        return {"status": "ready"}

    from agentguard.metrics import metrics_registry

    registry = metrics_registry(guard.store, clock=guard.clock)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus metrics computed from the shared audit log."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        text = await asyncio.to_thread(generate_latest, registry)
        return PlainTextResponse(text, media_type=CONTENT_TYPE_LATEST)

    return app


class _BodyLimit:
    """Refuse request bodies over :data:`MAX_BODY` (413), declared or streamed."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            await _error(413, "request.too_large", f"bodies are limited to {MAX_BODY} bytes")(
                scope, receive, send
            )
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise _Refused(413, "request.too_large", f"bodies are limited to {MAX_BODY} bytes")
            return message

        await self.app(scope, counted, send)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _reasons(decision: Decision) -> list[dict[str, Any]]:
    return [r.as_dict() for r in decision.reasons]


def _decision(decision: Decision, decision_id: str | None, ticket: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "decision": str(decision.outcome),
        "reasons": _reasons(decision),
        "code": decision.deciding_reason.code if decision.deciding_reason else None,
    }
    if decision_id is not None:
        out["decision_id"] = decision_id
    if ticket is not None:
        out["ticket"] = ticket.id
    return out


def _approval(item: Approval) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat().replace("+00:00", "Z")

    return {
        "id": item.id,
        "agent": item.agent,
        "tool": item.tool,
        "tier": item.tier,
        "state": str(item.state),
        "deadline": iso(item.deadline),
        "requested_at": iso(item.requested_at),
        "approvers": list(item.approvers),
        "required": item.required,
    }


def _json(value: Any) -> Any:
    try:
        return jsonable_encoder(value, custom_encoder={Decimal: str})
    except Exception:
        return str(value)
