"""What agents did, tallied from the audit log: the figures behind ``agentguard status`` and
``agentguard metrics``.

The audit log is the one record that every process sharing a store writes, so figures
computed from it are the same whoever computes them: two exporters on one store show the
same numbers, and a restart loses nothing. :class:`AuditFollower` reads the log in order of
``seq``, remembering the last number it read, so each refresh reads only the new records;
:class:`Activity` adds them up:

* totals since the log began, per agent and tool (:class:`Totals`): actions by status,
  denials by the code of the reason that refused them, detector findings, spend and a
  latency histogram; control records (kill switches, keys) are tallied apart;
* recent windows for "the last hour" and "the last day" (:class:`Counts`), kept by the
  second for the last hour and by the minute before that.

Example::

    activity = Activity(clock=clock)
    follower = AuditFollower(store, activity)
    follower.poll()                                   # reads what is new since the last poll
    activity.window(timedelta(hours=1), match=lambda agent, tool: agent == "research_agent")

**Label values are bounded.** Agent and tool names are taken from the records as stored
(already tagged there when they did not look like names). At most ``max_names`` distinct
values of each kind (agents, tools, reason codes, …) keep their own name; values seen after
that are tallied under ``(other)``, so a caller inventing names cannot grow the figures
without bound. Names passed as ``names`` (the policy's agents and tools) always keep theirs.
Readers of the whole log read it from its first record, so they all agree on which names
those are. A record without an agent is tallied under ``(none)``.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from agentguard.audit import AuditRecord
from agentguard.clock import Clock, SystemClock
from agentguard.store.base import AuditQuery, AuditStore

#: the statuses of action records; ``executed``, ``failed`` and ``withheld`` calls ran
STATUSES = ("executed", "failed", "denied", "held", "withheld")
RAN = frozenset({"executed", "failed", "withheld"})
#: the layers whose reasons report what a detector found (detector rules, the leak guard)
FINDING_LAYERS = frozenset({"content", "leaks"})
#: the label of values past the ``max_names`` bound, and of a record without the value
OTHER = "(other)"
NONE = "(none)"
#: distinct values of one kind (agents, tools, codes …) that keep their own name, by default
DEFAULT_MAX_NAMES = 100
#: upper bounds of the latency histogram, in seconds (the last bucket, +Inf, is implied)
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: how long recent windows reach back, by default
DAY = timedelta(days=1)

_FINE = 3600  # the last hour is kept by the second; older activity by the minute
_SLOT = {status: index for index, status in enumerate(STATUSES, 1)}  # 0 counts every action
_ZERO = Decimal(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Match = Callable[[str, str], bool]


@dataclass(frozen=True, slots=True)
class Counts:
    """Actions in a window, by status, and what the executed ones cost (exact dollars).

    ``ran`` counts the calls whose tool ran (executed, failed, withheld); ``error_rate`` is
    the share of those that failed, or None when none ran.
    """

    actions: int = 0
    executed: int = 0
    failed: int = 0
    denied: int = 0
    held: int = 0
    withheld: int = 0
    spend: Decimal = _ZERO

    @property
    def ran(self) -> int:
        return self.executed + self.failed + self.withheld

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.ran if self.ran else None


@dataclass(slots=True)
class Totals:
    """Everything tallied for one agent and tool since the audit log began.

    ``statuses``: action records by status; ``denials``: denied actions by the code of the
    reason that refused them (the last one, ``(none)`` without one); ``findings``: reasons
    of the detector layers (:data:`FINDING_LAYERS`) by code; ``spend``: the ``cost`` of the
    records; ``latency``: how many calls that ran took at most each bound of
    :data:`LATENCY_BUCKETS` (not cumulative; the last entry is above every bound) and
    ``latency_sum`` their seconds in all.
    """

    statuses: Counter[str] = field(default_factory=Counter)
    denials: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    spend: Decimal = _ZERO
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0

    @property
    def errors(self) -> int:
        """Calls whose tool failed (raised, or had no implementation)."""
        return self.statuses["failed"]


class _Recent:
    """The recent counts of one agent and tool: by the second, then by the minute."""

    __slots__ = ("minutes", "seconds")

    def __init__(self) -> None:
        # each slot: [actions, executed, failed, denied, held, withheld, spend]
        self.seconds: dict[int, list[Any]] = {}
        self.minutes: dict[int, list[Any]] = {}

    def add(self, second: int, fine: bool, status: str, cost: Decimal | None) -> None:
        slots = self.seconds if fine else self.minutes
        key = second if fine else second // 60
        slot = slots.get(key)
        if slot is None:
            slot = slots[key] = [0, 0, 0, 0, 0, 0, _ZERO]
        slot[0] += 1
        index = _SLOT.get(status)
        if index is not None:
            slot[index] += 1
        if cost is not None:
            slot[6] += cost

    def prune(self, now: int, keep: int) -> None:
        """Fold seconds older than an hour into minutes; drop what is older than ``keep``."""
        fold = [s for s in self.seconds if s < now - _FINE]
        for second in fold:
            _merge(self.minutes.setdefault(second // 60, [0, 0, 0, 0, 0, 0, _ZERO]),
                   self.seconds.pop(second))  # fmt: skip
        oldest = now - keep
        for minute in [m for m in self.minutes if (m + 1) * 60 <= oldest]:
            del self.minutes[minute]

    def total(self, since: int, now: int, into: list[Any]) -> None:
        """Add the counts after second ``since`` to ``into`` (a window ending at ``now``
        holds what happened after its start, as the limits count). Minutes hold only
        activity older than an hour before ``now``: a window of an hour or less never reads
        them, a longer one every minute with a second after ``since``."""
        for second, slot in self.seconds.items():
            if second > since:
                _merge(into, slot)
        if since < now - _FINE:
            for minute, slot in self.minutes.items():
                if minute * 60 + 59 > since:
                    _merge(into, slot)

    @property
    def empty(self) -> bool:
        return not self.seconds and not self.minutes


def _merge(into: list[Any], slot: list[Any]) -> None:
    for index, value in enumerate(slot):
        into[index] += value


class Activity:
    """Tallies audit records (see the module's docs); not thread-safe (callers lock).

    ``keep``: how far back :meth:`window` can look (to the second within the last hour, to
    the minute before that). ``names``: agent and tool names that always keep their own
    label. ``clock`` tells which records are recent.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        keep: timedelta = DAY,
        max_names: int = DEFAULT_MAX_NAMES,
        names: Iterable[str] = (),
    ) -> None:
        if max_names < 1:
            raise ValueError("max_names must be at least 1")
        self.clock: Clock = clock or SystemClock()
        self.keep = keep
        self.max_names = max_names
        self.totals: dict[tuple[str, str], Totals] = {}
        #: control records by verb (kill, resume, keys.create, keys.revoke …)
        self.controls: Counter[str] = Counter()
        #: kill switches set, by scope (all, agent, tool) and target (a name, ``*`` for all)
        self.kills: Counter[tuple[str, str]] = Counter()
        #: records whose body is not a JSON object (altered: ``agentguard audit verify``)
        self.unreadable = 0
        self._recent: dict[tuple[str, str], _Recent] = {}
        self._reserved = frozenset(names)
        self._seen: dict[str, set[str]] = {}

    # ------------------------------------------------------------------- adding

    def add(self, record: AuditRecord) -> None:
        """Tally one record (each record once: :class:`AuditFollower` sees to that)."""
        try:
            data = orjson.loads(record.body)
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            self.unreadable += 1
            return
        kind = data.get("kind")
        if kind == "action":
            self._add_action(data)
        elif kind == "control":
            self._add_control(data)

    def _add_action(self, data: Mapping[str, Any]) -> None:
        agent = self._label("agent", data.get("agent_id"))
        tool = self._label("tool", data.get("action"))
        status = self._label("status", data.get("status"))
        totals = self.totals.get((agent, tool))
        if totals is None:
            totals = self.totals[(agent, tool)] = Totals()
        totals.statuses[status] += 1
        reasons = [r for r in data.get("reasons") or () if isinstance(r, dict)]
        if status == "denied":
            code = reasons[-1].get("code") if reasons else None
            totals.denials[self._label("code", code)] += 1
        for reason in reasons:
            if reason.get("layer") in FINDING_LAYERS:
                totals.findings[self._label("code", reason.get("code"))] += 1
        cost = _money(data.get("cost"))
        if cost is not None:
            totals.spend += cost
        duration = data.get("duration_ms")
        if status in RAN and isinstance(duration, int | float) and duration >= 0:
            seconds = duration / 1000
            totals.latency[_bucket(seconds)] += 1
            totals.latency_sum += seconds
        moment = _second(data.get("timestamp"))
        if moment is None:
            return
        now = _second_of(self.clock.now())
        if moment <= now - self.keep.total_seconds():
            return
        recent = self._recent.get((agent, tool))
        if recent is None:
            recent = self._recent[(agent, tool)] = _Recent()
        recent.add(moment, moment >= now - _FINE, status, cost)

    def _add_control(self, data: Mapping[str, Any]) -> None:
        verb = data.get("decision")
        self.controls[self._label("control", verb)] += 1
        if verb == "kill":
            metadata = data.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            scope = self._label("scope", metadata.get("scope"))
            self.kills[(scope, self._label("target", metadata.get("target")))] += 1

    def _label(self, kind: str, value: Any) -> str:
        """``value`` as a label: its own name while fewer than ``max_names`` are known."""
        if not isinstance(value, str) or not value:
            return NONE
        if value in self._reserved and kind in ("agent", "tool"):
            return value
        seen = self._seen.setdefault(kind, set())
        if value in seen:
            return value
        if len(seen) >= self.max_names:
            return OTHER
        seen.add(value)
        return value

    # ------------------------------------------------------------------ reading

    def window(
        self, span: timedelta, *, now: datetime | None = None, match: Match | None = None
    ) -> Counts:
        """The actions of the last ``span`` (at most ``keep``) up to ``now`` (default: the
        clock), of the agents and tools for which ``match(agent, tool)`` is true (all by
        default). Records stamped after ``now`` (a clock ahead) count too."""
        into: list[Any] = [0, 0, 0, 0, 0, 0, _ZERO]
        for (agent, tool), counts in self._totals_since(span, now).items():
            if match is None or match(agent, tool):
                _merge(into, counts)
        return Counts(*into)

    def by_agent(self, span: timedelta, *, now: datetime | None = None) -> dict[str, Counts]:
        """:meth:`window` for each agent with actions in the last ``keep``."""
        sums: dict[str, list[Any]] = {}
        for (agent, _), counts in self._totals_since(span, now).items():
            _merge(sums.setdefault(agent, [0, 0, 0, 0, 0, 0, _ZERO]), counts)
        return {agent: Counts(*into) for agent, into in sums.items()}

    def by_series(
        self, span: timedelta, *, now: datetime | None = None
    ) -> dict[tuple[str, str], Counts]:
        """:meth:`window` for each agent and tool with actions in the last ``keep``."""
        return {series: Counts(*c) for series, c in self._totals_since(span, now).items()}

    def _totals_since(
        self, span: timedelta, now: datetime | None
    ) -> dict[tuple[str, str], list[Any]]:
        if span > self.keep:
            raise ValueError(f"a window of {span} reaches further back than the {self.keep} kept")
        moment = now or self.clock.now()
        second, since = _second_of(moment), _second_of(moment - span)
        keep = int(self.keep.total_seconds())
        out: dict[tuple[str, str], list[Any]] = {}
        for series in list(self._recent):
            recent = self._recent[series]
            recent.prune(second, keep)
            if recent.empty:
                del self._recent[series]
                continue
            recent.total(since, second, out.setdefault(series, [0, 0, 0, 0, 0, 0, _ZERO]))
        return out


class AuditFollower:
    """Reads a store's audit log into an :class:`Activity`: each record once, in ``seq``
    order, ``batch`` records per query. ``since``: skip records stamped before it.

    A store numbers records in the order it commits them and a record becomes visible with
    its number (SQLite appends under its write lock, one statement a record), so a reader
    that asks for ``seq`` above the last it read misses none, whichever process wrote them.
    """

    def __init__(
        self,
        store: AuditStore,
        activity: Activity,
        *,
        since: datetime | None = None,
        batch: int = 1000,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.store = store
        self.activity = activity
        self.since = since
        self.batch = batch
        #: the highest ``seq`` read so far (0: none)
        self.last_seq = 0

    def poll(self) -> int:
        """Read every record written since the last poll; returns how many."""
        read = 0
        while True:
            query = AuditQuery(since=self.since, after_seq=self.last_seq, limit=self.batch)
            records = list(self.store.search(query))
            for record in records:
                self.activity.add(record)
                self.last_seq = record.seq
            read += len(records)
            if len(records) < self.batch:
                return read


def matching(agent: str | None = None, tool: str | None = None) -> Match:
    """A ``match`` for :meth:`Activity.window`: this agent (None: any; ``"*"`` too) and this
    tool, a name or a glob such as ``send_*`` (None: any)."""

    def match(series_agent: str, series_tool: str) -> bool:
        if agent not in (None, "*") and series_agent != agent:
            return False
        return tool is None or tool == series_tool or fnmatch.fnmatchcase(series_tool, tool)

    return match


def _bucket(seconds: float) -> int:
    for index, bound in enumerate(LATENCY_BUCKETS):
        if seconds <= bound:
            return index
    return len(LATENCY_BUCKETS)


def _money(value: Any) -> Decimal | None:
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _second(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _second_of(moment)


def _second_of(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)
