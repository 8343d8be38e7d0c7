"""The memory store's rollback journal (:class:`~agentguard.store.base.RollbackStore`),
mixed into :class:`agentguard.store.memory.MemoryStore`: every change under the store's
lock.

Values are kept as the same JSON text the SQLite store writes (see
:mod:`agentguard.journal`), so both backends accept and return exactly the same values,
and a caller changing its arguments afterwards does not change the journal.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentguard.journal import JournalEntry, JournalState, dumps, loads


@dataclass(frozen=True, slots=True)
class _Kept:
    seq: int
    entry: JournalEntry  # without its values: they are the texts beside it
    args: str
    result: str
    snapshot: str

    def load(self) -> JournalEntry:
        return replace(
            self.entry,
            args=loads(self.args),
            result=loads(self.result),
            snapshot=loads(self.snapshot),
            seq=self.seq,
        )


class MemoryRollback:
    """The rollback-journal methods of the memory store."""

    if TYPE_CHECKING:
        _lock: Any

    def _journal(self) -> dict[str, _Kept]:
        """The entries by action id (made on first use; call holding the lock)."""
        kept: dict[str, _Kept] | None = self.__dict__.get("_rollback_journal")
        if kept is None:
            kept = self.__dict__.setdefault("_rollback_journal", {})
            self.__dict__["_rollback_seq"] = itertools.count(1)
        return kept

    def journal_add(self, entry: JournalEntry) -> None:
        texts = (dumps(dict(entry.args)), dumps(entry.result), dumps(entry.snapshot))
        bare = replace(
            entry,
            state=JournalState(entry.state),
            at=entry.at.astimezone(UTC),
            args={},
            result=None,
            snapshot=None,
        )
        with self._lock:
            journal = self._journal()
            if entry.action_id in journal:
                raise ValueError(f"action {entry.action_id!r} has a journal entry already")
            seq = next(self.__dict__["_rollback_seq"])
            journal[entry.action_id] = _Kept(seq, bare, *texts)

    def journal_get(self, action_id: str) -> JournalEntry | None:
        with self._lock:
            kept = self._journal().get(action_id)
        return None if kept is None else kept.load()

    def journal_list(
        self,
        *,
        action: str | None = None,
        session: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        states: Collection[JournalState] | None = None,
    ) -> list[JournalEntry]:
        wanted = None if states is None else {JournalState(s) for s in states}
        with self._lock:
            found = [
                kept
                for kept in self._journal().values()
                if (action is None or kept.entry.action_id == action)
                and (session is None or kept.entry.session == session)
                and (agent is None or kept.entry.agent == agent)
                and (since is None or kept.entry.at >= since)
                and (wanted is None or kept.entry.state in wanted)
            ]
        found.sort(key=lambda kept: (kept.entry.at, kept.seq))
        return [kept.load() for kept in found]

    def journal_claim(self, action_id: str, at: datetime) -> JournalEntry | None:
        with self._lock:
            journal = self._journal()
            kept = journal.get(action_id)
            if kept is None or kept.entry.state is not JournalState.DONE:
                return None
            entry = replace(kept.entry, state=JournalState.UNDOING, claimed_at=at.astimezone(UTC))
            journal[action_id] = replace(kept, entry=entry)
            return journal[action_id].load()

    def journal_finish(
        self, action_id: str, ok: bool, at: datetime, *, note: str | None = None
    ) -> JournalEntry | None:
        with self._lock:
            journal = self._journal()
            kept = journal.get(action_id)
            if kept is None or kept.entry.state is not JournalState.UNDOING:
                return None
            if ok:
                entry = replace(
                    kept.entry, state=JournalState.UNDONE, undone_at=at.astimezone(UTC), note=None
                )
            else:
                entry = replace(
                    kept.entry, state=JournalState.DONE, claimed_at=None, note=note or "failed"
                )
            journal[action_id] = replace(kept, entry=entry)
            return journal[action_id].load()
