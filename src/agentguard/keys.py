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

from agentguard.store.base import KeyRecord, KeyStore

PREFIX = "ag_"
_ID_HEX = 12
_FORMAT = re.compile(r"^ag_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
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
) -> tuple[str, KeyRecord]:
    """Make a new key for ``agent``; returns the key (shown once, never stored) and its record."""
    key_id = secrets.token_hex(_ID_HEX // 2)
    secret = secrets.token_urlsafe(32)
    record = KeyRecord(
        key_id=key_id,
        agent=agent,
        secret_hash=_hash(secret),
        created_at=now,
        expires_at=None if expires_in is None else now + expires_in,
        tools=None if tools is None else frozenset(tools),
        label=label,
    )
    store.add_key(record)
    return f"{PREFIX}{key_id}_{secret}", record


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


def authenticate(store: KeyStore, key: str, now: datetime) -> KeyCheck:
    """Check a presented key. Messages name the key id at most, never the secret."""
    match = _FORMAT.match(key) if isinstance(key, str) else None
    if match is None:
        return KeyCheck(None, "identity.key_malformed", "the API key is malformed")
    key_id, secret = match.groups()
    record = store.get_key(key_id)
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
