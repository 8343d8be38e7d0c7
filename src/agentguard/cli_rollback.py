"""``agentguard rollback``: undo what an agent did, newest action first.

Exactly one scope: ``--action ID``, ``--session S`` (optionally ``--since``), or ``--agent
A --since 1h``. ``--dry-run`` lists what would be undone and what cannot be, changing
nothing. The compensating tools are the policy's ``call:`` functions, called directly (the
agent may well be stopped). Exit codes: 0 everything in scope undone (or a dry run), 1 an
undo failed (the output names what was undone, what failed and what remains), 2 a usage
error, 3 the store cannot be used.

Example::

    agentguard rollback --agent support_bot --since 1h --dry-run
    agentguard rollback --session s-42 --by alice
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from agentguard.cli_common import DEFAULT_POLICY, PolicyOpt, StoreOpt
from agentguard.store import DEFAULT_URL


def rollback(
    action: Annotated[
        str | None, typer.Option("--action", help="Undo this one action (its id).")
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Undo every action of this session.")
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Undo this agent's actions (needs --since).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="How far back, such as 30m, 1h or 2d.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be undone; change nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    by: Annotated[
        str | None, typer.Option("--by", help="Who rolls back (recorded; default: you).")
    ] = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Undo the actions of one action, a session, or an agent since a time, newest first,
    with the policy's undo and snapshot tools; name those that cannot be undone."""
    from agentguard.cli_common import (
        EXIT_FAILED,
        EXIT_USAGE,
        _existing_store,
        _fail,
        _guarded,
        _operator,
        _policy,
    )
    from agentguard.guard import Guard
    from agentguard.policy.units import parse_duration
    from agentguard.rollback import rollback_for
    from agentguard.rollback_report import RollbackReport

    scopes = [name for name, value in (("--action", action), ("--session", session),
                                       ("--agent", agent)) if value]  # fmt: skip
    if len(scopes) != 1:
        raise _fail(
            "give exactly one of --action ID, --session S or --agent A --since 1h"
            + (f" (got {' and '.join(scopes)})" if scopes else ""),
            EXIT_USAGE,
        )
    if agent and not since:
        raise _fail("--agent needs --since (how far back, such as 1h)", EXIT_USAGE)
    if action and since:
        raise _fail("--since does not apply to --action", EXIT_USAGE)
    try:
        window = parse_duration(since) if since else None
    except ValueError as exc:
        raise _fail(f"--since: {exc}", EXIT_USAGE) from None
    loaded = _policy(policy)
    db = _existing_store(store)

    def work() -> RollbackReport:
        guard = Guard(loaded, db)
        try:
            engine = rollback_for(guard)
            plan = engine.plan(action=action, session=session, agent=agent, since=window)
            return engine.run(plan, by=by or _operator(), dry_run=dry_run)
        finally:
            guard.close()

    report: RollbackReport = _guarded(work)
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(report.as_text())
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)
