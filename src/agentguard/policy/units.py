"""Durations (``90s``, ``2h``, ``1d``) and money (``Decimal``, never float) as policy values."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


_MAX_SECONDS = Decimal(100 * 366 * 86400)


def parse_duration(value: Any) -> timedelta:
    """Parse ``90s``, ``5m``, ``2h``, ``1d``, ``1w`` (or ``250ms``) into a timedelta.

    >>> parse_duration("2h")
    datetime.timedelta(seconds=7200)
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError("a duration is a number followed by a unit, such as 90s, 5m, 2h or 1d")
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a duration; write a number followed by ms, s, m, h, d or w "
            "(for example 90s, 2h, 1d)"
        )
    amount, unit = match.groups()
    seconds = Decimal(amount) * Decimal(str(_UNIT_SECONDS[unit]))
    if seconds <= 0:
        raise ValueError("a duration must be longer than zero")
    if seconds > _MAX_SECONDS:
        raise ValueError(f"{value!r} is too long a duration; the longest is 100 years")
    result = timedelta(seconds=float(seconds))
    if not result:
        raise ValueError(f"{value!r} is shorter than a microsecond, the shortest duration")
    return result


def format_duration(value: timedelta) -> str:
    """The shortest policy spelling of a duration (``timedelta(hours=2)`` → ``2h``)."""
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{round(seconds * 1000)}ms"


def parse_money(value: Any) -> Decimal:
    """Parse a dollar amount into an exact Decimal: ``10``, ``0.002``, ``"$10.00"``.

    YAML floats are converted through their shortest decimal spelling, so ``0.1`` is exactly
    ``Decimal("0.1")``, never ``0.1000000000000000055…``.
    """
    if isinstance(value, bool):
        raise ValueError("an amount of money must be a number such as 10 or 0.002")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(float(value)))
    elif isinstance(value, str):
        text = value.strip().removeprefix("$").replace(",", "").strip()
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not an amount of money; write it like 10.00") from None
    else:
        raise ValueError("an amount of money must be a number such as 10 or 0.002")
    if not result.is_finite() or result < 0:
        raise ValueError("an amount of money must be a finite number, zero or more")
    return result


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": _DURATION.pattern, "examples": ["90s", "2h", "1d"]}
    ),
]
Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": ["number", "string"], "examples": [10, "0.002", "$10.00"]}),
]
