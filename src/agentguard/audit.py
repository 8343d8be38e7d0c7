"""The audit log: one hash-chained record per action, masked before it is written.

Each record's ``body`` is canonical JSON; its ``hash`` is ``sha256(prev_hash, seq, body)``
(see :func:`chain_hash`), so a record's number is sealed with its content. The
store keeps ``seq``, agent, tool and decision beside the body as an index for searching;
:func:`verify_chain` recomputes every hash, checks that the index agrees with the body and
that no sequence number is missing, so an edited, deleted or reordered record is found and
named.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

GENESIS = "0" * 64
MASK = "***"
_MAX_OUTPUT_CHARS = 64 * 1024

#: Argument and result keys whose values are masked even when the policy does not list them.
SECRET_KEYS = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|credential|private[_-]?key|"
    r"authorization|auth|cookie|session[_-]?key|card[_-]?number|cvv|cvc|ssn|pin)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What is known of an action when it is logged, already masked (see :func:`mask`)."""

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


# ---------------------------------------------------------------------------- masking


def mask(
    value: Any, sensitive: Iterable[str] = (), secrets: Sequence[str] = (), _path: str = ""
) -> Any:
    """A copy of ``value`` with sensitive fields replaced by ``***``.

    ``sensitive`` lists dotted paths (``card_number``, ``payment.card``) to mask; keys that
    look like secrets (``password``, ``api_key``, ``token`` …) are always masked; any string
    in ``secrets`` (the values of masked fields) is also cut out of every other string, so a
    card number echoed in a result or an error message does not survive either.
    """
    paths = sensitive if isinstance(sensitive, frozenset) else frozenset(sensitive)
    return _mask(value, paths, tuple(s for s in secrets if len(s) >= 4), _path)


_secret_key_cache: dict[str, bool] = {}


def is_secret_key(name: str) -> bool:
    """Whether a key name (``password``, ``api_key`` …) marks its value as a secret."""
    hit = _secret_key_cache.get(name)
    if hit is None:
        hit = SECRET_KEYS.search(name) is not None
        if len(_secret_key_cache) < 10000:
            _secret_key_cache[name] = hit
    return hit


_SCALARS = (type(None), bool, int, float, Decimal)


def _mask(value: Any, paths: frozenset[str], secrets: tuple[str, ...], path: str) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is str:
        if secrets:
            for secret in secrets:
                if secret in value:
                    value = value.replace(secret, MASK)
        if len(value) > _MAX_OUTPUT_CHARS:
            return value[:_MAX_OUTPUT_CHARS] + f"…[{len(value) - _MAX_OUTPUT_CHARS} chars cut]"
        return value
    if kind is dict or isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            child = f"{path}.{name}" if path else name
            if is_secret_key(name) or (paths and child in paths):
                out[name] = MASK
            else:
                out[name] = _mask(item, paths, secrets, child)
        return out
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return [_mask(item, paths, secrets, path) for item in value]
    if isinstance(value, bool | int | float | Decimal):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _mask(dump(mode="json"), paths, secrets, path)
    return _mask(repr(value), paths, secrets, path)


def sensitive_values(
    value: Any, sensitive: Iterable[str], _path: str = "", _out: list[str] | None = None
) -> list[str]:
    """The string forms of the values at the sensitive paths (and secret-looking keys)."""
    found: list[str] = [] if _out is None else _out
    paths = sensitive if isinstance(sensitive, frozenset) else frozenset(sensitive)
    kind = type(value)
    if kind in _SCALARS or kind is str:
        return found
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            child = f"{_path}.{name}" if _path else name
            if is_secret_key(name) or (paths and child in paths):
                _collect(item, found)
            else:
                sensitive_values(item, paths, child, found)
    elif kind is list or kind is tuple or isinstance(value, list | tuple):
        for item in value:
            sensitive_values(item, paths, _path, found)
    return found


def _collect(value: Any, into: list[str]) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, into)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if text:
            into.append(text)


# ----------------------------------------------------------------------------- verify


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored record with the index columns the store keeps beside its body."""

    seq: int
    agent: str | None
    tool: str | None
    decision: str | None
    body: str
    prev_hash: str
    hash: str


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
    it in ``sqlite_sequence``), which reveals records deleted from the end of the log.
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
        if (data.get("agent_id"), data.get("action"), data.get("decision")) != (
            row.agent,
            row.tool,
            row.decision,
        ):
            return Verification(
                False, checked, row.seq, f"record {row.seq}: its index columns were altered"
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
