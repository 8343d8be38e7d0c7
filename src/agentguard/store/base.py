"""Storage protocols. Layers talk to these, never to a backend; every backend passes one
contract test suite (``tests/store/test_contract.py``).

A backend is chosen by URL (see :func:`agentguard.store.open_store`). Every method either
does what it says or raises :class:`agentguard.errors.StoreUnavailable`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from agentguard.audit import AuditEntry, AuditRecord, Verification


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for :meth:`AuditStore.search` (all optional, combined with AND)."""

    agent: str | None = None
    tool: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    newest_first: bool = False


class AuditStore(Protocol):
    """Append-only, hash-chained records. ``append`` returns only once the record is durable
    (committed), and keeps the chain correct when several processes append at once."""

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Write ``entry`` as the next record; release the reservation of its action."""
        ...

    def reserve(
        self, action_id: str, size: int, at: datetime, *, agent: str | None, tool: str
    ) -> None:
        """Before a tool runs: prove the record of ``action_id`` can be written by setting
        aside about ``size`` bytes for it, or raise :class:`StoreUnavailable`."""
        ...

    def interrupted(self) -> list[tuple[str, datetime, str | None, str]]:
        """Reservations never followed by a record: ``(action id, reserved at, agent,
        tool)`` of actions whose tool may have run without a record (a crash, a full disk)."""
        ...

    def search(self, query: AuditQuery) -> Iterator[AuditRecord]: ...

    def verify(self) -> Verification: ...

    def count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An API key as stored: never the key itself, only a SHA-256 hash of its secret part."""

    key_id: str
    agent: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    tools: frozenset[str] | None = None
    label: str | None = None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class KeyStore(Protocol):
    def add_key(self, record: KeyRecord) -> None: ...

    def get_key(self, key_id: str) -> KeyRecord | None: ...

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Mark the key revoked; False if there is no such key or it was already revoked."""
        ...

    def list_keys(self) -> list[KeyRecord]: ...


class KillScope(enum.StrEnum):
    ALL = "all"
    AGENT = "agent"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class Kill:
    """A kill switch in force: everything (``all``), one agent, or one tool is stopped."""

    scope: KillScope
    target: str  # "*" for scope all
    reason: str
    set_at: datetime
    set_by: str | None = None

    def describe(self) -> str:
        what = "every agent" if self.scope is KillScope.ALL else f"{self.scope} {self.target!r}"
        return f"{what} (stopped: {self.reason})"


class KillSwitchStore(Protocol):
    """Read on every action, so a kill set by any process stops the very next action."""

    def set_kill(self, kill: Kill) -> None: ...

    def clear_kill(self, scope: KillScope, target: str) -> bool: ...

    def find_kill(self, agent: str, tool: str) -> Kill | None:
        """The kill covering this agent or tool, if any (``all`` first, then agent, tool)."""
        ...

    def list_kills(self) -> list[Kill]: ...


class CounterStore(Protocol):
    """Sliding-window sums (actions, dollars) for rate limits and budgets."""

    def add(self, key: str, amount: Decimal, at: datetime, window: timedelta) -> Decimal:
        """Record ``amount`` at ``at``; return the sum over ``(at - window, at]`` including it."""
        ...

    def total(self, key: str, at: datetime, window: timedelta) -> Decimal: ...


class ApprovalState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Approval:
    """A request for a human decision on one action."""

    id: str
    agent: str
    tool: str
    payload: dict[str, Any]
    created_at: datetime
    state: ApprovalState = ApprovalState.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None


class ApprovalStore(Protocol):
    def create_approval(self, approval: Approval) -> None: ...

    def get_approval(self, approval_id: str) -> Approval | None: ...

    def decide_approval(
        self, approval_id: str, state: ApprovalState, by: str, at: datetime, note: str | None
    ) -> Approval | None:
        """Move a pending approval to a final state; None if it is not pending."""
        ...

    def list_approvals(self, state: ApprovalState | None = None) -> list[Approval]: ...


class ProvenanceStore(Protocol):
    """Fingerprints of owners' data an agent has seen, per scope (a session, or an agent
    when there is no session), for the A→B leak guard. Prints are keyed hashes, never data.
    """

    def fingerprint_key(self) -> bytes:
        """This store's random key for fingerprints (created on first use, then fixed)."""
        ...

    def remember(
        self, scope: str, owner: str, prints: Iterable[str], *, at: datetime, until: datetime
    ) -> None:
        """Record at ``at`` that ``owner``'s data in ``scope`` has these prints, until
        ``until``; prints of the scope that expired by ``at`` may be forgotten."""
        ...

    def owners_of(
        self, scope: str, prints: Collection[str], at: datetime
    ) -> dict[str, frozenset[str]]:
        """For each print known in ``scope`` and not expired at ``at``: its owners."""
        ...


class Store(
    AuditStore,
    KeyStore,
    KillSwitchStore,
    CounterStore,
    ApprovalStore,
    ProvenanceStore,
    Protocol,
):
    """Everything agentguard keeps, behind one URL."""

    url: str

    def close(self) -> None: ...
