"""The web dashboard at ``/ui/``, served by the gateway (``agentguard serve``).

People sign in with their approver key (``agentguard keys create --approver NAME``). The
page keeps the key in the tab's ``sessionStorage`` (gone when the tab closes) and sends it
as ``Authorization: Bearer <key>`` on every request, exactly as the API wants it: there are
no cookies, so no other site can make a signed-in browser act (no CSRF), and the server
keeps no sessions, so any gateway replica answers. Everything else is server-rendered HTML
fragments swapped in by the vendored htmx script (no Node build); charts are SVG drawn on
the server (:mod:`agentguard.dashboard.charts`).

What each person sees follows the API's roles: every approver has the approval queue
(redacted arguments, reasons, a deadline countdown, approve / edit / reject); admins
(``approvers.NAME.admin: true``) also the live activity feed, each agent's spend against
its budgets, error rate and denials over the last hour, breakers and kill switches with
stop / resume, audit search with the hash chain's status, and incident timelines.

Every page is sent with a strict content security policy (scripts and styles only from
``/ui/static/``, no inline script, no eval, no framing), ``no-store`` caching and no
referrer; values are escaped by the templates and arrive already redacted from the store.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from agentguard.guard import Guard

#: the static files the dashboard serves, by name, with their media types
STATIC = {
    "htmx.min.js": "text/javascript",
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
}

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_templates = Environment(
    loader=PackageLoader("agentguard.dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A template as an HTML answer with the dashboard's security headers."""
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def add_dashboard(app: FastAPI, guard: Guard, *, approver_key: Any, admin_key: Any) -> None:
    """Serve the dashboard from ``app`` at ``/ui/`` (``approver_key`` and ``admin_key``: the
    gateway's dependencies that refuse anyone but an approver, an admin)."""
    from agentguard.dashboard.views import add_views

    @app.get("/ui", include_in_schema=False)
    async def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=308)

    @app.get("/ui/", include_in_schema=False)
    async def shell() -> HTMLResponse:
        """The page shell: the sign-in form; everything else loads once signed in."""
        return render("shell.html")

    @app.get("/ui/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        media = STATIC.get(name)
        if media is None:  # only the files above: never a path
            return Response("not found", status_code=404, media_type="text/plain")
        body = resources.files("agentguard.dashboard").joinpath("static", name).read_bytes()
        headers = {**HEADERS, "Cache-Control": "no-cache"}
        return Response(body, media_type=media, headers=headers)

    add_views(app, guard, approver_key=approver_key, admin_key=admin_key)
