"""The audit log: one hash-chained record per action, masked before it is written.

Each record's ``body`` is canonical JSON; its ``hash`` is ``sha256(prev_hash, seq, body)``
(see :func:`chain_hash`), so a record's number is sealed with its content. The
store keeps ``seq``, time, agent, tool and decision beside the body as an index for
searching; :func:`verify_chain` recomputes every hash, checks that every index column agrees
with the body and that no sequence number is missing, so an edited, deleted or reordered
record is found and named. Records cut from the end of the log are found against a signed
checkpoint of its head (:mod:`agentguard.checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What is known of an action when it is logged, already masked and redacted (see
    :mod:`agentguard.audit_record`)."""

    timestamp: datetime
    kind: str  # "action" or "control"
    agent_id: str | None
    action: str | None
    decision: str  # "allow" or "deny" (control records: the control verb)
    status: str  # "executed", "failed", "denied", or a control status
    action_id: str | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    reasons: Sequence[Mapping[str, str]] = ()
    cost: Decimal | None = None
    duration_ms: float | None = None
    session: str | None = None
    subject: str | None = None
    key_id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def iso_timestamp(self) -> str:
        return _iso(self.timestamp)

    def body(self, iso_timestamp: str | None = None) -> str:
        """Canonical JSON of this entry (its place in the chain is sealed by the hash)."""
        document = {
            "timestamp": iso_timestamp or self.iso_timestamp,
            "kind": self.kind,
            "id": self.action_id,
            "agent_id": self.agent_id,
            "action": self.action,
            "decision": self.decision,
            "status": self.status,
            "reasons": list(self.reasons),
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cost": None if self.cost is None else str(self.cost),
            "duration_ms": self.duration_ms,
            "session": self.session,
            "subject": self.subject,
            "key_id": self.key_id,
            "metadata": dict(self.metadata),
        }
        return canonical_json(document)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A record as stored: the entry's JSON body plus its place in the chain."""

    seq: int
    body: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> dict[str, Any]:
        """The record as a dict, with ``seq``, ``prev_hash`` and ``hash`` added."""
        document: dict[str, Any] = json.loads(self.body)
        document["seq"] = self.seq
        document["prev_hash"] = self.prev_hash
        document["hash"] = self.hash
        return document


def control_entry(
    at: datetime,
    event: str,
    status: str,
    metadata: Mapping[str, Any],
    *,
    agent: str | None = None,
    key_id: str | None = None,
) -> AuditEntry:
    """The record of something that is not an agent's action (``event`` such as
    ``approval.approved``: recorded as action ``agentguard.approval.approved``, decision
    ``approval.approved``). ``metadata`` must already be redacted."""
    return AuditEntry(
        timestamp=at,
        kind="control",
        agent_id=agent,
        action=f"agentguard.{event}",
        decision=event,
        status=status,
        key_id=key_id,
        metadata=metadata,
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return repr(value)


_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical_json(document: Any) -> str:
    """Sorted keys, no whitespace, UTF-8: the exact text a record's hash covers."""
    try:
        return orjson.dumps(document, default=_json_default, option=_ORJSON_OPTIONS).decode()
    except (orjson.JSONEncodeError, TypeError):  # e.g. integers beyond 64 bits
        return json.dumps(
            document,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_json_default,
        )


def chain_hash(prev_hash: str, seq: int, body: str) -> str:
    """SHA-256 over the previous record's hash, this record's number and its body."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{body}".encode()).hexdigest()


def seal(entry: AuditEntry, seq: int, prev_hash: str) -> AuditRecord:
    """Give ``entry`` its place in the chain after the record whose hash is ``prev_hash``."""
    body = entry.body()
    return AuditRecord(seq, body, prev_hash, chain_hash(prev_hash, seq, body))


# ----------------------------------------------------------------------------- verify

#: The body field that each index column mirrors. A store may keep any of these columns
#: beside the body so it can search without parsing JSON; :func:`verify_chain` checks every
#: index column a row carries against its body field, since an edited column hides a record
#: from searches (``audit search --since``) while the chain itself stays intact.
INDEX_FIELDS: Mapping[str, str] = {
    "ts": "timestamp",
    "agent": "agent_id",
    "tool": "action",
    "decision": "decision",
}


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored record with the index columns the store keeps beside its body.

    ``index`` maps each such column (see :data:`INDEX_FIELDS`) to its stored value; a store
    passes every index column it has, so that none escapes :func:`verify_chain`.
    """

    seq: int
    body: str
    prev_hash: str
    hash: str
    index: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verification:
    """The result of :func:`verify_chain`."""

    ok: bool
    checked: int
    bad_seq: int | None = None
    problem: str | None = None


def verify_chain(rows: Iterable[StoredRow], last_issued: int | None) -> Verification:
    """Check a whole log, rows in ascending ``seq`` order.

    ``last_issued`` is the highest sequence number the store ever handed out (SQLite keeps
    it in ``sqlite_sequence``), which reveals records deleted from the end of the log as
    long as that number was not wound back too. Only a signed checkpoint of the head
    (:mod:`agentguard.checkpoint`) shows a log cut at its end and its counter reset.
    """
    prev_hash = GENESIS
    expected = 1
    checked = 0
    for row in rows:
        if row.seq != expected:
            missing = expected if row.seq > expected else row.seq
            return Verification(
                False, checked, missing, f"record {missing} is missing (deleted) or out of place"
            )
        if row.prev_hash != prev_hash:
            return Verification(
                False,
                checked,
                row.seq,
                f"record {row.seq} does not follow record {row.seq - 1} "
                "(a record was deleted, inserted or swapped)",
            )
        if chain_hash(row.prev_hash, row.seq, row.body) != row.hash:
            return Verification(False, checked, row.seq, f"record {row.seq} was altered")
        try:
            data = json.loads(row.body)
        except ValueError:
            return Verification(False, checked, row.seq, f"record {row.seq} is not valid JSON")
        if not isinstance(data, dict):
            return Verification(False, checked, row.seq, f"record {row.seq} is not an object")
        altered = _altered_index(row.index, data)
        if altered:
            return Verification(
                False,
                checked,
                row.seq,
                f"record {row.seq}: its index column {altered} does not match the record "
                "(edited beside the hash chain)",
            )
        prev_hash = row.hash
        expected += 1
        checked += 1
    if last_issued is not None and last_issued >= expected:
        return Verification(
            False,
            checked,
            expected,
            f"record {expected} is missing: the log ends at record {expected - 1} "
            f"but records up to {last_issued} were written",
        )
    return Verification(True, checked)


def _altered_index(index: Mapping[str, Any], data: Mapping[str, Any]) -> str | None:
    """The first index column that differs from the body field it mirrors, quoted."""
    for column, value in index.items():
        body_field = INDEX_FIELDS.get(column)
        # A column verify does not know cannot be checked: report it rather than pass it.
        if body_field is None or data.get(body_field) != value:
            return repr(column)
    return None
