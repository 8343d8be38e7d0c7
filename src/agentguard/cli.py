"""The ``agentguard`` command.

Exit codes: 0 success; 1 the check failed (``audit verify`` found tampering, ``check``
found a problem); 2 bad usage or an invalid policy; 3 the store is unavailable.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from agentguard import control
from agentguard.cli_approvals import approvals_app
from agentguard.cli_audit import audit_app
from agentguard.cli_common import (
    DEFAULT_POLICY,
    EXIT_FAILED,
    EXIT_STORE,
    EXIT_USAGE,
    PolicyOpt,
    StoreOpt,
    _existing_store,
    _fail,
    _guarded,
    _operator,
    _os_error,
    _policy,
    _sqlite_path,
    _store,
    err,
    out,
)
from agentguard.cli_incident import incident_app
from agentguard.cli_mcp import mcp_app, mcp_proxy
from agentguard.cli_rollback import rollback as rollback_command
from agentguard.cli_scan import scan as scan_command
from agentguard.cli_serve import serve as serve_command
from agentguard.cli_status import metrics as metrics_command
from agentguard.cli_status import status as status_command
from agentguard.cli_table import ColumnKind, print_table
from agentguard.clock import SystemClock
from agentguard.errors import AgentGuardError, StoreUnavailable
from agentguard.policy import policy_json_schema
from agentguard.policy.units import parse_duration
from agentguard.store import DEFAULT_URL
from agentguard.store.base import KEY_KINDS, KeyKind

app = typer.Typer(
    name="agentguard",
    help="Policy enforcement for AI agents: check policies, manage keys, read the audit log, "
    "stop agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create, list and revoke scoped API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

# ------------------------------------------------------------------------- policy


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the policy.")] = DEFAULT_POLICY,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Write a starter policy modelled on an email agent and a financial agent, and create
    the store if it does not exist yet. An existing policy is kept unless --force is given;
    an existing store is always kept."""
    if path.is_dir():
        raise _fail(
            f"{str(path)!r} is a folder; give the policy file's name, such as "
            f"{path / DEFAULT_POLICY}",
            EXIT_USAGE,
        )
    where = _sqlite_path(store)
    make_store = where is not None and not where.exists()
    write_policy = force or not path.exists()
    if not write_policy and not make_store:
        raise _fail(f"{path} exists; pass --force to overwrite it", EXIT_USAGE)
    if write_policy and not path.parent.is_dir():
        raise _fail(f"cannot write {str(path)!r}: its folder does not exist", EXIT_USAGE)
    if make_store:
        _store(store).close()
    if write_policy:
        try:
            path.write_text(starter_policy_text(), encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {str(path)!r}: {exc.strerror or exc}", EXIT_USAGE) from None
        out.print(f"wrote {path}; check it with: agentguard check --policy {path}", markup=False)
    else:
        out.print(f"kept the existing {path} (--force overwrites it)", markup=False)
    if make_store:
        out.print(f"created the store {store}", markup=False)


def starter_policy_text() -> str:
    return resources.files("agentguard.policy").joinpath("starter.yaml").read_text("utf-8")


@app.command()
def check(
    policy: PolicyOpt = DEFAULT_POLICY,
    load_plugins: Annotated[
        bool,
        typer.Option(
            "--load-plugins",
            help="Import the custom detectors and quality check functions the policy names "
            "(this runs their code); by default they are checked by name only.",
        ),
    ] = False,
) -> None:
    """Validate a policy and print what each agent may do with each tool.

    The policy's own Python code is not run unless --load-plugins is given.
    """
    loaded = _policy(policy, load_plugins=load_plugins)
    model = loaded.model
    rows = []
    for agent_name, agent in sorted(model.agents.items()):
        for tool_name in sorted(model.tools):
            plan = loaded.plan(agent_name, tool_name)
            if plan is None:
                continue
            rows.append(
                (
                    agent_name + ("" if agent.enabled else " (disabled)"),
                    tool_name,
                    str(model.tools[tool_name].risk),
                    _describe_plan(plan),
                    _describe_content(loaded, tool_name),
                )
            )
    # Names are never cut; cells are plain text (a condition such as `args.note != '[/b]'`
    # is not rich markup).
    columns: list[tuple[str, ColumnKind]] = [
        ("agent", "id"), ("tool", "id"), ("risk", "id"), ("decision", "text"),
        ("content checks", "text"),
    ]  # fmt: skip
    print_table(out, columns, rows, title=f"{policy}: agents × tools")
    unused = sorted(t for t in model.tools if not any(loaded.plan(a, t) for a in model.agents))
    out.print(
        f"policy OK: {len(model.agents)} agents, {len(model.roles)} roles, "
        f"{len(model.tools)} tools; anything not listed is denied"
    )
    if unused:
        out.print(f"tools no agent may use: {', '.join(unused)}", markup=False)
    for plugin in loaded.unloaded:
        out.print(
            f"{plugin.kind} {plugin.name!r} ({plugin.target}): not loaded "
            "(use --load-plugins to import)",
            markup=False,
        )


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
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="The agent the key acts as.")
    ] = None,
    approver: Annotated[
        str | None,
        typer.Option(
            "--approver", help="A person under the policy's approvers: (a key that approves)."
        ),
    ] = None,
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
    """Create an API key and print it once. Only its hash is stored.

    Without --tools the key may use all of the agent's tools. An empty --tools or --expires
    (an unset shell variable) is an error, never "all tools" or "never expires". With
    --approver it is a person's key (agp_…) for approving held actions: never an agent's.
    """
    if (agent is None) == (approver is None):
        raise _fail("name either the agent (--agent) or the person (--approver)", EXIT_USAGE)
    loaded = _policy(policy)
    if approver is not None:
        if approver not in (loaded.model.approvers or {}):
            raise _fail(f"{approver!r} is not under approvers: in {policy}", EXIT_USAGE)
        if tools is not None:
            raise _fail(
                "an approver key has no --tools: approvers: in the policy says what each "
                "person may approve",
                EXIT_USAGE,
            )
    elif agent not in loaded.model.agents:
        raise _fail(f"agent {agent!r} is not defined in {policy}", EXIT_USAGE)
    kind: KeyKind = "approver" if approver is not None else "agent"
    owner = approver if approver is not None else agent
    assert owner is not None
    try:
        lifetime = parse_duration(expires) if expires is not None else None
    except ValueError as exc:
        raise _fail(f"--expires: {exc}", EXIT_USAGE) from None
    except OverflowError:
        lifetime = timedelta.max
    latest = datetime.max.replace(tzinfo=UTC) - SystemClock().now()
    if lifetime is not None and lifetime >= latest:
        raise _fail(
            f"--expires {expires}: the key would expire after the year 9999; give a shorter "
            "lifetime, or leave --expires out for a key that never expires",
            EXIT_USAGE,
        )
    scope = [t.strip() for t in tools.split(",") if t.strip()] if tools is not None else None
    if scope is not None:
        if not scope:
            raise _fail(
                "--tools names no tool: give the tools the key may use, separated by commas, "
                "or leave --tools out for all of the agent's tools",
                EXIT_USAGE,
            )
        outside = [t for t in scope if not loaded.may_use(owner, t)]
        if outside:
            raise _fail(
                f"agent {agent!r} may not use {', '.join(outside)}; a key can only narrow "
                "an agent's tools, never widen them",
                EXIT_USAGE,
            )
    db = _existing_store(store)
    key, record = _guarded(
        lambda: control.issue_key(
            db, owner, expires_in=lifetime, tools=scope, label=label, kind=kind
        )
    )
    err.print(
        f"created key {record.key_id} for {kind} {owner!r}"
        + (f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else "")
        + (f", tools: {', '.join(sorted(record.tools))}" if record.tools else "")
        + ". It is shown once; store it now:",
        markup=False,
    )
    sys.stdout.write(key + "\n")


@keys_app.command("list")
def keys_list(store: StoreOpt = DEFAULT_URL) -> None:
    """List keys (ids, agents, scopes, states), never the keys themselves."""
    db = _existing_store(store)
    now = SystemClock().now()
    rows = [
        (
            record.key_id,
            kind,
            record.agent,
            ", ".join(sorted(record.tools))
            if record.tools is not None
            else ("(all of the agent's)" if kind == "agent" else "(as approvers: says)"),
            record.state(now),
            f"{record.created_at:%Y-%m-%d %H:%M}",
            f"{record.expires_at:%Y-%m-%d %H:%M}" if record.expires_at else "never",
            record.label or "",
        )
        for kind in KEY_KINDS
        for record in _guarded(lambda kind=kind: db.list_keys(kind=kind))
    ]
    columns: list[tuple[str, ColumnKind]] = [
        ("key id", "id"),
        ("kind", "id"),
        ("for", "id"),
        ("tools", "words"),
        ("state", "id"),
        ("created", "words"),
        ("expires", "words"),
        ("label", "text"),
    ]
    print_table(out, columns, rows)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (shown by keys list), or the key.")],
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Revoke a key: it is refused from the next call on."""
    from agentguard.keys import key_id_of

    ident = key_id_of(key_id) or key_id
    db = _existing_store(store)
    if not _guarded(lambda: control.revoke_key(db, ident)):
        raise _fail(f"no active key with id {ident!r}", EXIT_FAILED)
    out.print(f"revoked key {ident}", markup=False)


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
    db = _existing_store(store)
    entry = _guarded(lambda: control.kill(db, scope, target, reason=reason, by=_operator()))
    out.print(f"stopped {entry.describe()}", markup=False)


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
    db = _existing_store(store)
    if not _guarded(lambda: control.resume(db, scope, target, reason=reason, by=_operator())):
        raise _fail(f"no kill switch is set for {scope} {target!r}", EXIT_FAILED)
    out.print(f"resumed {scope} {target}", markup=False)


@app.command()
def signal(
    name: Annotated[str, typer.Argument(help="The signal, as alert rules name it: signal NAME.")],
    agent: Annotated[
        str | None, typer.Option("--agent", help="The agent it is about (defined in the policy).")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="The customer or resource (recorded as a keyed tag)."),
    ] = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Report an external signal (a customer complaint …) to the policy's `signal NAME`
    alert rules; it is recorded in the audit log, and notifications are delivered before
    the command returns."""
    from agentguard.guard import Guard

    loaded = _policy(policy)
    db = _existing_store(store)

    def report() -> list[str]:
        guard = Guard(loaded, db)
        try:
            return guard.signal(name, agent=agent, subject=subject, by=_operator())
        finally:
            guard.close()  # delivers what the rules notified (up to 10 s)

    try:
        done = _guarded(report)
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    out.print(f"signal {name} recorded", markup=False)
    for line in done or ["no alert rule listens for it"]:
        out.print(f"  {line}", markup=False)


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

app.command("serve")(serve_command)
app.command("status")(status_command)
app.command("metrics")(metrics_command)
app.add_typer(incident_app, name="incident")
app.command("rollback")(rollback_command)
app.add_typer(approvals_app, name="approvals")
app.add_typer(mcp_app, name="mcp")
app.command("mcp-proxy")(mcp_proxy)


def main() -> None:
    """Console entry point. Whatever a command did not turn into a message itself, an
    agentguard or OS error still ends as one line and exit code 2 (3 for the store), never
    a traceback."""
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None
    except AgentGuardError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise _fail(_os_error(exc), EXIT_USAGE) from None
