"""An in-process store (``memory://``): for tests and one-off scripts. Nothing survives the
process and nothing is shared with other processes."""

from __future__ import annotations

import itertools
import os
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from agentguard import breaker
from agentguard.approval import (
    Approval,
    ApprovalChange,
)
from agentguard.audit import GENESIS, AuditEntry, AuditRecord, StoredRow, Verification, seal
from agentguard.audit import verify_chain as _verify_chain
from agentguard.breaker import (
    BreakerDecision,
    BreakerSettings,
    BreakerSnapshot,
    BreakerState,
    BreakerTransition,
)
from agentguard.store.base import (
    NOTHING_ASKED,
    Admission,
    AdmissionPlan,
    AuditQuery,
    KeyKind,
    KeyRecord,
    Kill,
    KillScope,
    WindowRequest,
    admitted,
    excess,
    from_units,
    plan_admission,
    refused,
    to_micros,
    to_units,
)
from agentguard.store.memory_approvals import MemoryApprovals
from agentguard.store.memory_rollback import MemoryRollback

C = TypeVar("C", bound=ApprovalChange | None)
_KILL_ORDER = {KillScope.ALL: 0, KillScope.AGENT: 1, KillScope.TOOL: 2}


class MemoryStore(MemoryApprovals, MemoryRollback):
    """All of agentguard's state in this process's memory."""

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._audit: list[tuple[AuditEntry, AuditRecord]] = []
        self._reserved: dict[str, tuple[datetime, str | None, str]] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._approver_keys: dict[str, KeyRecord] = {}
        self._kills: dict[tuple[KillScope, str], Kill] = {}
        self._series: dict[str, _Series] = {}  # counters: events by key
        self._open: dict[int, dict[str, int]] = {}  # open reservations: key → event time
        self._tickets = itertools.count(1)
        self._breakers: dict[str, breaker.Breaker] = {}
        self._approvals: dict[str, Approval] = {}
        self._fingerprint_key = os.urandom(32)
        self._prints: dict[str, dict[str, dict[str, float]]] = {}

    def close(self) -> None:
        """Nothing to release."""

    # audit
    def append(self, entry: AuditEntry) -> AuditRecord:
        with self._lock:
            prev = self._audit[-1][1].hash if self._audit else GENESIS
            record = seal(entry, len(self._audit) + 1, prev)
            self._audit.append((entry, record))
            if entry.action_id is not None:
                self._reserved.pop(entry.action_id, None)
            return record

    def reserve(
        self, action_id: str, size: int, at: datetime, *, agent: str | None, tool: str
    ) -> None:
        with self._lock:
            self._reserved[action_id] = (at, agent, tool)

    def interrupted(self) -> list[tuple[str, datetime, str | None, str]]:
        with self._lock:
            return [(a, at, agent, tool) for a, (at, agent, tool) in self._reserved.items()]

    def search(self, query: AuditQuery) -> Iterator[AuditRecord]:
        with self._lock:
            # records are numbered 1, 2, … in list order: after_seq is a slice
            rows = self._audit[max(query.after_seq, 0) :] if query.after_seq else list(self._audit)
        if query.newest_first:
            rows.reverse()
        found = 0
        for entry, record in rows:
            if query.limit is not None and found >= query.limit:
                return
            if query.agent is not None and entry.agent_id != query.agent:
                continue
            if query.tool is not None and entry.action != query.tool:
                continue
            if query.decision is not None and entry.decision != query.decision:
                continue
            if query.since is not None and entry.timestamp < query.since:
                continue
            if query.until is not None and entry.timestamp >= query.until:
                continue
            found += 1
            yield record

    def count(self) -> int:
        with self._lock:
            return len(self._audit)

    def verify(self) -> Verification:
        with self._lock:
            # The entries are this store's index (search filters on them): check them too.
            rows = [
                StoredRow(
                    r.seq,
                    r.body,
                    r.prev_hash,
                    r.hash,
                    {
                        "ts": e.iso_timestamp,
                        "agent": e.agent_id,
                        "tool": e.action,
                        "decision": e.decision,
                    },
                )
                for e, r in self._audit
            ]
        return _verify_chain(rows, len(rows))

    # keys
    def _key_map(self, kind: KeyKind) -> dict[str, KeyRecord]:
        if kind == "agent":
            return self._keys
        if kind == "approver":
            return self._approver_keys
        raise ValueError(f"no keys of kind {kind!r}; kinds: agent, approver")

    def add_key(self, record: KeyRecord, *, kind: KeyKind = "agent") -> None:
        with self._lock:
            keys = self._key_map(kind)
            if record.key_id in keys:
                raise ValueError(f"key {record.key_id} exists")
            keys[record.key_id] = record

    def get_key(self, key_id: str, *, kind: KeyKind = "agent") -> KeyRecord | None:
        with self._lock:
            return self._key_map(kind).get(key_id)

    def revoke_key(self, key_id: str, at: datetime, *, kind: KeyKind = "agent") -> bool:
        with self._lock:
            keys = self._key_map(kind)
            record = keys.get(key_id)
            if record is None or record.revoked_at is not None:
                return False
            keys[key_id] = replace(record, revoked_at=at)
            return True

    def list_keys(self, *, kind: KeyKind = "agent") -> list[KeyRecord]:
        with self._lock:
            return sorted(self._key_map(kind).values(), key=lambda r: r.created_at)

    # kill switch
    def set_kill(self, kill: Kill) -> None:
        with self._lock:
            self._kills[(kill.scope, kill.target)] = kill

    def clear_kill(self, scope: KillScope, target: str) -> bool:
        with self._lock:
            return self._kills.pop((scope, target), None) is not None

    def find_kill(self, agent: str, tool: str) -> Kill | None:
        with self._lock:
            if not self._kills:
                return None
            for key in ((KillScope.ALL, "*"), (KillScope.AGENT, agent), (KillScope.TOOL, tool)):
                if key in self._kills:
                    return self._kills[key]
            return None

    def list_kills(self) -> list[Kill]:
        with self._lock:
            return sorted(self._kills.values(), key=lambda k: k.set_at)

    # counters
    def admit(
        self, requests: Sequence[WindowRequest], at: datetime, *, final: bool = False
    ) -> Admission:
        if not requests:
            return NOTHING_ASKED
        plan = plan_admission(requests, at)
        now, slots = plan.at, plan.slots
        with self._lock:
            found = [self._series.get(key) for key in plan.keys]
            totals = []
            for index, request in enumerate(requests):
                events = found[slots[index]]
                total = 0 if events is None else events.total(now - request.span, now)
                if total + request.units > request.limit_units:
                    totals.append(total)
                    return self._refuse(plan, index, totals, events)
                totals.append(total)
            ticket = 0 if final else next(self._tickets)
            for slot, key in enumerate(plan.keys):
                events = found[slot]
                if events is None:
                    events = self._series[key] = _Series()
                if events.horizon < plan.horizons[slot]:
                    events.horizon = plan.horizons[slot]
                if events.times and events.times[0] <= now - events.horizon:
                    self._forget(key, events.prune(now - events.horizon))
                events.insert(now, plan.units[slot], ticket)
            if final:
                return admitted(plan, totals, None)
            self._open[ticket] = dict.fromkeys(plan.keys, now)
            return admitted(plan, totals, f"m{ticket}")

    def _refuse(
        self, plan: AdmissionPlan, index: int, totals: list[int], events: _Series | None
    ) -> Admission:
        """Request ``index`` overflows: the totals of every window as they stand, and when
        its window will have room."""
        now, requests, found = plan.at, plan.requests, [self._series.get(k) for k in plan.keys]
        for later in range(index + 1, len(requests)):
            other = found[plan.slots[later]]
            span = requests[later].span
            totals.append(0 if other is None else other.total(now - span, now))
        request = requests[index]
        need = excess(request, totals[index])
        last = None
        if need is not None and events is not None:
            last = events.last_to_leave(now - request.span, need)
        return refused(plan, index, totals, last)

    def settle(self, reservation: str, actual: Mapping[str, Decimal], at: datetime) -> None:
        units = {key: to_units(amount) for key, amount in actual.items()}
        ticket = _ticket(reservation)
        with self._lock:
            for key, stamp in self._open.pop(ticket, {}).items():
                events = self._series[key]
                index = events.find(stamp, ticket)
                if index is not None:
                    events.tickets[index] = 0
                    if key in units:
                        events.change(index, units[key])

    def release(self, reservation: str) -> None:
        ticket = _ticket(reservation)
        with self._lock:
            for key, stamp in self._open.pop(ticket, {}).items():
                events = self._series[key]
                index = events.find(stamp, ticket)
                if index is not None:
                    events.remove(index)

    def total(self, key: str, at: datetime, window: timedelta) -> Decimal:
        now = to_micros(at)
        with self._lock:
            events = self._series.get(key)
            units = 0 if events is None else events.total(now - window // _MICRO, now)
        return from_units(units)

    def _forget(self, key: str, tickets: list[int]) -> None:
        """Open reservations whose event of ``key`` was pruned no longer hold it."""
        for ticket in tickets:
            held = self._open.get(ticket)
            if held is not None:
                held.pop(key, None)
                if not held:
                    del self._open[ticket]

    # breakers
    def breaker_admit(self, key: str, settings: BreakerSettings, at: datetime) -> BreakerDecision:
        with self._lock:
            current = self._breakers.get(key, _CLOSED)
            if current.state is BreakerState.CLOSED:
                return _ALLOWED
            after, decision = breaker.admit(current, settings, at)
            self._keep_breaker(key, after)
            return decision

    def breaker_record(
        self, key: str, ok: bool | None, settings: BreakerSettings, at: datetime
    ) -> BreakerTransition:
        with self._lock:
            after, change = breaker.record(self._breakers.get(key, _CLOSED), settings, ok, at)
            self._keep_breaker(key, after)
            return change

    def breaker_state(self, key: str, at: datetime) -> BreakerSnapshot:
        with self._lock:
            return breaker.snapshot(key, self._breakers.get(key, _CLOSED), at)

    def list_breakers(self, at: datetime) -> list[BreakerSnapshot]:
        with self._lock:
            return [breaker.snapshot(k, b, at) for k, b in sorted(self._breakers.items())]

    def reset_breaker(self, key: str) -> bool:
        with self._lock:
            current = self._breakers.pop(key, _CLOSED)
            return current.state is not BreakerState.CLOSED

    def _keep_breaker(self, key: str, state: breaker.Breaker) -> None:
        if state.idle:
            self._breakers.pop(key, None)
        else:
            self._breakers[key] = state

    # provenance
    def fingerprint_key(self) -> bytes:
        return self._fingerprint_key

    def remember(
        self, scope: str, owner: str, prints: Iterable[str], *, at: datetime, until: datetime
    ) -> None:
        stamp = until.timestamp()
        with self._lock:
            known = self._prints.setdefault(scope, {})
            for item in prints:
                owners = known.setdefault(item, {})
                owners[owner] = max(owners.get(owner, 0.0), stamp)

    def owners_of(
        self, scope: str, prints: Collection[str], at: datetime
    ) -> dict[str, frozenset[str]]:
        stamp = at.timestamp()
        with self._lock:
            known = self._prints.get(scope, {})
            found: dict[str, frozenset[str]] = {}
            for item in prints:
                owners = known.get(item)
                if owners:
                    live = frozenset(o for o, until in owners.items() if until > stamp)
                    if live:
                        found[item] = live
            return found


# ------------------------------------------------------- counters and breakers

_MICRO = timedelta(microseconds=1)
_CLOSED = breaker.Breaker()
_ALLOWED = BreakerDecision(True, BreakerState.CLOSED)


def _ticket(reservation: str) -> int:
    """The ticket a reservation id names (0, which no reservation has, when malformed)."""
    if reservation[:1] == "m" and reservation[1:].isdigit():
        return int(reservation[1:])
    return 0


class _Series:
    """One key's events in time order, as parallel lists, with their running sums so that a
    window's total is two bisections and a subtraction however many events it holds.

    ``sums[i]`` is the total of every event before ``i`` (plus whatever was pruned: only
    differences matter), so ``sums`` has one entry more than there are events and never
    decreases. ``tickets`` holds each event's open reservation (0 once settled);
    ``horizon`` is the longest window ever asked for the key: older events can go."""

    __slots__ = ("horizon", "sums", "tickets", "times", "units")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.units: list[int] = []
        self.tickets: list[int] = []
        self.sums: list[int] = [0]
        self.horizon = 0

    def total(self, start: int, end: int) -> int:
        times = self.times
        last = len(times) if not times or times[-1] <= end else bisect_right(times, end)
        return self.sums[last] - self.sums[bisect_right(times, start)]

    def last_to_leave(self, start: int, need: int) -> int:
        """The time of the event with which the oldest events after ``start`` add up to
        ``need`` (the caller knows they do)."""
        first = bisect_right(self.times, start)
        reach = bisect_left(self.sums, self.sums[first] + need, first + 1)
        return self.times[reach - 1]

    def insert(self, stamp: int, units: int, ticket: int) -> None:
        if not self.times or self.times[-1] <= stamp:
            self.times.append(stamp)
            self.units.append(units)
            self.tickets.append(ticket)
            self.sums.append(self.sums[-1] + units)
        else:  # stamped earlier than the last event (clocks of two threads): rare
            index = bisect_right(self.times, stamp)
            self.times.insert(index, stamp)
            self.units.insert(index, 0)
            self.tickets.insert(index, ticket)
            self.sums.insert(index + 1, self.sums[index])
            self.change(index, units)

    def change(self, index: int, units: int) -> None:
        """Set event ``index``'s amount. Costs the number of later events: settlements
        come soon after their admission, so there are few."""
        delta = units - self.units[index]
        self.units[index] = units
        if delta:
            sums = self.sums
            for later in range(index + 1, len(sums)):
                sums[later] += delta

    def remove(self, index: int) -> None:
        self.change(index, 0)
        del self.times[index], self.units[index], self.tickets[index], self.sums[index + 1]

    def find(self, stamp: int, ticket: int) -> int | None:
        index = bisect_left(self.times, stamp)
        while index < len(self.times) and self.times[index] == stamp:
            if self.tickets[index] == ticket:
                return index
            index += 1
        return None

    def prune(self, before: int, most: int = 64) -> list[int]:
        """Drop up to ``most`` events at or before ``before``; the open tickets they held."""
        count = min(bisect_right(self.times, before), most)
        if not count:
            return []
        gone = [t for t in self.tickets[:count] if t]
        del self.times[:count], self.units[:count], self.tickets[:count], self.sums[:count]
        return gone
