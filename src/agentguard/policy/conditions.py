"""CEL conditions: compiled once at load, checked against the tool's argument types, then
evaluated per action in a couple of microseconds.

A condition sees ``args`` (the call's arguments), ``agent`` (``id``, ``roles``, ``owner``),
``session`` and ``subject`` (strings, or null) and ``now`` (a UTC timestamp).

Money is ``Decimal`` in agentguard, but CEL has no decimal type: a condition sees an amount
as the nearest double. Rounding to the nearest double is monotonic and keeps any two
different decimals of at most 15 significant digits different, so comparing such amounts
(``args.amount < 500``, ``args.amount <= 499.99``) is exact. An amount with more
significant digits could compare wrongly, so it is refused (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import cel

VARIABLES = frozenset({"args", "agent", "session", "subject", "now"})
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_MAX_DIGITS = 15


class ConditionError(ValueError):
    """A condition that cannot be compiled or does not type-check."""


class ImpreciseNumber(ValueError):
    """A decimal with more precision than a condition can compare exactly."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled CEL condition.

    ``number_args`` names top-level arguments typed ``number``: they always reach CEL as
    doubles, so ``args.amount`` has one type whether the caller passed 120 or 120.5.
    """

    source: str
    program: Any = field(repr=False, compare=False)
    number_args: frozenset[str] = frozenset()
    #: The top-level variables the expression reads; only these are converted per call.
    needs: frozenset[str] = VARIABLES

    def evaluate(self, variables: Mapping[str, Any]) -> bool:
        """True or False; raises on a missing argument, a type mismatch or a non-boolean."""
        result = self.program.execute({k: v for k, v in variables.items() if k in self.needs})
        if result is True or result is False:
            return bool(result)
        raise TypeError(f"condition yielded a {type(result).__name__}, not true or false")

    def value(self, variables: Mapping[str, Any]) -> Any:
        """The expression's value, whatever its type (for ``recipient:`` and ``owner:``)."""
        return self.program.execute({k: v for k, v in variables.items() if k in self.needs})


def compile_condition(source: str, arg_schema: Mapping[str, Any] | None = None) -> Condition:
    """Compile ``source`` and check it against the tool's arguments schema, if known.

    Raises :class:`ConditionError` with a message that says how to fix the condition.
    """
    program = _compile(
        source,
        VARIABLES,
        "condition",
        "a condition may use args, agent, session, subject and now (for example args.amount < 500)",
    )
    properties = _properties(arg_schema)
    numbers = frozenset(
        name for name, spec in (properties or {}).items() if spec.get("type") == "number"
    )
    needs = frozenset(program.variables()) & VARIABLES
    condition = Condition(source, program, numbers, needs)
    if properties is not None:
        _trial(condition, properties, arg_schema or {})
    return condition


def compile_expression(source: str, names: frozenset[str] = VARIABLES) -> Condition:
    """Compile a CEL expression of any result type that may read ``names``.

    Used for ``recipient:``, ``recipient_owner:`` and ``owner:`` (which may also read
    ``result``). Raises :class:`ConditionError`.
    """
    hint = f"it may use {', '.join(sorted(names))}"
    program = _compile(source, names, "expression", hint)
    return Condition(source, program, frozenset(), frozenset(program.variables()) & names)


def _compile(source: str, names: frozenset[str], what: str, hint: str) -> Any:
    """Parse ``source`` and refuse names it may not read (macro variables aside)."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError(f"a {what} must be a non-empty CEL expression")
    try:
        program = cel.compile(source)
    except Exception as exc:
        raise ConditionError(_syntax_message(str(exc))) from None
    bound = set(_MACRO_VAR.findall(source))
    unknown = sorted(set(program.variables()) - names - bound)
    if unknown:
        raise ConditionError(f"unknown name {unknown[0]!r} in {what}; {hint}")
    return program


def _syntax_message(raw: str) -> str:
    # cel reports "Failed to parse expression '…': ERROR: <input>:1:14: Syntax error: …\n| …"
    match = re.search(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)", raw)
    if match:
        line, col, what = match.groups()
        return f"CEL syntax error at line {line}, column {col} of the condition: {what}"
    return f"CEL syntax error in condition: {raw.splitlines()[0] if raw else 'unparseable'}"


def _properties(schema: Mapping[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    if not schema or not isinstance(schema.get("properties"), Mapping):
        return None
    props = {k: v for k, v in schema["properties"].items() if isinstance(v, Mapping)}
    # Only check when every argument has one plain JSON type: then samples are faithful.
    if any(not isinstance(spec.get("type"), str) for spec in props.values()):
        return None
    return {k: dict(v) for k, v in props.items()}


_SAMPLES: dict[str, tuple[Any, Any]] = {
    "string": ("", "sample"),
    "integer": (0, 1_000_000),
    "number": (0.0, 1_000_000.5),
    "boolean": (False, True),
    "array": ([], []),
    "object": ({}, {}),
    "null": (None, None),
}


def _trial(
    condition: Condition, props: dict[str, dict[str, Any]], schema: Mapping[str, Any]
) -> None:
    """Type-check by evaluating against sample arguments of the declared types.

    Two samples (low and high values) exercise both sides of short-circuit operators. Only
    errors that any call would hit are reported: unknown arguments, operators applied to
    the wrong types, and results that are not booleans.
    """
    names = ", ".join(sorted(props)) or "none"
    for index in (0, 1):
        args = {
            name: _SAMPLES.get(spec["type"], (None, None))[index] for name, spec in props.items()
        }
        variables = sample_variables(args)
        try:
            condition.evaluate(variables)
        except KeyError as exc:
            key = exc.args[0] if exc.args else "?"
            if key in ("id", "roles", "owner"):
                continue
            if schema.get("additionalProperties", True) is False:
                raise ConditionError(
                    f"condition uses args.{key}, but the tool has no argument {key!r} "
                    f"(its arguments: {names})"
                ) from None
        except TypeError as exc:
            text = str(exc)
            if "yielded" in text:
                raise ConditionError(
                    f"a condition must be true or false, but this one {text.split('condition ')[1]}"
                ) from None
            first = text.split(". ")[0].rstrip(".")
            raise ConditionError(
                f"types do not match in condition ({first}); CEL does not convert between "
                "types, so compare numbers with numbers and strings with strings. The "
                f"arguments' types come from the tool's input schema: {_types(props)}"
            ) from None
        except Exception:  # noqa: S112 - runtime-only errors (index out of range) are not type errors
            continue


def _types(props: dict[str, dict[str, Any]]) -> str:
    return ", ".join(f"{name}: {spec['type']}" for name, spec in sorted(props.items()))


def sample_variables(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "args": dict(args),
        "agent": {"id": "agent", "roles": [], "owner": None},
        "session": None,
        "subject": None,
        "now": datetime(2026, 1, 1, tzinfo=UTC),
    }


def to_cel(value: Any) -> Any:
    """Convert a Python argument value into something CEL compares exactly (see module doc)."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is Decimal:
        return decimal_to_double(value)
    if kind is dict or isinstance(value, Mapping):
        return {str(k): to_cel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_cel(v) for v in value]
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, Decimal):
        return decimal_to_double(value)
    if isinstance(value, bytes):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_cel(dump())
    return str(value)


def decimal_to_double(value: Decimal) -> float:
    if not value.is_finite():
        raise ImpreciseNumber("a decimal argument is not a finite number")
    digits = value.normalize().as_tuple().digits
    if len(digits) > _MAX_DIGITS:
        raise ImpreciseNumber(
            f"a decimal argument has more than {_MAX_DIGITS} significant digits, "
            "too many to compare exactly in a condition"
        )
    return float(value)
