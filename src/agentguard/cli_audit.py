"""``agentguard audit``: read, search, export and verify the audit log; sign checkpoints of
its head (Ed25519 keys kept outside the store)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from agentguard.audit import AuditRecord
from agentguard.cli_common import (
    EXIT_FAILED,
    EXIT_USAGE,
    StoreOpt,
    _existing_store,
    _fail,
    _guarded,
    _os_error,
    err,
    out,
)
from agentguard.cli_table import ColumnKind, print_table
from agentguard.clock import SystemClock
from agentguard.policy.units import parse_duration
from agentguard.store import DEFAULT_URL, AuditQuery, Store

audit_app = typer.Typer(
    help="Read, search, export and verify the audit log; sign checkpoints of its head.",
    no_args_is_help=True,
)


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
    _warn_interrupted(db)
    if not result.ok or (report is not None and not report.ok):
        raise typer.Exit(EXIT_FAILED)


def _warn_interrupted(db: Store) -> None:
    """Name actions whose tool was cleared to run but whose record never came: a call still
    running, or a process that stopped mid-call (its tool may have run unrecorded)."""
    stuck = _guarded(db.interrupted)
    if not stuck:
        return
    err.print(
        f"warning: {len(stuck)} action(s) were cleared to run but have no record yet (a "
        "call still running, or a process that stopped mid-call, whose tool may have run):",
        markup=False,
    )
    for action_id, at, agent, tool in stuck[:20]:
        err.print(f"  {at:%Y-%m-%d %H:%M:%S} UTC  {agent or '-'}  {tool}  action {action_id}",
                  markup=False)  # fmt: skip
    if len(stuck) > 20:
        err.print(f"  … and {len(stuck) - 20} more", markup=False)


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
