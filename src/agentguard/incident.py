"""Incident reports, built from the audit log alone.

An incident is opened by an alert rule (``then: [open_incident]``) or by a person
(``agentguard incident open --agent A --reason …``, which also stops the agent). Its report
reads the agent's records around it and measures, rather than asks for, what happened:

- the **first anomalous action** (failed, denied, held or withheld, or refused by a limit,
  a breaker, a content rule or the leak guard) after the agent's last resume, within
  ``lookback`` before the incident; when a loop was detected, also the **first looping
  call** (the earliest call of the tool and arguments the loop repeated);
- the **alerts** fired, the **stops** (kill switches) and resumes, with the latencies
  first anomaly → first alert (detect) and first anomaly → stop;
- what the agent did: actions by status, **spend**, the subjects and recipients it touched
  (as the log records them: redacted or tagged), and rollbacks recorded;
- the closing summary, once closed.

Everything comes from records in the hash chain, so a report is as trustworthy as
``agentguard audit verify`` says the log is.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from agentguard.errors import AgentGuardError
from agentguard.store.base import AuditQuery, AuditStore

#: how far before an incident its report looks, by default
DEFAULT_LOOKBACK = timedelta(hours=24)
#: reason-code prefixes that make an allowed-looking action anomalous
_ANOMALOUS_CODES = ("breakers.", "limits.", "content.", "leaks.", "quality.")
_ANOMALOUS_STATUS = frozenset({"failed", "denied", "held", "withheld"})
_RECIPIENT_KEYS = ("to", "recipient", "recipients", "email", "channel", "cc", "bcc")


class IncidentNotFound(AgentGuardError):
    """No incident with that id is in the audit log."""

    code = "incident.not_found"


@dataclass(frozen=True)
class Event:
    """One line of the timeline: a record, by sequence number and time."""

    seq: int
    at: datetime
    what: str
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": _iso(self.at), "what": self.what, "detail": self.detail}


@dataclass
class IncidentReport:
    """What the audit log says about one incident (see the module docstring)."""

    incident: str
    agent: str | None
    opened_at: datetime
    opened_by: str | None
    reason: str
    severity: str
    first_anomaly: Event | None = None
    first_looping_call: Event | None = None
    alerts: list[Event] = field(default_factory=list)
    stops: list[Event] = field(default_factory=list)
    resumes: list[Event] = field(default_factory=list)
    rollbacks: list[Event] = field(default_factory=list)
    actions: dict[str, int] = field(default_factory=dict)
    spend: Decimal = Decimal(0)
    spend_after_anomaly: Decimal = Decimal(0)
    subjects: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    closed_at: datetime | None = None
    summary: str | None = None
    window_start: datetime | None = None

    @property
    def detect_seconds(self) -> float | None:
        """From the first anomalous action to the first alert."""
        if self.first_anomaly is None or not self.alerts:
            return None
        return (self.alerts[0].at - self.first_anomaly.at).total_seconds()

    @property
    def stop_seconds(self) -> float | None:
        """From the first anomalous action to the first stop of the agent."""
        if self.first_anomaly is None or not self.stops:
            return None
        return (self.stops[0].at - self.first_anomaly.at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-safe values (money as exact strings)."""
        return {
            "incident": self.incident,
            "agent": self.agent,
            "opened_at": _iso(self.opened_at),
            "opened_by": self.opened_by,
            "reason": self.reason,
            "severity": self.severity,
            "state": "closed" if self.closed_at else "open",
            "closed_at": _iso(self.closed_at) if self.closed_at else None,
            "summary": self.summary,
            "window_start": _iso(self.window_start) if self.window_start else None,
            "first_anomaly": self.first_anomaly.as_dict() if self.first_anomaly else None,
            "first_looping_call": (
                self.first_looping_call.as_dict() if self.first_looping_call else None
            ),
            "detect_seconds": self.detect_seconds,
            "stop_seconds": self.stop_seconds,
            "alerts": [e.as_dict() for e in self.alerts],
            "stops": [e.as_dict() for e in self.stops],
            "resumes": [e.as_dict() for e in self.resumes],
            "rollbacks": [e.as_dict() for e in self.rollbacks],
            "actions": dict(self.actions),
            "spend": str(self.spend),
            "spend_after_anomaly": str(self.spend_after_anomaly),
            "subjects": list(self.subjects),
            "recipients": list(self.recipients),
        }

    def to_markdown(self) -> str:
        """The report as Markdown, for a ticket or a post-mortem."""
        lines = [
            f"# Incident {self.incident}",
            "",
            f"- **Agent:** {self.agent or '(none named)'}",
            f"- **Opened:** {_iso(self.opened_at)} by {self.opened_by or 'unknown'} "
            f"({self.severity}): {self.reason}",
            f"- **State:** {'closed ' + _iso(self.closed_at) if self.closed_at else 'open'}",
        ]
        if self.detect_seconds is not None:
            lines.append(f"- **Detected** {_seconds(self.detect_seconds)} after the first anomaly")
        if self.stop_seconds is not None:
            lines.append(f"- **Stopped** {_seconds(self.stop_seconds)} after the first anomaly")
        lines.append(
            f"- **Spend:** ${self.spend} in the window, ${self.spend_after_anomaly} from the "
            "first anomaly on"
        )
        actions = ", ".join(f"{n} {status}" for status, n in sorted(self.actions.items()))
        lines.append(f"- **Actions:** {actions or 'none'}")
        if self.subjects:
            lines.append(f"- **Subjects:** {', '.join(self.subjects)}")
        if self.recipients:
            lines.append(f"- **Recipients:** {', '.join(self.recipients)}")
        lines += [
            "",
            "## Timeline",
            "",
            "| seq | time | what | detail |",
            "| ---: | --- | --- | --- |",
        ]
        for event in self._timeline():
            detail = event.detail.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {event.seq} | {_iso(event.at)} | {event.what} | {detail} |")
        if self.summary:
            lines += ["", "## Summary", "", self.summary]
        return "\n".join(lines) + "\n"

    def _timeline(self) -> list[Event]:
        events = [*self.alerts, *self.stops, *self.resumes, *self.rollbacks]
        for special in (self.first_looping_call, self.first_anomaly):
            if special is not None:
                events.append(special)
        return sorted(events, key=lambda e: (e.seq, e.what))


def list_incidents(store: AuditStore) -> list[dict[str, Any]]:
    """Every incident in the log: id, agent, opened time, severity, state."""
    closed = {
        data["metadata"].get("incident"): data["timestamp"]
        for data in _records(store, AuditQuery(tool="agentguard.incident.close"))
    }
    out = []
    for data in _records(store, AuditQuery(tool="agentguard.incident.open")):
        ident = data["metadata"].get("incident")
        if not isinstance(ident, str):
            continue
        out.append(
            {
                "incident": ident,
                "agent": data.get("agent_id"),
                "opened_at": data["timestamp"],
                "severity": data["metadata"].get("severity"),
                "state": "closed" if ident in closed else "open",
                "reason": data["metadata"].get("reason"),
            }
        )
    return out


def build_report(
    store: AuditStore, incident: str, *, lookback: timedelta = DEFAULT_LOOKBACK
) -> IncidentReport:
    """The report of ``incident`` (see the module docstring), from ``store``'s audit log."""
    opened = next(
        (
            data
            for data in _records(store, AuditQuery(tool="agentguard.incident.open"))
            if data["metadata"].get("incident") == incident
        ),
        None,
    )
    if opened is None:
        raise IncidentNotFound(f"no incident {incident!r} in the audit log")
    meta = opened["metadata"]
    agent = opened.get("agent_id")
    opened_at = _time(opened["timestamp"])
    report = IncidentReport(
        incident=incident,
        agent=agent,
        opened_at=opened_at,
        opened_by=meta.get("by"),
        reason=str(meta.get("reason", "")),
        severity=str(meta.get("severity", "critical")),
    )
    for data in _records(store, AuditQuery(tool="agentguard.incident.close")):
        if data["metadata"].get("incident") == incident:
            report.closed_at = _time(data["timestamp"])
            report.summary = data["metadata"].get("summary")
    if agent is None:
        return report
    start = opened_at - lookback
    history = _records(store, AuditQuery(agent=agent, since=start))
    # the run-up starts after the last time a person resumed the agent before the incident
    for data in history:
        if data["action"] == "agentguard.resume" and _time(data["timestamp"]) < opened_at:
            start = _time(data["timestamp"])
    report.window_start = start
    until = report.closed_at
    records = [
        data
        for data in history
        if _time(data["timestamp"]) >= start
        and (until is None or _time(data["timestamp"]) <= until)
    ]
    _read(report, records)
    return report


def _read(report: IncidentReport, records: list[dict[str, Any]]) -> None:
    statuses: Counter[str] = Counter()
    subjects: dict[str, None] = {}
    recipients: dict[str, None] = {}
    loop_call: tuple[str, str] | None = None
    calls: list[tuple[dict[str, Any], tuple[str, str]]] = []
    for data in records:
        at, seq, action = _time(data["timestamp"]), int(data["seq"]), data["action"]
        meta = data.get("metadata") or {}
        if data["kind"] == "control":
            if action == "agentguard.alert":
                report.alerts.append(
                    Event(seq, at, "alert", f"{meta.get('rule')} ({meta.get('severity')}): "
                          f"{meta.get('summary')}")
                )  # fmt: skip
            elif action == "agentguard.kill":
                report.stops.append(Event(seq, at, "stopped", str(meta.get("reason", ""))))
            elif action == "agentguard.resume":
                report.resumes.append(Event(seq, at, "resumed", str(meta.get("by") or "")))
            elif action == "agentguard.rollback.undo":
                what = "rolled back" if data.get("status") == "undone" else "rollback failed"
                report.rollbacks.append(
                    Event(seq, at, what, f"{meta.get('tool')} (action {meta.get('action')}) by "
                          f"{meta.get('undo_tool')}" + (f" by {meta['by']}" if meta.get("by") else ""))
                )  # fmt: skip
            continue
        status = str(data.get("status"))
        statuses[status] += 1
        cost = _money(data.get("cost"))
        codes = [str(r.get("code", "")) for r in data.get("reasons") or [] if isinstance(r, dict)]
        anomalous = status in _ANOMALOUS_STATUS or any(
            c.startswith(_ANOMALOUS_CODES) for c in codes
        )
        if anomalous and report.first_anomaly is None:
            report.first_anomaly = Event(
                seq, at, "first anomalous action", f"{action}: {status} ({', '.join(codes)})"
            )
        if report.first_anomaly is not None and cost is not None:
            report.spend_after_anomaly += cost
        if cost is not None:
            report.spend += cost
        signature = (action, json.dumps(data.get("input"), sort_keys=True))
        calls.append((data, signature))
        if loop_call is None and any(c in ("breakers.loop_detected",) for c in codes):
            loop_call = signature
        if data.get("subject"):
            subjects[str(data["subject"])] = None
        given = data.get("input")
        if isinstance(given, dict):
            for key in _RECIPIENT_KEYS:
                value = given.get(key)
                if isinstance(value, str) and value:
                    recipients[value] = None
    if loop_call is not None:
        first = next(d for d, signature in calls if signature == loop_call)
        report.first_looping_call = Event(
            int(first["seq"]), _time(first["timestamp"]), "first looping call",
            f"{first['action']} with the arguments the loop repeated",
        )  # fmt: skip
    report.actions = dict(statuses)
    report.subjects = list(subjects)
    report.recipients = list(recipients)


def _records(store: AuditStore, query: AuditQuery) -> list[dict[str, Any]]:
    out = []
    for record in store.search(query):
        try:
            data = record.data
        except ValueError:
            continue  # not JSON: `audit verify` names it
        if isinstance(data, dict) and isinstance(data.get("metadata"), dict | type(None)):
            data.setdefault("metadata", {})
            data["metadata"] = data["metadata"] or {}
            out.append(data)
    return out


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _seconds(value: float) -> str:
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"
