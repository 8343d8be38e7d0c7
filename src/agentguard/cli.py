"""The ``agentguard`` command.

Exit codes: 0 success; 1 the check failed (``audit verify`` found tampering, ``check``
found a problem); 2 bad usage or an invalid policy; 3 the store is unavailable.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agentguard import control
from agentguard.audit import AuditRecord
from agentguard.cli_scan import scan as scan_command
from agentguard.clock import SystemClock
from agentguard.errors import AgentGuardError, PolicyError, StoreUnavailable
from agentguard.policy import LoadedPolicy, load_policy, policy_json_schema
from agentguard.policy.units import parse_duration
from agentguard.store import DEFAULT_URL, AuditQuery, Store, open_store

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STORE = 3

app = typer.Typer(
    name="agentguard",
    help="Policy enforcement for AI agents: check policies, manage keys, read the audit log, "
    "stop agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create, list and revoke scoped API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="Read, search, export and verify the audit log.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PolicyOpt = Annotated[
    Path,
    typer.Option(
        "--policy", "-p", envvar="AGENTGUARD_POLICY", help="Policy file.", show_default=True
    ),
]
StoreOpt = Annotated[
    str,
    typer.Option(
        "--store", "-s", envvar="AGENTGUARD_STORE", help="Store URL (sqlite:///file.db, memory://)."
    ),
]
DEFAULT_POLICY = Path("policy.yaml")


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(code)


def _policy(path: Path) -> LoadedPolicy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        for problem in exc.problems:
            err.print(problem, markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def _store(url: str) -> Store:
    try:
        return open_store(url)
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None


def _guarded(fn: Any) -> Any:
    """Run a command body, turning store failures into exit code 3 with a clear message."""
    try:
        return fn()
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None
    except AgentGuardError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None


# ------------------------------------------------------------------------- policy


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the policy.")] = DEFAULT_POLICY,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter policy modelled on an email agent and a financial agent."""
    if path.exists() and not force:
        raise _fail(f"{path} exists; pass --force to overwrite it", EXIT_USAGE)
    path.write_text(starter_policy_text(), encoding="utf-8")
    out.print(f"wrote {path}; check it with: agentguard check --policy {path}")


def starter_policy_text() -> str:
    return resources.files("agentguard.policy").joinpath("starter.yaml").read_text("utf-8")


@app.command()
def check(policy: PolicyOpt = DEFAULT_POLICY) -> None:
    """Validate a policy and print what each agent may do with each tool."""
    loaded = _policy(policy)
    model = loaded.model
    table = Table(title=f"{policy}: agents × tools", show_lines=False)
    table.add_column("agent")
    table.add_column("tool")
    table.add_column("risk")
    table.add_column("decision")
    table.add_column("content checks")
    for agent_name, agent in sorted(model.agents.items()):
        for tool_name in sorted(model.tools):
            plan = loaded.plan(agent_name, tool_name)
            if plan is None:
                continue
            table.add_row(
                agent_name + ("" if agent.enabled else " (disabled)"),
                tool_name,
                str(model.tools[tool_name].risk),
                _describe_plan(plan),
                _describe_content(loaded, tool_name),
            )
    out.print(table)
    unused = sorted(t for t in model.tools if not any(loaded.plan(a, t) for a in model.agents))
    out.print(
        f"policy OK: {len(model.agents)} agents, {len(model.roles)} roles, "
        f"{len(model.tools)} tools; anything not listed is denied"
    )
    if unused:
        out.print(f"tools no agent may use: {', '.join(unused)}")


def _describe_content(loaded: Any, tool: str) -> str:
    """The detector rules, quality checks and leak role of one tool, in a few words."""
    from agentguard.policy.content import matches_any

    section = loaded.model.detectors
    spec = loaded.model.tools[tool]
    parts: list[str] = []
    for index, rule in enumerate(section.rules, 1):
        if rule.scan == "outbound" and not spec.outbound:
            continue
        if matches_any(tool, rule.tools):
            parts.append(f"#{index} {rule.scan}: {'+'.join(rule.detectors)} → {rule.action}")
    for check in section.quality_checks:
        if spec.outbound and matches_any(tool, check.tools):
            parts.append(f"quality {check.name} → {check.action}")
    if spec.owner is not None:
        parts.append(f"owner {spec.owner}")
    if loaded.owners and spec.outbound:
        parts.append(f"leak guard ({section.leaks.action})")
    return "; ".join(parts)


def _describe_plan(plan: Any) -> str:
    parts: list[str] = []
    for rule in plan.denies:
        parts.append(f"deny ({rule.role})" + (f" when {rule.when}" if rule.when else ""))
    for rule in plan.allows:
        parts.append(f"allow ({rule.role})" + (f" when {rule.when}" if rule.when else ""))
    if plan.denies and any(r.condition is None for r in plan.denies):
        return "DENY — " + "; ".join(parts)
    return "; ".join(parts)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the policy file (for editors)."""
    sys.stdout.write(json.dumps(policy_json_schema(), indent=2) + "\n")


# -------------------------------------------------------------------------- keys


@keys_app.command("create")
def keys_create(
    agent: Annotated[str, typer.Option("--agent", "-a", help="The agent the key acts as.")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime such as 30d or 12h; default never.")
    ] = None,
    tools: Annotated[
        str | None,
        typer.Option("--tools", help="Comma-separated tools the key is limited to."),
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="A note shown by keys list.")] = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Create an API key and print it once. Only its hash is stored."""
    loaded = _policy(policy)
    if agent not in loaded.model.agents:
        raise _fail(f"agent {agent!r} is not defined in {policy}", EXIT_USAGE)
    try:
        lifetime = parse_duration(expires) if expires else None
    except ValueError as exc:
        raise _fail(f"--expires: {exc}", EXIT_USAGE) from None
    scope = [t.strip() for t in tools.split(",") if t.strip()] if tools else None
    if scope is not None:
        if not scope:
            raise _fail("--tools names no tool", EXIT_USAGE)
        outside = [t for t in scope if not loaded.may_use(agent, t)]
        if outside:
            raise _fail(
                f"agent {agent!r} may not use {', '.join(outside)}; a key can only narrow "
                "an agent's tools, never widen them",
                EXIT_USAGE,
            )
    db = _store(store)
    key, record = _guarded(
        lambda: control.issue_key(db, agent, expires_in=lifetime, tools=scope, label=label)
    )
    err.print(
        f"created key {record.key_id} for agent {agent!r}"
        + (f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else "")
        + (f", tools: {', '.join(sorted(record.tools))}" if record.tools else "")
        + ". It is shown once; store it now:"
    )
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(store: StoreOpt = DEFAULT_URL) -> None:
    """List keys (ids, agents, scopes, states), never the keys themselves."""
    db = _store(store)
    records = _guarded(db.list_keys)
    now = SystemClock().now()
    table = Table()
    for column in ("key id", "agent", "tools", "state", "created", "expires", "label"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.key_id,
            record.agent,
            ", ".join(sorted(record.tools)) if record.tools is not None else "(all of the agent's)",
            record.state(now),
            f"{record.created_at:%Y-%m-%d %H:%M}",
            f"{record.expires_at:%Y-%m-%d %H:%M}" if record.expires_at else "never",
            record.label or "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (shown by keys list), or the key.")],
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Revoke a key: it is refused from the next call on."""
    from agentguard.keys import key_id_of

    ident = key_id_of(key_id) or key_id
    db = _store(store)
    if not _guarded(lambda: control.revoke_key(db, ident)):
        raise _fail(f"no active key with id {ident!r}", EXIT_FAILED)
    out.print(f"revoked key {ident}")


# ------------------------------------------------------------------------- audit


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return SystemClock().now() - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(
            f"--since {value!r}: give a duration (2h, 1d) or an ISO time (2026-03-15T14:00:00Z)",
            EXIT_USAGE,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _print_records(records: list[AuditRecord], as_json: bool) -> None:
    if as_json:
        for record in records:
            sys.stdout.write(json.dumps(record.data, ensure_ascii=False) + "\n")
        return
    table = Table()
    for column in ("seq", "time (UTC)", "agent", "action", "decision", "status", "reason"):
        table.add_column(column, overflow="fold")
    for record in records:
        data = record.data
        reasons = data.get("reasons") or []
        last = reasons[-1]["code"] if reasons else (data.get("metadata") or {}).get("reason", "")
        table.add_row(
            str(record.seq),
            str(data.get("timestamp", ""))[:23].replace("T", " "),
            str(data.get("agent_id") or ""),
            str(data.get("action") or ""),
            str(data.get("decision") or ""),
            str(data.get("status") or ""),
            str(last),
        )
    out.print(table)


@audit_app.command("tail")
def audit_tail(
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many records.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Show the newest records."""
    db = _store(store)
    records = _guarded(lambda: list(db.search(AuditQuery(limit=lines, newest_first=True))))
    _print_records(list(reversed(records)), as_json)


@audit_app.command("search")
def audit_search(
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent.")] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="Only this tool (action).")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="A duration back (2h) or an ISO time.")
    ] = None,
    decision: Annotated[
        str | None, typer.Option("--decision", help="allow, deny, or a control verb.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Find records by agent, tool, time and decision."""
    query = AuditQuery(agent=agent, tool=tool, decision=decision, since=_since(since), limit=limit)
    db = _store(store)
    _print_records(_guarded(lambda: list(db.search(query))), as_json)


@audit_app.command("export")
def audit_export(
    fmt: Annotated[str, typer.Option("--format", help="Export format (jsonl).")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Export every record, hashes included, so the chain can be checked elsewhere."""
    if fmt != "jsonl":
        raise _fail(f"unknown format {fmt!r}; supported: jsonl", EXIT_USAGE)
    db = _store(store)

    def write(stream: Any) -> int:
        count = 0
        for record in db.search(AuditQuery()):
            stream.write(json.dumps(record.data, ensure_ascii=False) + "\n")
            count += 1
        return count

    if output is None:
        _guarded(lambda: write(sys.stdout))
    else:
        with output.open("w", encoding="utf-8") as stream:
            count = _guarded(lambda: write(stream))
        err.print(f"exported {count} records to {output}")


@audit_app.command("verify")
def audit_verify(store: StoreOpt = DEFAULT_URL) -> None:
    """Check the hash chain; exit 1 naming the first broken record."""
    db = _store(store)
    result = _guarded(db.verify)
    if result.ok:
        out.print(f"audit log OK: {result.checked} records, hash chain intact")
        return
    err.print(
        f"audit log BROKEN at record {result.bad_seq}: {result.problem} "
        f"({result.checked} records before it are intact)"
    )
    raise typer.Exit(EXIT_FAILED)


# ------------------------------------------------------------------ kill switch


def _scope(agent: str | None, tool: str | None, everything: bool) -> Any:
    try:
        return control.scope_of(agent=agent, tool=tool, everything=everything)
    except ValueError as exc:
        raise _fail(f"{exc}", EXIT_USAGE) from None


@app.command()
def kill(
    agent: Annotated[str | None, typer.Option("--agent", help="Stop this agent.")] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="Stop this tool for everyone.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Stop every agent.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")] = "",
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Stop an agent, a tool, or everything, from the next action of every process."""
    if not reason.strip():
        raise _fail("--reason is required: say why, for the audit log", EXIT_USAGE)
    scope, target = _scope(agent, tool, everything)
    db = _store(store)
    entry = _guarded(lambda: control.kill(db, scope, target, reason=reason, by=_operator()))
    out.print(f"stopped {entry.describe()}")


@app.command()
def resume(
    agent: Annotated[str | None, typer.Option("--agent", help="Resume this agent.")] = None,
    tool: Annotated[str | None, typer.Option("--tool", help="Resume this tool.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Lift the stop-everything switch.")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (for the audit log).")] = "resumed",
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Lift a kill switch."""
    scope, target = _scope(agent, tool, everything)
    db = _store(store)
    if not _guarded(lambda: control.resume(db, scope, target, reason=reason, by=_operator())):
        raise _fail(f"no kill switch is set for {scope} {target!r}", EXIT_FAILED)
    out.print(f"resumed {scope} {target}")


def _operator() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


# -------------------------------------------------------------------------- demo


@app.command()
def demo(
    store: Annotated[
        str | None,
        typer.Option(
            "--store", "-s", help="Store URL; default: a fresh SQLite file in a new folder."
        ),
    ] = None,
) -> None:
    """Run a scripted agent against the starter policy, then print the audit trail."""
    from agentguard.demo import run_demo

    raise typer.Exit(_guarded(lambda: run_demo(out, store)))


app.command("scan")(scan_command)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
