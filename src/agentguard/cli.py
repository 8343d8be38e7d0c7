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
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape

from agentguard import control
from agentguard.audit import AuditRecord
from agentguard.cli_scan import scan as scan_command
from agentguard.cli_table import ColumnKind, print_table, unbounded_when_piped
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
audit_app = typer.Typer(
    help="Read, search, export and verify the audit log; sign checkpoints of its head.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")

out = unbounded_when_piped(Console(highlight=False, soft_wrap=True))
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
    err.print(f"[red]error:[/red] {escape(message)}", markup=True)
    return typer.Exit(code)


def _policy(path: Path, *, load_plugins: bool = True) -> LoadedPolicy:
    try:
        return load_policy(path, load_plugins=load_plugins)
    except PolicyError as exc:
        for problem in exc.problems:
            err.print(problem, markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def _store(url: str) -> Store:
    try:
        return open_store(url)
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None


def _existing_store(url: str) -> Store:
    """Open a store that must exist already. Commands that read or change state never create
    one: a mistyped ``--store`` would otherwise verify, list or kill in a new, empty store
    and report success."""
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise _fail(
            f"no store at {str(path)!r}: the file does not exist (--store {url}). Check "
            "--store or AGENTGUARD_STORE; a new store is created by `agentguard init` or by "
            "the guard on its first call",
            EXIT_STORE,
        )
    return _store(url)


def _sqlite_path(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (as :func:`open_store` reads it), else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite" or parts.netloc:
        return None  # not a file, or a malformed URL that open_store explains
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    return Path(path) if path else None


def _guarded(fn: Any) -> Any:
    """Run a command body, turning store failures into exit code 3 and other agentguard
    and OS errors into exit code 2, each with a one-line message."""
    try:
        return fn()
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None
    except AgentGuardError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise _fail(_os_error(exc), EXIT_USAGE) from None


def _os_error(exc: OSError) -> str:
    what = exc.strerror or type(exc).__name__
    return f"{exc.filename}: {what}" if exc.filename else what


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
    """Create an API key and print it once. Only its hash is stored.

    Without --tools the key may use all of the agent's tools. An empty --tools or --expires
    (an unset shell variable) is an error, never "all tools" or "never expires".
    """
    loaded = _policy(policy)
    if agent not in loaded.model.agents:
        raise _fail(f"agent {agent!r} is not defined in {policy}", EXIT_USAGE)
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
        outside = [t for t in scope if not loaded.may_use(agent, t)]
        if outside:
            raise _fail(
                f"agent {agent!r} may not use {', '.join(outside)}; a key can only narrow "
                "an agent's tools, never widen them",
                EXIT_USAGE,
            )
    db = _existing_store(store)
    key, record = _guarded(
        lambda: control.issue_key(db, agent, expires_in=lifetime, tools=scope, label=label)
    )
    err.print(
        f"created key {record.key_id} for agent {agent!r}"
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
    records = _guarded(db.list_keys)
    now = SystemClock().now()
    rows = [
        (
            record.key_id,
            record.agent,
            ", ".join(sorted(record.tools)) if record.tools is not None else "(all of the agent's)",
            record.state(now),
            f"{record.created_at:%Y-%m-%d %H:%M}",
            f"{record.expires_at:%Y-%m-%d %H:%M}" if record.expires_at else "never",
            record.label or "",
        )
        for record in records
    ]
    columns: list[tuple[str, ColumnKind]] = [
        ("key id", "id"),
        ("agent", "id"),
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


# ------------------------------------------------------------------------- audit


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        span = parse_duration(value)
    except ValueError:
        span = None
    except OverflowError:
        span = timedelta.max
    if span is not None:
        try:
            return SystemClock().now() - span
        except OverflowError:
            raise _fail(
                f"--since {value}: that is before the year 1; give a shorter duration",
                EXIT_USAGE,
            ) from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(
            f"--since {value!r}: give a duration (2h, 1d) or an ISO time (2026-03-15T14:00:00Z)",
            EXIT_USAGE,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _record_data(record: AuditRecord) -> dict[str, Any]:
    """The record as a dict; a body that is not a JSON object (it was altered) is kept as
    text rather than stopping the listing."""
    try:
        return record.data
    except (ValueError, TypeError):
        return {
            "seq": record.seq,
            "prev_hash": record.prev_hash,
            "hash": record.hash,
            "body": record.body,
            "status": "(the record is not a JSON object: run audit verify)",
        }


def _print_records(records: list[AuditRecord], as_json: bool) -> None:
    if as_json:
        for record in records:
            sys.stdout.write(json.dumps(_record_data(record), ensure_ascii=False) + "\n")
        return
    rows = []
    for record in records:
        data = _record_data(record)
        reasons = data.get("reasons") or []
        last = reasons[-1]["code"] if reasons else (data.get("metadata") or {}).get("reason", "")
        rows.append(
            (
                str(record.seq),
                str(data.get("timestamp", ""))[:23].replace("T", " "),
                str(data.get("agent_id") or ""),
                str(data.get("action") or ""),
                str(data.get("decision") or ""),
                str(data.get("status") or ""),
                str(last),
            )
        )
    columns: list[tuple[str, ColumnKind]] = [
        ("seq", "id"),
        ("time (UTC)", "words"),
        ("agent", "id"),
        ("action", "id"),
        ("decision", "id"),
        ("status", "words"),
        ("reason", "text"),
    ]
    print_table(out, columns, rows)


@audit_app.command("tail")
def audit_tail(
    lines: Annotated[int, typer.Option("--lines", "-n", min=0, help="How many records.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Show the newest records."""
    db = _existing_store(store)
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
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="At most this many.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON record per line.")] = False,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Find records by agent, tool, time and decision."""
    query = AuditQuery(agent=agent, tool=tool, decision=decision, since=_since(since), limit=limit)
    db = _existing_store(store)
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
    db = _existing_store(store)

    def write(stream: Any) -> int:
        count = 0
        for record in db.search(AuditQuery()):
            stream.write(json.dumps(_record_data(record), ensure_ascii=False) + "\n")
            count += 1
        return count

    if output is None:
        _guarded(lambda: write(sys.stdout))
        return
    try:
        stream = output.open("w", encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {str(output)!r}: {exc.strerror or exc}", EXIT_USAGE) from None
    with stream:
        count = _guarded(lambda: write(stream))
    err.print(f"exported {count} records to {output}", markup=False)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A file of signed checkpoints (from audit checkpoint); the log must still "
            "reach every one.",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="The checkpoints' public key (PEM, from audit keygen)."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Instead of --public-key: the private key file."),
    ] = None,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Check the hash chain and the index columns beside it; with --checkpoint, also that
    the log still reaches each signed checkpoint (records deleted from its end show only
    there). Exit 1 naming the first broken record, or each checkpoint the log fails."""
    from agentguard.checkpoint import CheckpointReport, load_public_key, verify_checkpoints

    if checkpoint is None and (public_key is not None or key is not None):
        raise _fail("--public-key and --key are for checking a --checkpoint file", EXIT_USAGE)
    lines: list[str] = []
    if checkpoint is not None:
        source = public_key if public_key is not None else key
        if source is None:
            raise _fail(
                "--checkpoint needs the key that signed it: --public-key FILE (printed by "
                "audit keygen and audit public-key), or --key FILE",
                EXIT_USAGE,
            )
        signer_key = _guarded(lambda: load_public_key(source))
        try:
            lines = checkpoint.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _fail(f"cannot read the checkpoint file: {_os_error(exc)}", EXIT_USAGE) from None
        except ValueError:
            raise _fail(
                f"{str(checkpoint)!r} is not a checkpoint file (not text)", EXIT_USAGE
            ) from None
    db = _existing_store(store)
    result = _guarded(db.verify)
    report: CheckpointReport | None = None
    if checkpoint is not None:
        report = _guarded(lambda: verify_checkpoints(lines, db.search(AuditQuery()), signer_key))
    if result.ok and (report is None or report.ok):
        out.print(f"audit log OK: {result.checked} records, hash chain intact")
    elif result.ok:
        err.print(
            f"audit log FAILS its checkpoints: its {result.checked} records form an intact "
            "hash chain, but"
        )
    else:
        err.print(
            f"audit log BROKEN at record {result.bad_seq}: {result.problem} "
            f"({result.checked} records before it are intact)",
            markup=False,
        )
    if report is None:
        if result.ok:
            err.print(
                "note: records deleted from the end of the log show only against a signed "
                "checkpoint (audit checkpoint, then audit verify --checkpoint)"
            )
    elif report.ok:
        plural = "s" if report.checked != 1 else ""
        out.print(
            f"checkpoints OK: the log reaches the {report.checked} signed checkpoint{plural} "
            f"in {checkpoint} (the newest at record {report.newest})",
            markup=False,
        )
    else:
        for problem in report.problems:
            err.print(f"checkpoint FAILED: {problem}", markup=False)
    if not result.ok or (report is not None and not report.ok):
        raise typer.Exit(EXIT_FAILED)


KeyFileOpt = Annotated[
    Path, typer.Option("--key", help="The Ed25519 private key file that signs checkpoints.")
]


@audit_app.command("checkpoint")
def audit_checkpoint(
    key: KeyFileOpt,
    to: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="The checkpoint file to append to (JSON lines), or an http(s) URL to POST to.",
        ),
    ],
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Sign the log's head (its newest record) and append it to a checkpoint file.

    Keep the file and the key where whoever can write the store cannot; `audit verify
    --checkpoint FILE` then fails when records were deleted from the end of the log. The
    chain is verified first: a broken log is not signed.
    """
    from agentguard.checkpoint import Signer, log_identity
    from agentguard.checkpointer import open_sink

    signer = _guarded(lambda: Signer.from_file(key))
    sink = _guarded(lambda: open_sink(to))
    db = _existing_store(store)
    result = _guarded(db.verify)
    if not result.ok:
        raise _fail(
            f"audit log BROKEN at record {result.bad_seq}: {result.problem}; a broken log is "
            "not signed",
            EXIT_FAILED,
        )
    head = _guarded(lambda: next(iter(db.search(AuditQuery(limit=1, newest_first=True))), None))
    if head is None:
        out.print("the audit log is empty: no checkpoint written")
        return
    log = _guarded(lambda: log_identity(db)) or head.hash
    signed = signer.sign(log=log, seq=head.seq, hash=head.hash, time=SystemClock().now())
    _guarded(lambda: sink.write(signed))
    out.print(
        f"checkpoint of record {signed.seq} (hash {signed.hash[:16]}…) signed with key "
        f"{signed.key}, appended to {sink.where}",
        markup=False,
    )


@audit_app.command("keygen")
def audit_keygen(
    key: Annotated[
        Path,
        typer.Option(
            "--key", help="Where to write the private key (mode 0600, never overwritten)."
        ),
    ],
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Also write the public key here.")
    ] = None,
) -> None:
    """Make an Ed25519 key for signing checkpoints; print its public key (PEM).

    Keep the private key outside the store, off its machine if you can: whoever holds it can
    sign checkpoints. Give the public key to whoever runs audit verify --checkpoint.
    """
    from agentguard.checkpoint import generate_key, key_id, public_pem

    if public_key is not None and public_key.exists():
        raise _fail(f"{public_key} exists; it is not overwritten", EXIT_USAGE)
    public = _guarded(lambda: generate_key(key))
    pem = public_pem(public)
    if public_key is not None:
        try:
            public_key.write_text(pem, encoding="ascii")
        except OSError as exc:
            raise _fail(f"cannot write the public key: {_os_error(exc)}", EXIT_USAGE) from None
    err.print(
        f"wrote the private key {key} (mode 0600), key id {key_id(public)}. Its public key:",
        markup=False,
    )
    sys.stdout.write(pem)


@audit_app.command("public-key")
def audit_public_key(key: KeyFileOpt) -> None:
    """Print the public key (PEM) of a checkpoint signing key, for audit verify --public-key."""
    from agentguard.checkpoint import Signer, public_pem

    signer = _guarded(lambda: Signer.from_file(key))
    err.print(f"key id {signer.key_id}", markup=False)
    sys.stdout.write(public_pem(signer.public_key))


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

# `agentguard status` and `agentguard metrics` (cli_status.py takes this module's helpers
# when it runs, so it is imported here, once they exist)
from agentguard.cli_incident import incident_app  # noqa: E402
from agentguard.cli_status import metrics as metrics_command  # noqa: E402
from agentguard.cli_status import status as status_command  # noqa: E402

app.command("status")(status_command)
app.command("metrics")(metrics_command)
app.add_typer(incident_app, name="incident")


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
