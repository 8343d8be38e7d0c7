"""An in-process store (``memory://``): for tests and one-off scripts. Nothing survives the
process and nothing is shared with other processes."""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from agentguard.audit import GENESIS, AuditEntry, AuditRecord, StoredRow, Verification, seal
from agentguard.audit import verify_chain as _verify_chain
from agentguard.store.base import Approval, ApprovalState, AuditQuery, KeyRecord, Kill, KillScope

_KILL_ORDER = {KillScope.ALL: 0, KillScope.AGENT: 1, KillScope.TOOL: 2}


class MemoryStore:
    """All of agentguard's state in this process's memory."""

    url = "memory://"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._audit: list[tuple[AuditEntry, AuditRecord]] = []
        self._reserved: dict[str, tuple[datetime, str | None, str]] = {}
        self._keys: dict[str, KeyRecord] = {}
        self._kills: dict[tuple[KillScope, str], Kill] = {}
        self._events: dict[str, list[tuple[float, Decimal]]] = {}
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
            rows = list(self._audit)
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
    def add_key(self, record: KeyRecord) -> None:
        with self._lock:
            if record.key_id in self._keys:
                raise ValueError(f"key {record.key_id} exists")
            self._keys[record.key_id] = record

    def get_key(self, key_id: str) -> KeyRecord | None:
        with self._lock:
            return self._keys.get(key_id)

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        with self._lock:
            record = self._keys.get(key_id)
            if record is None or record.revoked_at is not None:
                return False
            self._keys[key_id] = replace(record, revoked_at=at)
            return True

    def list_keys(self) -> list[KeyRecord]:
        with self._lock:
            return sorted(self._keys.values(), key=lambda r: r.created_at)

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
    def add(self, key: str, amount: Decimal, at: datetime, window: timedelta) -> Decimal:
        with self._lock:
            self._events.setdefault(key, []).append((at.timestamp(), amount))
            return self.total(key, at, window)

    def total(self, key: str, at: datetime, window: timedelta) -> Decimal:
        stamp = at.timestamp()
        start = stamp - window.total_seconds()
        with self._lock:
            events = self._events.get(key, [])
            return sum((a for t, a in events if start < t <= stamp), Decimal(0))

    # approvals
    def create_approval(self, approval: Approval) -> None:
        with self._lock:
            if approval.id in self._approvals:
                raise ValueError(f"approval {approval.id} exists")
            self._approvals[approval.id] = approval

    def get_approval(self, approval_id: str) -> Approval | None:
        with self._lock:
            return self._approvals.get(approval_id)

    def decide_approval(
        self, approval_id: str, state: ApprovalState, by: str, at: datetime, note: str | None
    ) -> Approval | None:
        with self._lock:
            current = self._approvals.get(approval_id)
            if current is None or current.state is not ApprovalState.PENDING:
                return None
            decided = replace(current, state=state, decided_by=by, decided_at=at, note=note)
            self._approvals[approval_id] = decided
            return decided

    def list_approvals(self, state: ApprovalState | None = None) -> list[Approval]:
        with self._lock:
            items = [a for a in self._approvals.values() if state is None or a.state is state]
        return sorted(items, key=lambda a: a.created_at)

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
