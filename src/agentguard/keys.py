"""Scoped, expiring, revocable API keys.

A key looks like ``ag_3f9a1c2b7d4e_<43 characters>``: ``ag_``, a public key id, and a
256-bit secret. Only the key id and a SHA-256 hash of the secret are stored (a fast hash is
enough for a random 256-bit secret; there is nothing to brute-force). Comparison is in
constant time. A key belongs to one agent and can only narrow what that agent may do:
``tools`` limits it to some of the agent's tools, never more.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agentguard.errors import AgentGuardError
from agentguard.store.base import KeyKind, KeyRecord, KeyStore

PREFIX = "ag_"
#: the prefix of a person's approver key: no agent key ever has this shape, and no approver
#: key the agent one's (and they live in separate tables)
APPROVER_PREFIX = "agp_"
_ID_HEX = 12
_FORMAT = re.compile(r"^ag_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_APPROVER_FORMAT = re.compile(r"^agp_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_FORMATS = {"agent": _FORMAT, "approver": _APPROVER_FORMAT}
_PREFIXES = {"agent": PREFIX, "approver": APPROVER_PREFIX}
_DUMMY_HASH = hashlib.sha256(b"agentguard-dummy").hexdigest()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_key(
    store: KeyStore,
    agent: str,
    *,
    now: datetime,
    expires_in: timedelta | None = None,
    tools: Iterable[str] | None = None,
    label: str | None = None,
    kind: KeyKind = "agent",
) -> tuple[str, KeyRecord]:
    """Make a new key for ``agent``; returns the key (shown once, never stored) and its record.

    ``kind="approver"`` makes a person's key for approving held actions (``agp_…``), under
    the approver's name in ``agent``; it has no tool scope (the policy's ``approvers:``
    says what each person may approve).

    ``tools=None`` lets the key use all of the agent's tools; a list narrows it to those.
    An empty list is refused rather than read as either (an unset ``$TOOLS`` in a script
    must not widen a key to everything), and so is a lifetime that ends past the year 9999.
    """
    if kind not in _PREFIXES:
        raise AgentGuardError(f"no keys of kind {kind!r}", code="keys.kind")
    if kind == "approver" and tools is not None:
        raise AgentGuardError(
            "an approver key has no tool scope: the policy's approvers: section limits what "
            "each person may approve",
            code="keys.scope",
        )
    scope = None if tools is None else _scope(tools)
    try:
        expires_at = None if expires_in is None else now + expires_in
    except OverflowError:
        raise AgentGuardError(
            "the key's lifetime ends after the year 9999; give a shorter one", code="keys.expires"
        ) from None
    if expires_in is not None and expires_in <= timedelta(0):
        raise AgentGuardError("a key's lifetime must be longer than zero", code="keys.expires")
    key_id = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(32)
    record = KeyRecord(
        key_id=key_id,
        agent=agent,
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=expires_at,
        tools=scope,
        label=label,
    )
    store.add_key(record, kind=kind)
    return f"{_PREFIXES[kind]}{key_id}_{secret}", record


def _scope(tools: Iterable[str]) -> frozenset[str]:
    if isinstance(tools, str):  # "read_inbox" would otherwise be a scope of single letters
        raise AgentGuardError(
            "tools must be a list of tool names, not one string", code="keys.scope"
        )
    names = list(tools)
    if any(not isinstance(name, str) or not name.strip() for name in names):
        raise AgentGuardError("a tool name of a key's scope is blank", code="keys.scope")
    if not names:
        raise AgentGuardError(
            "a key's tools list is empty; name the tools it may use, or pass tools=None "
            "for all of the agent's tools",
            code="keys.scope",
        )
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class KeyCheck:
    """The result of :func:`authenticate`: a record when the key is good, else a code."""

    record: KeyRecord | None
    code: str
    message: str


def key_id_of(key: str) -> str | None:
    """The public key id of a well-formed key, else None."""
    match = _FORMAT.match(key) if isinstance(key, str) else None
    return match.group(1) if match else None


def authenticate(store: KeyStore, key: str, now: datetime, *, kind: KeyKind = "agent") -> KeyCheck:
    """Check a presented key of ``kind`` (an agent's, or an approver's): a key of the other
    kind is malformed here, and is looked up in no table. Messages name the key id at
    most, never the secret."""
    pattern = _FORMATS.get(kind)
    match = pattern.match(key) if pattern is not None and isinstance(key, str) else None
    if match is None:
        what = "API key" if kind == "agent" else "approver key"
        return KeyCheck(None, "identity.key_malformed", f"the {what} is malformed")
    key_id, secret = match.groups()
    record = store.get_key(key_id, kind=kind)
    presented = _hash(secret)
    if record is None:
        hmac.compare_digest(presented, _DUMMY_HASH)  # same work whether or not the id exists
        return KeyCheck(None, "identity.key_unknown", f"API key {key_id} is not recognised")
    if not hmac.compare_digest(presented, record.secret_hash):
        return KeyCheck(None, "identity.key_unknown", f"API key {key_id} is not recognised")
    state = record.state(now)
    if state == "revoked":
        return KeyCheck(None, "identity.key_revoked", f"API key {key_id} has been revoked")
    if state == "expired":
        return KeyCheck(None, "identity.key_expired", f"API key {key_id} has expired")
    return KeyCheck(record, "identity.key_ok", f"authenticated with API key {key_id}")
