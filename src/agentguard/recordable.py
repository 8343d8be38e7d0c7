"""Any Python value made fit for an audit record: JSON-safe, bounded, never raising.

A tool may return, and an agent may send, anything: lone surrogates (``json.loads``
accepts ``"\\ud800"``), integers of 100,000 digits, NaN, objects 10,000 levels deep, a
list of a million rows, an object whose ``__repr__`` raises. The record of the action must
still be written, so :func:`recordable` turns every value into plain JSON types first:

* strings: lone surrogates become U+FFFD (SQLite and UTF-8 cannot store them);
* integers beyond 64 bits become their decimal text (a detector still sees a card number
  written as an integer), and beyond 4,096 bits a description, since Python refuses to
  print them; NaN and infinities become the strings ``NaN``, ``Infinity``, ``-Infinity``;
* containers deeper than :data:`MAX_DEPTH` levels, or longer than :data:`MAX_ITEMS`, are
  cut, with a note saying how much; every value past :data:`MAX_NODES` in one record too;
* other objects: pydantic models and dataclasses as their fields, bytes by their length,
  dates in ISO 8601, anything else by ``repr`` (or its type name when ``repr`` raises).

Strings are not shortened here: redaction must see a secret whole before any cut
(see :mod:`agentguard.audit_record`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

MAX_DEPTH = 64
MAX_ITEMS = 10_000
MAX_NODES = 200_000
_BIG_INT_BITS = 64
_HUGE_INT_BITS = 4096
#: a surrogate code point: in a str, always a lone one (pairs are one character)
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (a no-op for valid text)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def safe_str(value: object) -> str:
    """``str(value)`` that never raises (an exception whose ``__str__`` fails, say)."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        return f"<{_type_name(value)}: unprintable>"
    return clean_text(text) if isinstance(text, str) else f"<{_type_name(value)}>"


def describe_error(error: BaseException) -> str:
    """``TypeName: message`` of an exception, whatever its ``__str__`` does."""
    return f"{_type_name(error)}: {safe_str(error)}"


def _type_name(value: object) -> str:
    try:
        return clean_text(type(value).__name__)
    except Exception:
        return "object"


class _Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_NODES


def recordable(value: Any) -> Any:
    """A JSON-safe, bounded copy of ``value`` (see the module docstring). Never raises."""
    try:
        return _convert(value, 0, _Budget())
    except Exception as exc:  # a hostile object (a mapping whose items() raises …)
        return f"<value could not be recorded: {_type_name(exc)}>"


def _convert(value: Any, depth: int, budget: _Budget) -> Any:
    budget.left -= 1
    kind = type(value)
    if kind is str:
        return clean_text(value)
    if value is None or kind is bool:
        return value
    if kind is int or isinstance(value, int):
        return _int(int(value))
    if kind is float or isinstance(value, float):
        number = float(value)
        if math.isfinite(number):
            return number
        return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return value if value.is_finite() else str(value)
    if budget.left < 0:
        return "[cut: the record holds too many values]"
    if isinstance(value, Mapping | list | tuple | set | frozenset) and depth >= MAX_DEPTH:
        return f"[cut: nested deeper than {MAX_DEPTH} levels]"
    if isinstance(value, Mapping):
        return _mapping(value, depth, budget)
    if isinstance(value, list | tuple | set | frozenset):
        return _sequence(value, depth, budget)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, str):  # a str subclass
        return clean_text(str.__str__(value))
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return _convert(dump(mode="json"), depth, budget)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
        return _mapping(fields, depth, budget)
    return _repr(value)


def _int(number: int) -> int | str:
    bits = number.bit_length()
    if bits <= _BIG_INT_BITS:
        return number
    if bits <= _HUGE_INT_BITS:
        return str(number)
    sign = "-" if number < 0 else ""
    return f"<{sign}integer of {bits} bits>"


def _mapping(value: Mapping[Any, Any], depth: int, budget: _Budget) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, (key, item) in enumerate(value.items()):
        if index >= MAX_ITEMS:
            out["[cut]"] = f"{len(value) - MAX_ITEMS} more entries"
            break
        name = _key(key)
        while name in out:  # two keys that read the same once cleaned: keep both
            name += "\u2032"
        out[name] = _convert(item, depth + 1, budget)
    return out


def _key(key: Any) -> str:
    if type(key) is str:
        return clean_text(key)
    if key is None or isinstance(key, bool):
        return "null" if key is None else ("true" if key else "false")
    if isinstance(key, int | float | Decimal):
        return str(_convert(key, 0, _Budget()))
    return _repr(key)


def _sequence(value: Any, depth: int, budget: _Budget) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(value):
        if index >= MAX_ITEMS:
            out.append(f"[cut: {len(value) - MAX_ITEMS} more items]")
            break
        out.append(_convert(item, depth + 1, budget))
    return out


def _repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        return f"<{_type_name(value)}: unprintable>"
    return clean_text(text) if isinstance(text, str) else f"<{_type_name(value)}>"
