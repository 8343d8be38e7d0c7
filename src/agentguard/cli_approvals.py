"""``agentguard approvals list|show|approve|reject``: people deciding held actions.

Listing and showing need no key (they show what the audit log shows: arguments redacted).
Approving and rejecting need an approver key (``agentguard keys create --approver NAME``)
given as ``--key`` or ``AGENTGUARD_KEY``: the person is whoever the key belongs to, limited
by the policy's ``approvers:``; an agent's key is refused. ``--edit FIELD=VALUE`` replaces a
top-level argument (VALUE is read as JSON when it parses — ``500``, ``true``,
``{"a": 1}`` — and as text otherwise); the edit is shown as a diff and audited.

Exit codes: 0 done, 1 refused (not an approver, not allowed for this tool or tier, your own
request, already decided, past its deadline), 2 usage, 3 store unavailable.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from agentguard.cli_common import DEFAULT_POLICY, PolicyOpt, StoreOpt
from agentguard.store import DEFAULT_URL

approvals_app = typer.Typer(
    help="List, show, approve and reject actions waiting for people.", no_args_is_help=True
)

KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        envvar="AGENTGUARD_KEY",
        help="Your approver key (agp_…); or set AGENTGUARD_KEY.",
        show_default=False,
    ),
]


def _queue(policy: Any, store: str) -> Any:
    """A guard's approval queue for the policy and an existing store (closed at exit)."""
    import atexit

    from agentguard.cli_common import _existing_store, _guarded, _policy
    from agentguard.guard import Guard

    loaded = _policy(policy)
    db = _existing_store(store)
    guard = _guarded(lambda: Guard(loaded, db))
    atexit.register(guard.close)
    return guard.approvals


def _decided(fn: Any) -> Any:
    """Run a decision; refusals (exit 1) are told apart from usage errors (exit 2)."""
    from agentguard.approval import ApprovalError
    from agentguard.cli_common import EXIT_FAILED, EXIT_USAGE, _fail, _guarded
    from agentguard.errors import AgentGuardError, ApprovalRefused, StoreUnavailable

    def run() -> Any:
        try:
            return fn()
        except StoreUnavailable:
            raise
        except (ApprovalError, ApprovalRefused) as exc:
            raise _fail(str(exc), EXIT_FAILED) from None
        except AgentGuardError as exc:
            code = EXIT_FAILED if exc.code.startswith("approval.") else EXIT_USAGE
            raise _fail(str(exc), code) from None
        except ValueError as exc:
            raise _fail(str(exc), EXIT_USAGE) from None

    return _guarded(run)


def _row(item: Any) -> dict[str, Any]:
    def iso(moment: Any) -> str | None:
        return None if moment is None else moment.isoformat().replace("+00:00", "Z")

    return {
        "id": item.id,
        "agent": item.agent,
        "tool": item.tool,
        "state": str(item.state),
        "deadline": iso(item.deadline),
        "tier": item.tier,
        "requested_at": iso(item.requested_at),
        "required": item.required,
        "approvers": list(item.approvers),
        "rejected_by": item.rejected_by,
    }


@approvals_app.command("list")
def approvals_list(
    state: Annotated[
        str | None,
        typer.Option("--state", help="pending, escalated, approved, rejected, expired, executed …"),
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's.")] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Decided ones too (default: waiting for people).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Requests, oldest first: by default those waiting for people (pending, escalated)."""
    from agentguard.approval import AWAITING, ApprovalState
    from agentguard.cli_common import EXIT_USAGE, _fail, out
    from agentguard.cli_table import ColumnKind, print_table

    if state is not None and state not in {s.value for s in ApprovalState}:
        raise _fail(f"--state is one of {', '.join(s.value for s in ApprovalState)}", EXIT_USAGE)
    queue = _queue(policy, store)
    items = _decided(lambda: queue.list(state, agent))
    if state is None and not everything:
        items = [i for i in items if i.state in AWAITING]
    rows = [_row(i) for i in items]
    if as_json:
        for row in rows:
            out.print(json.dumps(row, sort_keys=True), markup=False, soft_wrap=True)
        return
    if not rows:
        out.print("no approval requests", markup=False)
        return
    columns: list[tuple[str, ColumnKind]] = [
        ("id", "id"),
        ("agent", "id"),
        ("tool", "id"),
        ("tier", "id"),
        ("state", "id"),
        ("deadline", "id"),
        ("approvals", "id"),
    ]
    table = [
        [r["id"], r["agent"], r["tool"], r["tier"], r["state"], r["deadline"] or "",
         f"{len(r['approvers'])}/{r['required']}"]
        for r in rows
    ]  # fmt: skip
    print_table(out, columns, table)


@approvals_app.command("show")
def approvals_show(
    approval_id: Annotated[str, typer.Argument(help="The request's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="As one JSON object.")] = False,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """One request: the action (arguments redacted as in the audit log), why it was
    held, its deadline, who approved, and any edit."""
    from agentguard import journal
    from agentguard.cli_common import out

    queue = _queue(policy, store)
    item = _decided(lambda: queue.get(approval_id))
    row = _row(item)
    summary = json.loads(item.summary or "{}")
    row["action"] = {k: summary.get(k) for k in ("input", "session", "subject", "mode")}
    row["reasons"] = summary.get("reasons", [])
    row["edit"] = journal.loads(item.edited_arguments) if item.edited_arguments else None
    row["comment"] = item.comment
    if as_json:
        out.print(json.dumps(row, sort_keys=True, default=str), markup=False, soft_wrap=True)
        return
    lines = [
        f"approval {row['id']}: {row['state']}",
        f"  agent {row['agent']} calls {row['tool']} (risk tier {row['tier']})",
        f"  requested {row['requested_at']}, deadline {row['deadline'] or 'none'}",
        f"  approvals {len(row['approvers'])} of {row['required']}"
        + (f" ({', '.join(row['approvers'])})" if row["approvers"] else ""),
    ]
    for reason in row["reasons"]:
        lines.append(f"  held: {reason.get('code')}: {reason.get('message')}")
    lines.append("  arguments (redacted):")
    for name, value in (row["action"]["input"] or {}).items():
        lines.append(f"    {name}: {json.dumps(value, default=str)}")
    if row["edit"]:
        lines.append("  edited by the approver:")
        shown = row["action"]["input"] or {}
        for name, value in row["edit"].items():
            before = json.dumps(shown.get(name), default=str)
            lines.append(f"    - {name}: {before}")
            lines.append(f"    + {name}: {json.dumps(value, default=str)}")
    if row["rejected_by"]:
        lines.append(f"  rejected by {row['rejected_by']}")
    if row["comment"]:
        lines.append(f"  comment: {row['comment']}")
    for line in lines:
        out.print(line, markup=False)


def _edits(pairs: list[str]) -> dict[str, Any]:
    from agentguard.cli_common import EXIT_USAGE, _fail

    edits: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip() or "." in name:
            raise _fail(
                f"--edit takes FIELD=VALUE with a top-level argument name, not {name!r}",
                EXIT_USAGE,
            )
        try:
            edits[name.strip()] = json.loads(text)
        except ValueError:
            edits[name.strip()] = text
    return edits


@approvals_app.command("approve")
def approvals_approve(
    approval_id: Annotated[str, typer.Argument(help="The request's id.")],
    edit: Annotated[
        list[str] | None,
        typer.Option("--edit", help="FIELD=VALUE: replace an argument (repeatable)."),
    ] = None,
    comment: Annotated[str | None, typer.Option("--comment", help="Recorded with it.")] = None,
    key: KeyOpt = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Approve a request (with your approver key); it runs once in the agent's process."""
    from agentguard.cli_common import EXIT_USAGE, _fail, out

    if not key:
        raise _fail("approving needs your approver key: --key or AGENTGUARD_KEY", EXIT_USAGE)
    edits = _edits(edit or [])
    queue = _queue(policy, store)
    item = _decided(lambda: queue.approve(approval_id, key=key, edit=edits, comment=comment))
    if str(item.state) == "approved":
        out.print(f"approved {item.id}: {item.tool} of {item.agent} will run once", markup=False)
    else:
        out.print(
            f"recorded your approval of {item.id}: {len(item.approvers)} of {item.required}; "
            "another person must approve",
            markup=False,
        )


@approvals_app.command("reject")
def approvals_reject(
    approval_id: Annotated[str, typer.Argument(help="The request's id.")],
    comment: Annotated[
        str | None, typer.Option("--comment", help="Why (told to the agent, recorded).")
    ] = None,
    key: KeyOpt = None,
    policy: PolicyOpt = DEFAULT_POLICY,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Reject a request (with your approver key): it never runs."""
    from agentguard.cli_common import EXIT_USAGE, _fail, out

    if not key:
        raise _fail("rejecting needs your approver key: --key or AGENTGUARD_KEY", EXIT_USAGE)
    queue = _queue(policy, store)
    item = _decided(lambda: queue.reject(approval_id, key=key, comment=comment))
    out.print(f"rejected {item.id}: {item.tool} of {item.agent} will not run", markup=False)
