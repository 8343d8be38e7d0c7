"""The rollback journal's values: what an executed action of a reversible tool left behind
so that it can be undone, and the JSON encoding stores keep it in.

Unlike the audit log, the journal holds the action's **raw** arguments and, when the undo
reads it, its result (for a ``snapshot:`` tool, the raw state captured before it ran): the
compensating call needs them as they were, so they are neither masked nor redacted. Keep
the store as private as the tools' own data. An entry moves through three states, and only
a claim (one caller wins) starts an undo, so an action is undone at most once::

    done ──claim──► undoing ──finish ok──► undone
                       └────finish failed──► done   (with a note; may be tried again;
                                                     also how an interrupted undo is released)

Values are stored as JSON text that round-trips exactly what tools pass around: a
``Decimal`` comes back as the same ``Decimal`` (``0.10`` stays ``0.10``), a datetime with
its zone, bytes, tuples and sets as themselves (a frozenset as a set). Example::

    text = dumps({"amount": Decimal("0.10"), "at": now})
    assert loads(text) == {"amount": Decimal("0.10"), "at": now}
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson

#: the key that marks a tagged value (``{"__ag__": "decimal", "v": "0.10"}``); a tool's
#: own dict that has this key is stored tagged as a dict, so it can never be mistaken
TAG = "__ag__"
_MAX_DEPTH = 200
_MAX_INT = 2**63 - 1


class JournalState(enum.StrEnum):
    """Where an entry stands: ``done`` (may be undone), ``undoing`` (claimed by one
    caller, undo running or interrupted), ``undone``."""

    DONE = "done"
    UNDOING = "undoing"
    UNDONE = "undone"


class UndoKind(enum.StrEnum):
    """How an entry is undone: a compensating tool (``undo:``) or a restore of the state
    captured before the action (``snapshot:``)."""

    UNDO = "undo"
    SNAPSHOT = "snapshot"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One executed action of a reversible tool, keyed by its action id (one entry per
    action). ``args``, ``result`` and ``snapshot`` are the raw values (see the module
    docstring) and are kept out of ``repr``; ``undo_tool`` is the compensating or restoring
    tool the policy named when the action ran; ``note`` says why the last undo failed (an
    exception type, never a value)."""

    action_id: str
    agent: str
    tool: str
    at: datetime
    kind: UndoKind
    undo_tool: str
    session: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict, repr=False)
    result: Any = field(default=None, repr=False)
    snapshot: Any = field(default=None, repr=False)
    state: JournalState = JournalState.DONE
    claimed_at: datetime | None = None
    undone_at: datetime | None = None
    note: str | None = None
    #: the store's order of entries, which breaks ties of ``at`` (0 until stored)
    seq: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.at, datetime) or self.at.utcoffset() is None:
            raise ValueError("a journal entry's `at` must be a timezone-aware datetime")

    def describe(self) -> dict[str, Any]:
        """The entry without its values (ids, names, times, state): safe to print."""
        return {
            "action": self.action_id,
            "agent": self.agent,
            "session": self.session,
            "tool": self.tool,
            "at": _iso(self.at),
            "kind": str(self.kind),
            "undo_tool": self.undo_tool,
            "state": str(self.state),
            "undone_at": _iso(self.undone_at),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state a tool's ``snapshot.tool`` captured just before its action ran (raw: never
    print it), which :meth:`agentguard.rollback.Rollback.after` keeps for the restore."""

    tool: str
    state: Any = field(repr=False)


# ------------------------------------------------------------------------ codec


def dumps(value: Any) -> str:
    """``value`` as journal JSON. ``ValueError`` (naming a type, never a value) for what
    cannot be stored exactly: objects other than JSON types, Decimal, datetime, date, time,
    timedelta, bytes, tuples, sets, pydantic models and dataclasses (which come back as
    dicts); keys that are not strings; nesting deeper than 200 levels."""
    try:
        return orjson.dumps(_tagged(value, 0)).decode()
    except orjson.JSONEncodeError as exc:  # a lone surrogate in a string
        raise ValueError(
            f"a value cannot be stored in the journal ({type(exc).__name__})"
        ) from None


def loads(text: str) -> Any:
    """The value :func:`dumps` stored. ``ValueError`` for text it did not write."""
    try:
        return _untagged(orjson.loads(text))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValueError(f"a journal value is damaged ({type(exc).__name__})") from None


def _tag(kind: str, value: Any) -> dict[str, Any]:
    return {TAG: kind, "v": value}


def _tagged(value: Any, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("a value is nested too deeply to be stored in the journal")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value) if -_MAX_INT <= value <= _MAX_INT else _tag("int", str(int(value)))
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else _tag("float", repr(float(value)))
    if isinstance(value, Decimal):
        return _tag("decimal", str(value))
    if isinstance(value, datetime):
        # a named zone by its name (an offset alone loses the zone's rules), and the fold
        # that tells apart the two readings of an ambiguous wall time
        if isinstance(value.tzinfo, ZoneInfo):
            return _tag(
                "datetime", [value.replace(tzinfo=None).isoformat(), value.tzinfo.key, value.fold]
            )
        return _tag("datetime", [value.isoformat(), None, value.fold])
    if isinstance(value, date):
        return _tag("date", value.isoformat())
    if isinstance(value, time):
        return _tag("time", [value.isoformat(), value.fold])
    if isinstance(value, timedelta):
        return _tag("timedelta", [value.days, value.seconds, value.microseconds])
    if isinstance(value, bytes | bytearray):
        return _tag("bytes", bytes(value).hex())
    if isinstance(value, Mapping):
        items: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(
                    f"a mapping key of type {type(key).__name__} cannot be stored in the journal"
                )
            items[str(key)] = _tagged(item, depth + 1)
        return _tag("dict", items) if TAG in items else items
    if isinstance(value, list):
        return [_tagged(item, depth + 1) for item in value]
    if isinstance(value, tuple):
        return _tag("tuple", [_tagged(item, depth + 1) for item in value])
    if isinstance(value, set | frozenset):
        return _tag("set", [_tagged(item, depth + 1) for item in value])
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return _tagged(dump(), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _tagged({f.name: getattr(value, f.name) for f in dataclasses.fields(value)}, depth)
    raise ValueError(f"a value of type {type(value).__name__} cannot be stored in the journal")


def _untagged(value: Any) -> Any:
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    if not isinstance(value, dict):
        return value
    if TAG not in value:
        return {key: _untagged(item) for key, item in value.items()}
    kind, inner = value[TAG], value["v"]
    if kind == "dict":
        return {key: _untagged(item) for key, item in inner.items()}
    if kind == "decimal":
        return Decimal(inner)
    if kind == "datetime":
        text, zone, fold = inner
        moment = datetime.fromisoformat(text).replace(fold=fold)
        return moment if zone is None else moment.replace(tzinfo=ZoneInfo(zone))
    if kind == "date":
        return date.fromisoformat(inner)
    if kind == "time":
        return time.fromisoformat(inner[0]).replace(fold=inner[1])
    if kind == "timedelta":
        days, seconds, micros = inner
        return timedelta(days=days, seconds=seconds, microseconds=micros)
    if kind == "bytes":
        return bytes.fromhex(inner)
    if kind == "int":
        return int(inner)
    if kind == "float":
        return float(inner)
    if kind == "tuple":
        return tuple(_untagged(item) for item in inner)
    if kind == "set":
        return {_untagged(item) for item in inner}
    raise KeyError(kind)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
