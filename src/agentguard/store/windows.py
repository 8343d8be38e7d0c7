"""Sliding-window counting, independent of any backend: the request a layer makes
(:class:`WindowRequest`), the answer (:class:`Admission`), exact integer units for money,
and the planning and verdict helpers every :class:`~agentguard.store.base.CounterStore`
backend shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import NamedTuple

#: Amounts are kept as integer millionths (a micro-dollar): exact, summed by the database,
#: and within a double's exact range for a future Lua script. An amount finer than that is
#: rounded up and a limit down, so rounding never lets more through.
UNITS_PER_ONE = 1_000_000
#: The largest amount or limit accepted (a billion calls or dollars in one window).
MAX_AMOUNT = Decimal(1_000_000_000)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_SCALE = Decimal(UNITS_PER_ONE)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class WindowRequest:
    """Ask to put ``amount`` into the sliding window ``window`` of ``key``, which may hold at
    most ``limit`` (inclusive). ``amount`` is 1 for a count, estimated dollars for a budget.

    Example: 50 sends an hour and 500 a day, and $10 an hour::

        WindowRequest("count:email_agent:send_email", Decimal(1), Decimal(50), timedelta(hours=1))
        WindowRequest("count:email_agent:send_email", Decimal(1), Decimal(500), timedelta(days=1))
        WindowRequest("cost:email_agent", Decimal("0.002"), Decimal(10), timedelta(hours=1))

    ``ValueError`` here, when it is made, unless amount and limit are finite Decimals (or
    ints) between 0 and :data:`MAX_AMOUNT` and the window is positive. A request whose
    amount and limit do not change (a count) can be made once and reused: the integers a
    backend works with (``units``, ``limit_units``, ``span``) are computed here.
    """

    key: str
    amount: Decimal
    limit: Decimal
    window: timedelta
    units: int = field(init=False, repr=False, compare=False)  # amount in millionths, rounded up
    limit_units: int = field(init=False, repr=False, compare=False)  # limit, rounded down
    span: int = field(init=False, repr=False, compare=False)  # window in microseconds

    def __post_init__(self) -> None:
        span = self.window // _MICRO
        if span <= 0:
            raise ValueError(f"the window of {self.key!r} must be positive")
        object.__setattr__(self, "units", to_units(self.amount))
        object.__setattr__(self, "limit_units", to_units(self.limit, up=False))
        object.__setattr__(self, "span", span)


@dataclass(frozen=True, slots=True)
class Admission:
    """The answer to :meth:`CounterStore.admit`.

    ``reservation`` names the admitted events, for :meth:`CounterStore.settle` or
    :meth:`CounterStore.release`. When refused, ``refused`` is the first request that would
    overflow its window and ``retry_after`` how long until enough of that window's oldest
    events expire for its amount to fit (None: never, its amount exceeds its limit).
    ``totals`` has one entry per request: its window's total after admission, or as it
    stands when refused.
    """

    admitted: bool
    reservation: str | None
    refused: WindowRequest | None
    retry_after: timedelta | None
    totals: tuple[Decimal, ...]


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch: exact, unlike ``datetime.timestamp()``."""
    return (moment - _EPOCH) // _MICRO


def to_units(amount: Decimal | int, *, up: bool = True) -> int:
    """``amount`` in millionths, rounded up (an amount) or down (a limit, ``up=False``).
    ``ValueError`` unless it is a finite Decimal (or int) between 0 and :data:`MAX_AMOUNT`."""
    if type(amount) is int:
        amount = Decimal(amount)
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise ValueError("amounts and limits must be finite Decimals")
    if not _ZERO <= amount <= MAX_AMOUNT:
        raise ValueError(f"amounts and limits must be between 0 and {MAX_AMOUNT}")
    scaled = amount * _SCALE
    return int(scaled.to_integral_value(ROUND_CEILING if up else ROUND_FLOOR))


_DECIMALS: dict[int, Decimal] = {}  # totals seen lately, as Decimals (counts repeat)


def from_units(units: int) -> Decimal:
    """The Decimal an integer number of millionths stands for (``1.5``, not ``1.500000``)."""
    value = _DECIMALS.get(units)
    if value is None:
        whole, rest = divmod(units, UNITS_PER_ONE)
        value = Decimal(whole) if not rest else (Decimal(units) / _SCALE).normalize()
        if len(_DECIMALS) >= 4096:
            _DECIMALS.clear()
        _DECIMALS[units] = value
    return value


class AdmissionPlan(NamedTuple):
    """Requests grouped by key for a backend's ``admit``: ``keys`` are the distinct keys in
    order of first appearance, ``units`` the one event amount of each and ``horizons`` its
    longest window (µs); ``slots[i]`` is the index in ``keys`` of ``requests[i]``'s key;
    ``at`` is the moment in microseconds. (A named tuple: made on every admission.)"""

    at: int
    requests: Sequence[WindowRequest]
    slots: list[int]
    keys: list[str]
    units: list[int]
    horizons: list[int]


def plan_admission(requests: Sequence[WindowRequest], at: datetime) -> AdmissionPlan:
    """Group ``requests`` by key; ``ValueError`` (before any backend work) when two requests
    for one key ask different amounts: one event cannot be both."""
    index: dict[str, int] = {}
    slots: list[int] = []
    keys: list[str] = []
    units: list[int] = []
    horizons: list[int] = []
    for request in requests:
        slot = index.get(request.key)
        if slot is None:
            index[request.key] = len(keys)
            slots.append(len(keys))
            keys.append(request.key)
            units.append(request.units)
            horizons.append(request.span)
            continue
        first = requests[slots.index(slot)]
        if request.amount != first.amount:
            raise ValueError(
                f"requests for {request.key!r} ask different amounts: one event cannot be both"
            )
        if request.span > horizons[slot]:
            horizons[slot] = request.span
        slots.append(slot)
    return AdmissionPlan((at - _EPOCH) // _MICRO, requests, slots, keys, units, horizons)


def first_overflow(plan: AdmissionPlan, totals: Sequence[int]) -> int | None:
    """The index of the first request whose window (with ``totals[i]`` already in it) has
    no room for its amount, or None when every one fits."""
    for index, request in enumerate(plan.requests):
        if totals[index] + request.units > request.limit_units:
            return index
    return None


def excess(request: WindowRequest, total: int) -> int | None:
    """How many units must leave ``request``'s window, now holding ``total``, before its
    amount fits; None when it never will (its amount is above its limit). The backend finds
    the oldest events adding up to that: when the last of them leaves (an event at ``t``
    leaves at ``t + window``), there is room."""
    if request.units > request.limit_units:
        return None
    return total + request.units - request.limit_units


def admitted(plan: AdmissionPlan, totals: list[int], reservation: str | None) -> Admission:
    """Every request fits: ``totals`` (as they stood) become the totals with the event."""
    known, requests = _DECIMALS, plan.requests
    after = []
    for index, total in enumerate(totals):
        units = total + requests[index].units
        value = known.get(units)
        after.append(from_units(units) if value is None else value)
    return Admission(True, reservation, None, None, tuple(after))


def refused(plan: AdmissionPlan, index: int, totals: Sequence[int], last: int | None) -> Admission:
    """Request ``index`` does not fit; room comes when the event at ``last`` (µs) leaves its
    window (None: never)."""
    request = plan.requests[index]
    wait = None if last is None else max(last + request.span - plan.at, 0) * _MICRO
    return Admission(False, None, request, wait, tuple(from_units(t) for t in totals))


#: the answer to an empty request list
NOTHING_ASKED = Admission(True, None, None, None, ())
