"""``agentguard incident open|list|report|close``: incident response from the audit log.

``open`` stops the agent (its kill switch) and records the incident; alert rules with
``then: [open_incident]`` open them too. ``report`` builds the timeline from the audit log
alone (:mod:`agentguard.incident`), as Markdown or ``--json``; ``close`` records what was
learnt. Every command refuses a store that does not exist (exit 3).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agentguard.cli_common import StoreOpt
from agentguard.incident import DEFAULT_LOOKBACK, build_report, list_incidents
from agentguard.policy.units import parse_duration
from agentguard.store import DEFAULT_URL

incident_app = typer.Typer(
    help="Open, list, report and close incidents (timelines from the audit log).",
    no_args_is_help=True,
)


@incident_app.command("open")
def incident_open(
    agent: Annotated[str, typer.Option("--agent", help="The agent the incident is about.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    severity: Annotated[
        str, typer.Option("--severity", help="info, warning or critical.")
    ] = "critical",
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Record it without stopping the agent.")
    ] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Stop an agent and open an incident about it; prints the incident's id."""
    from agentguard import control
    from agentguard.cli_common import EXIT_USAGE, _existing_store, _fail, _guarded, _operator, out

    if severity not in ("info", "warning", "critical"):
        raise _fail("--severity is info, warning or critical", EXIT_USAGE)
    if not agent.strip() or not reason.strip():
        raise _fail("name the agent (--agent) and say why (--reason)", EXIT_USAGE)
    db = _existing_store(store)
    ident = _guarded(
        lambda: control.open_incident(
            db,
            agent=agent,
            reason=reason,
            by=_operator(),
            severity=severity,
            stop=not keep_running,
        )
    )
    out.print(ident, markup=False)


@incident_app.command("list")
def incident_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Every incident in the audit log, oldest first."""
    from agentguard.cli_common import _existing_store, _guarded, out
    from agentguard.cli_table import ColumnKind, print_table

    db = _existing_store(store)
    incidents = _guarded(lambda: list_incidents(db))
    if as_json:
        for item in incidents:
            out.print(json.dumps(item, sort_keys=True), markup=False, soft_wrap=True)
        return
    rows = [
        [i["incident"], i["agent"] or "", i["opened_at"], i["severity"] or "", i["state"]]
        for i in incidents
    ]
    columns: list[tuple[str, ColumnKind]] = [
        ("incident", "id"),
        ("agent", "id"),
        ("opened", "id"),
        ("severity", "id"),
        ("state", "id"),
    ]
    print_table(out, columns, rows)


@incident_app.command("report")
def incident_report(
    incident: Annotated[str, typer.Argument(help="The incident's id (inc_…).")],
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    lookback: Annotated[
        str, typer.Option("--lookback", help="How far before the incident to look (24h).")
    ] = "24h",
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """The incident's timeline, measured from the audit log alone (Markdown, or --json)."""
    import sys

    from agentguard.cli_common import EXIT_USAGE, _existing_store, _fail, _guarded

    try:
        window = parse_duration(lookback) if lookback else DEFAULT_LOOKBACK
    except ValueError as exc:
        raise _fail(f"--lookback: {exc}", EXIT_USAGE) from None
    db = _existing_store(store)
    report = _guarded(lambda: build_report(db, incident, lookback=window))
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(report.to_markdown())


@incident_app.command("close")
def incident_close(
    incident: Annotated[str, typer.Argument(help="The incident's id (inc_…).")],
    summary: Annotated[str, typer.Option("--summary", help="What was found; what changes.")],
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Close an incident, recording what was learnt."""
    from agentguard import control
    from agentguard.cli_common import EXIT_USAGE, _existing_store, _fail, _guarded, _operator, out

    db = _existing_store(store)
    known = {i["incident"]: i for i in _guarded(lambda: list_incidents(db))}
    if incident not in known:
        raise _fail(f"no incident {incident!r} in the audit log", EXIT_USAGE)
    if known[incident]["state"] == "closed":
        raise _fail(f"incident {incident} is closed already", EXIT_USAGE)
    try:
        _guarded(lambda: control.close_incident(db, incident, summary=summary, by=_operator()))
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    out.print(f"closed {incident}", markup=False)
