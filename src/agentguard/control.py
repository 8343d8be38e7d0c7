"""Operator controls that act on a store directly: the kill switch and API key management.

They need no policy, so they work even while the policy file is broken. Every change is
recorded in the audit log as a ``control`` record.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from agentguard.audit import AuditEntry
from agentguard.clock import Clock, SystemClock
from agentguard.detect.redact import tag as keyed_tag
from agentguard.keys import create_key
from agentguard.pipeline import SignalReport
from agentguard.store.base import KEY_KINDS, KeyKind, KeyRecord, Kill, KillScope, Store


def scope_of(*, agent: str | None, tool: str | None, everything: bool) -> tuple[KillScope, str]:
    """Turn ``--agent`` / ``--tool`` / ``--all`` into a scope; exactly one must be given.

    A blank name is refused: ``kill --agent "$AGENT"`` with an unset variable must not report
    an agent stopped when it stops nothing.
    """
    given = [x for x in (agent is not None, tool is not None, everything) if x]
    if len(given) != 1:
        raise ValueError("name exactly one of an agent, a tool, or everything (--all)")
    for kind, name in (("agent", agent), ("tool", tool)):
        if name is not None and not name.strip():
            raise ValueError(f"the {kind} name is empty; name the {kind} to act on")
    if everything:
        return KillScope.ALL, "*"
    if agent is not None:
        return KillScope.AGENT, agent
    assert tool is not None
    return KillScope.TOOL, tool


def kill(
    store: Store,
    scope: KillScope,
    target: str,
    *,
    reason: str,
    by: str | None = None,
    clock: Clock | None = None,
) -> Kill:
    """Stop an agent, a tool, or everything; takes effect on the next action anywhere."""
    now = (clock or SystemClock()).now()
    entry = Kill(scope, target, reason, now, by)
    store.set_kill(entry)
    _record(store, now, "kill", scope, target, reason, by)
    return entry


def resume(
    store: Store,
    scope: KillScope,
    target: str,
    *,
    reason: str | None = None,
    by: str | None = None,
    clock: Clock | None = None,
) -> bool:
    """Lift a kill switch; False if none was set for that scope and target."""
    now = (clock or SystemClock()).now()
    cleared = store.clear_kill(scope, target)
    if cleared:
        _record(store, now, "resume", scope, target, reason or "resumed", by)
    return cleared


def issue_key(
    store: Store,
    agent: str,
    *,
    expires_in: timedelta | None,
    tools: Iterable[str] | None,
    label: str | None = None,
    by: str | None = None,
    clock: Clock | None = None,
    kind: KeyKind = "agent",
) -> tuple[str, KeyRecord]:
    """Create an API key (audited by key id only); returns the key, shown once. With
    ``kind="approver"``, ``agent`` is the person's name and the key approves, never acts."""
    now = (clock or SystemClock()).now()
    key, record = create_key(
        store, agent, now=now, expires_in=expires_in, tools=tools, label=label, kind=kind
    )
    store.append(
        AuditEntry(
            timestamp=now,
            kind="control",
            agent_id=agent if kind == "agent" else None,
            action="agentguard.keys.create",
            decision="keys.create",
            status="done",
            key_id=record.key_id,
            metadata={
                "by": by,
                "kind": kind,
                "approver": agent if kind == "approver" else None,
                "tools": sorted(record.tools) if record.tools is not None else None,
                "expires_at": record.expires_at.isoformat() if record.expires_at else None,
            },
        )
    )
    return key, record


def revoke_key(
    store: Store, key_id: str, *, by: str | None = None, clock: Clock | None = None
) -> bool:
    """Revoke a key by id, an agent's or an approver's; False if unknown or already
    revoked."""
    now = (clock or SystemClock()).now()
    for kind in KEY_KINDS:
        record = store.get_key(key_id, kind=kind)
        if record is None:
            continue
        done = store.revoke_key(key_id, now, kind=kind)
        if done:
            store.append(
                AuditEntry(
                    timestamp=now,
                    kind="control",
                    agent_id=record.agent if kind == "agent" else None,
                    action="agentguard.keys.revoke",
                    decision="keys.revoke",
                    status="done",
                    key_id=key_id,
                    metadata={"by": by, "kind": kind},
                )
            )
        return done
    return False


_SIGNAL_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
INCIDENT_ID = re.compile(r"inc_[0-9a-f]{16}")


def new_incident_id() -> str:
    """A fresh, unguessable incident id: ``inc_`` and 16 hex digits."""
    return f"inc_{secrets.token_hex(8)}"


def open_incident(
    store: Store,
    *,
    agent: str | None,
    reason: str,
    by: str | None = None,
    severity: str = "critical",
    stop: bool = True,
    incident: str | None = None,
    clock: Clock | None = None,
) -> str:
    """Open an incident about ``agent`` (an ``agentguard.incident.open`` record); with
    ``stop``, also set the agent's kill switch first. Returns the incident's id, which
    ``agentguard incident report`` builds the timeline of."""
    if not reason.strip():
        raise ValueError("say why the incident is opened (the reason is recorded)")
    ident = incident or new_incident_id()
    if not INCIDENT_ID.fullmatch(ident):
        raise ValueError(f"{ident!r} is not an incident id (inc_ and 16 hex digits)")
    now = (clock or SystemClock()).now()
    if stop and agent is not None:
        kill(
            store, KillScope.AGENT, agent, reason=f"incident {ident}: {reason}", by=by, clock=clock
        )
    store.append(
        AuditEntry(
            timestamp=now,
            kind="control",
            agent_id=agent,
            action="agentguard.incident.open",
            decision="incident.open",
            status="open",
            metadata={"incident": ident, "reason": reason, "severity": severity, "by": by},
        )
    )
    return ident


def close_incident(
    store: Store, incident: str, *, summary: str, by: str | None = None, clock: Clock | None = None
) -> None:
    """Close an incident with what was learnt (an ``agentguard.incident.close`` record)."""
    if not INCIDENT_ID.fullmatch(incident):
        raise ValueError(f"{incident!r} is not an incident id (inc_ and 16 hex digits)")
    if not summary.strip():
        raise ValueError("say what was found and what changes (the summary is recorded)")
    now = (clock or SystemClock()).now()
    store.append(
        AuditEntry(
            timestamp=now,
            kind="control",
            agent_id=None,
            action="agentguard.incident.close",
            decision="incident.close",
            status="closed",
            metadata={"incident": incident, "summary": summary, "by": by},
        )
    )


def record_signal(
    store: Store,
    name: str,
    *,
    agent: str | None = None,
    subject: str | None = None,
    by: str | None = None,
    clock: Clock | None = None,
) -> SignalReport:
    """Record an external signal (``agentguard.signal``) and return it for the alert rules.
    ``subject`` is recorded as a tag keyed with the store's key, never in clear."""
    if not isinstance(name, str) or not _SIGNAL_NAME.fullmatch(name):
        raise ValueError(
            "a signal's name is 1 to 100 letters, digits, '_', '-', '.' or ':' "
            "(for example customer_complaint)"
        )
    if subject is not None and not isinstance(subject, str):
        raise TypeError(f"a signal's subject is a string, not {type(subject).__name__}")
    tag = None
    if subject is not None:
        tag = f"[subject {keyed_tag(subject, store.fingerprint_key())}]"
    now = (clock or SystemClock()).now()
    store.append(
        AuditEntry(
            timestamp=now,
            kind="control",
            agent_id=agent,
            action="agentguard.signal",
            decision="signal",
            status="received",
            metadata={"signal": name, "subject": tag, "by": by},
        )
    )
    return SignalReport(name, now, agent, tag, by)


def _record(
    store: Store,
    now: datetime,
    verb: str,
    scope: KillScope,
    target: str,
    reason: str,
    by: str | None,
) -> None:
    store.append(
        AuditEntry(
            timestamp=now,
            kind="control",
            agent_id=target if scope is KillScope.AGENT else None,
            action=f"agentguard.{verb}",
            decision=verb,
            status="done",
            metadata={"scope": str(scope), "target": target, "reason": reason, "by": by},
        )
    )
