"""Storage protocols. Layers talk to these, never to a backend; every backend passes one
contract test suite (``tests/store/test_contract.py``).

A backend is chosen by URL (see :func:`agentguard.store.open_store`). Every method either
does what it says or raises :class:`agentguard.errors.StoreUnavailable`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

# Approval and ApprovalState are re-exported: agentguard.store has always offered them.
from agentguard.approval import Approval as Approval
from agentguard.approval import ApprovalChange, ApprovalRequest, ExpirySweep
from agentguard.approval import ApprovalState as ApprovalState
from agentguard.audit import AuditEntry, AuditRecord, Verification
from agentguard.breaker import (
    BreakerDecision,
    BreakerSettings,
    BreakerSnapshot,
    BreakerTransition,
)
from agentguard.journal import JournalEntry, JournalState
from agentguard.store.windows import (
    MAX_AMOUNT as MAX_AMOUNT,
)
from agentguard.store.windows import (
    NOTHING_ASKED as NOTHING_ASKED,
)
from agentguard.store.windows import (  # re-exported: imported from here for long
    UNITS_PER_ONE as UNITS_PER_ONE,
)
from agentguard.store.windows import (
    Admission as Admission,
)
from agentguard.store.windows import (
    AdmissionPlan as AdmissionPlan,
)
from agentguard.store.windows import (
    WindowRequest as WindowRequest,
)
from agentguard.store.windows import (
    admitted as admitted,
)
from agentguard.store.windows import (
    excess as excess,
)
from agentguard.store.windows import (
    first_overflow as first_overflow,
)
from agentguard.store.windows import (
    from_units as from_units,
)
from agentguard.store.windows import (
    plan_admission as plan_admission,
)
from agentguard.store.windows import (
    refused as refused,
)
from agentguard.store.windows import (
    to_micros as to_micros,
)
from agentguard.store.windows import (
    to_units as to_units,
)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for :meth:`AuditStore.search` (all optional, combined with AND).

    ``after_seq`` keeps only records numbered above it: a reader that remembers the last
    ``seq`` it has seen reads each record once, in order (``AuditQuery(after_seq=last,
    limit=1000)``), as :mod:`agentguard.activity` does.
    """

    agent: str | None = None
    tool: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None
    newest_first: bool = False
    after_seq: int | None = None


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


#: whose keys: an agent's (``ag_…``) or a person's who approves (``agp_…``), kept apart so
#: that one kind can never be looked up as the other
KeyKind = Literal["agent", "approver"]
KEY_KINDS: tuple[KeyKind, ...] = ("agent", "approver")


class KeyStore(Protocol):
    """API keys by kind: ``agent`` keys (``KeyRecord.agent`` is the agent) and ``approver``
    keys (``KeyRecord.agent`` is the person), in separate tables."""

    def add_key(self, record: KeyRecord, *, kind: KeyKind = "agent") -> None: ...

    def get_key(self, key_id: str, *, kind: KeyKind = "agent") -> KeyRecord | None: ...

    def revoke_key(self, key_id: str, at: datetime, *, kind: KeyKind = "agent") -> bool:
        """Mark the key revoked; False if there is no such key or it was already revoked."""
        ...

    def list_keys(self, *, kind: KeyKind = "agent") -> list[KeyRecord]: ...


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


# ------------------------------------------------------------------ counters


class CounterStore(Protocol):
    """Exact sliding windows of counts and dollars, for rate limits and budgets.

    A window is a log of events with timestamps: an event at ``t`` counts in the window of
    length ``w`` ending at ``at`` when ``at - w < t <= at``. Sliding, not fixed, so there is
    no double burst across a window's edge. Admission checks every window of an action and
    reserves in all of them or in none, atomically across threads and processes; after the
    call, :meth:`settle` books its real cost or :meth:`release` takes it back.

    Example::

        admission = store.admit(requests, clock.now())
        if not admission.admitted:
            raise RateLimited(..., retry_after=admission.retry_after)
        try:
            cost = call()
        except Exception:
            store.release(admission.reservation)
            raise
        store.settle(admission.reservation, {"cost:email_agent": cost}, clock.now())
    """

    def admit(
        self, requests: Sequence[WindowRequest], at: datetime, *, final: bool = False
    ) -> Admission:
        """Reserve every request's amount in its window at ``at``, or none of them.

        ``final=True`` records the events as they are, with nothing to settle or release
        (``reservation`` is None): counts that no call outcome changes (loop detection,
        alert figures), for one write instead of two.

        Requests with the same key share one event (one send counted against 50 an hour
        and 500 a day), so their amounts must agree (``ValueError`` otherwise, before
        anything is recorded). No requests: admitted, reservation None. Events older than
        the longest window ever asked for their key are pruned here, a bounded number per
        call. ``at`` should not run backwards by more than clocks disagree: an event older
        than its key's longest window, as seen from the latest admission, may be gone.
        """
        ...

    def settle(self, reservation: str, actual: Mapping[str, Decimal], at: datetime) -> None:
        """The call of ``reservation`` finished at ``at``: replace the reserved amount of each
        key in ``actual`` by its real amount (booked in full even past the limit: the next
        admission is refused). Other keys keep their reserved amount; events keep their
        admission time. A reservation settled or released before, or unknown: nothing
        happens. ``ValueError`` (and nothing settled) for an amount that is not a finite
        Decimal between 0 and :data:`MAX_AMOUNT`."""
        ...

    def release(self, reservation: str) -> None:
        """The call of ``reservation`` never happened: remove its events. A reservation
        settled or released before, or unknown: nothing happens."""
        ...

    def total(self, key: str, at: datetime, window: timedelta) -> Decimal:
        """The sum of ``key``'s events in the window of length ``window`` ending at ``at``
        (events older than the longest window ever admitted for the key may be gone)."""
        ...


class BreakerStore(Protocol):
    """Circuit breakers' state, shared by every process using the store. Each method loads a
    breaker, applies :mod:`agentguard.breaker`'s state machine and writes it back in one
    atomic step."""

    def breaker_admit(self, key: str, settings: BreakerSettings, at: datetime) -> BreakerDecision:
        """May a call go through ``key``'s breaker at ``at``? An open breaker past its
        cooldown turns half-open here, and a half-open one hands out its trial slots."""
        ...

    def breaker_record(
        self, key: str, ok: bool | None, settings: BreakerSettings, at: datetime
    ) -> BreakerTransition:
        """Count a call's outcome (``None``: it never ran; only frees a trial slot) and
        return the state before and after, so the caller can alert when it opened."""
        ...

    def breaker_state(self, key: str, at: datetime) -> BreakerSnapshot:
        """``key``'s breaker as it stands at ``at`` (closed when nothing is stored)."""
        ...

    def list_breakers(self, at: datetime) -> list[BreakerSnapshot]:
        """Every breaker with stored state (closed ones that counted failures too), by key."""
        ...

    def reset_breaker(self, key: str) -> bool:
        """An operator closes ``key``'s breaker and forgets what it counted; True if it was
        open or half-open."""
        ...


class ApprovalStore(Protocol):
    """The queue of actions waiting for people to approve them (human in the loop).

    Each operation loads a request, applies :mod:`agentguard.approval`'s state machine and
    writes the result in one atomic step across threads and processes, and returns an
    :class:`ApprovalChange` to audit; a refused one raises an
    :class:`agentguard.approval.ApprovalError` (``approval.not_found``,
    ``approval.invalid_transition``, ``approval.expired``, ``approval.self_approval``,
    ``approval.duplicate_approver``, ``approval.edit_refused``,
    ``approval.binding_mismatch``) and changes nothing, as does an invalid argument
    (``ValueError``). Nothing ever approves by timeout.

    Example::

        pending = store.request_approval(ApprovalRequest(binding, ...))
        store.approve(pending.id, "alice", clock.now())       # by a person, not the agent
        change = store.claim(pending.id, binding, clock.now())
        if change is None:
            ...  # used already: never run it twice
    """

    def request_approval(self, request: ApprovalRequest) -> Approval:
        """Queue ``request`` as a pending :class:`Approval` with a fresh random id."""
        ...

    def get_approval(self, approval_id: str) -> Approval | None:
        """The request with this id, as it stands (None: no such request)."""
        ...

    def find_approval(self, binding: str) -> Approval | None:
        """The newest request for the action with this ``binding`` that may still run:
        waiting for people, or approved and not yet claimed (None: there is none)."""
        ...

    def list_approvals(
        self,
        state: ApprovalState | None = None,
        agent: str | None = None,
        limit: int | None = None,
    ) -> list[Approval]:
        """Requests in ``state`` (None: any) of ``agent`` (None: any), oldest
        ``requested_at`` first, at most ``limit`` of them (None: all)."""
        ...

    def approve(
        self,
        approval_id: str,
        approver: str,
        at: datetime,
        *,
        edited_arguments: str | None = None,
        comment: str | None = None,
    ) -> ApprovalChange:
        """``approver`` says yes (see :func:`agentguard.approval.approve`): approved once
        ``required`` distinct people other than the requester have, before the deadline."""
        ...

    def reject(
        self, approval_id: str, by: str, at: datetime, *, comment: str | None = None
    ) -> ApprovalChange:
        """``by`` rejects a waiting request: it never runs."""
        ...

    def escalate(self, approval_id: str, new_deadline: datetime, at: datetime) -> ApprovalChange:
        """A pending request (usually one :meth:`expire_due` returned) waits on, escalated,
        until ``new_deadline``; once only."""
        ...

    def expire_due(self, at: datetime) -> ExpirySweep:
        """Expire every waiting request whose deadline has come by ``at``, except pending
        ones to escalate, which are returned unchanged for :meth:`escalate`."""
        ...

    def claim(self, approval_id: str, binding: str, at: datetime) -> ApprovalChange | None:
        """Take an approved request for execution, if ``binding`` is the approved action's:
        the change (now executing) goes to the first caller only; None to every later or
        concurrent one."""
        ...

    def finish(self, approval_id: str, ok: bool, at: datetime) -> ApprovalChange:
        """A claimed request's execution ended: executed (``ok``) or failed."""
        ...


class RollbackStore(Protocol):
    """The rollback journal: one entry per executed action of a reversible tool, with what
    its undo needs (see :mod:`agentguard.journal`). It holds the raw arguments and results
    of those actions (unmasked: the compensating call needs them), so it is not the audit
    log and is never shown as it is.

    Claims are atomic across threads and processes: of any number of callers claiming one
    entry, one gets it, so an action is undone at most once.

    Example::

        store.journal_add(entry)                          # after the action ran
        claimed = store.journal_claim(entry.action_id, clock.now())
        if claimed is not None:                           # None: undone or being undone
            ok = undo(claimed)
            store.journal_finish(entry.action_id, ok, clock.now(), note=None if ok else "E")
    """

    def journal_add(self, entry: JournalEntry) -> None:
        """Keep ``entry`` (state as given, normally ``done``). ``ValueError`` (and nothing
        kept) when its action has an entry already or a value cannot be stored exactly."""
        ...

    def journal_get(self, action_id: str) -> JournalEntry | None:
        """The entry of the action with this id (None: there is none)."""
        ...

    def journal_list(
        self,
        *,
        action: str | None = None,
        session: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        states: Collection[JournalState] | None = None,
    ) -> list[JournalEntry]:
        """Entries matching every filter given (``since``: ``at`` at or after it; ``states``:
        any of them), oldest first, in the order they were added when times are equal."""
        ...

    def journal_claim(self, action_id: str, at: datetime) -> JournalEntry | None:
        """Move the entry from ``done`` to ``undoing`` and return it, to the first caller
        only; None when it is not ``done`` (undone, being undone) or does not exist."""
        ...

    def journal_finish(
        self, action_id: str, ok: bool, at: datetime, *, note: str | None = None
    ) -> JournalEntry | None:
        """End a claimed undo: ``undone`` when ``ok``, else back to ``done`` with ``note``
        (why it failed: an exception type). None when the entry is not ``undoing``."""
        ...


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
    BreakerStore,
    ApprovalStore,
    RollbackStore,
    ProvenanceStore,
    Protocol,
):
    """Everything agentguard keeps, behind one URL."""

    url: str

    def close(self) -> None: ...
