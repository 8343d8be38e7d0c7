"""Input validation: size and depth limits, unicode cleanup, the tool's JSON Schema, and
conversion to the registered function's parameter types.

The cleaned, converted arguments replace the originals, so later layers judge and the tool
receives exactly what was validated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import fastjsonschema

from agentguard.errors import InvalidInput
from agentguard.layers.registry import LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Reason, Step, Verdict, deny
from agentguard.policy import LoadedPolicy
from agentguard.policy.schemas import compile_validator
from agentguard.sanitize import Cleaning, clean_value
from agentguard.tools import BindError, ToolFunction, safe_name

NAME = "input"

Validator = Callable[[Any], Any]


class InputLayer:
    name = NAME

    def __init__(self, policy: LoadedPolicy, functions: Mapping[str, ToolFunction]) -> None:
        settings = policy.model.settings
        self._max_depth = settings.max_depth
        self._limits = {
            name: spec.max_input_bytes or settings.max_input_bytes
            for name, spec in policy.model.tools.items()
        }
        self._default_limit = settings.max_input_bytes
        self._schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, Validator] = {}
        for name in policy.model.tools:
            schema = policy.arg_schema(name)
            if schema is not None:
                self._schemas[name] = schema
                self._validators[name] = compile_validator(schema)
        self._functions = functions

    def admit(self, action: Action) -> Verdict:
        args = action.args
        if not isinstance(args, Mapping):
            return deny(NAME, "input.not_an_object", "arguments must be a mapping of name to value")
        report = Cleaning()
        cleaned = clean_value(args, self._max_depth, report)
        if report.depth_exceeded:
            return deny(
                NAME,
                "input.too_deep",
                f"arguments are nested deeper than {self._max_depth} levels (settings.max_depth)",
            )
        limit = self._limits.get(action.tool, self._default_limit)
        if report.size > limit:
            size = len(json.dumps(cleaned, default=str, ensure_ascii=False).encode("utf-8"))
            if size > limit:
                return deny(
                    NAME,
                    "input.too_large",
                    f"arguments are {size} bytes, over the limit of {limit} bytes for "
                    f"tool {action.tool!r} (max_input_bytes)",
                )
        validator = self._validators.get(action.tool)
        if validator is not None:
            try:
                validator(cleaned)
            except fastjsonschema.JsonSchemaValueException as exc:
                return deny(NAME, "input.schema", _schema_message(exc, cleaned, action.tool))
        function = self._functions.get(action.tool)
        if function is not None:
            try:
                bound = function.bind(cleaned)
            except BindError as exc:
                return deny(
                    NAME,
                    "input.schema",
                    f"arguments do not fit tool {action.tool!r}: " + "; ".join(exc.problems),
                )
            if not _same(bound, cleaned):
                cleaned = bound
        reasons: tuple[Reason, ...] = ()
        if report.removed:
            reasons = (
                Reason(
                    NAME,
                    "input.sanitized",
                    f"removed {report.removed} invisible or control character(s) from the arguments",
                ),
            )
        if cleaned is args and not reasons:
            return CONTINUE
        return Verdict(Step.CONTINUE, reasons, action.with_changes(args=cleaned))


def _same(bound: Mapping[str, Any], given: Mapping[str, Any]) -> bool:
    """Whether binding changed nothing: same keys, and each value the same type and equal."""
    if len(bound) != len(given):
        return False
    for key, value in bound.items():
        if key not in given:
            return False
        other = given[key]
        if value is not other and (type(value) is not type(other) or value != other):
            return False
    return True


def _schema_message(exc: Any, args: Mapping[str, Any], tool: str) -> str:
    """Describe a schema violation by rule and argument name, never by value."""
    path = [str(p) for p in (exc.path or [])][1:]
    where = safe_name(".".join(path)) if path else "the arguments"
    rule = exc.rule
    definition = exc.rule_definition
    prefix = f"tool {tool!r}: "
    if rule == "required":
        missing = [name for name in definition if name not in args]
        return prefix + "missing required argument(s): " + ", ".join(safe_name(m) for m in missing)
    if rule == "additionalProperties":
        return prefix + f"{where} has arguments the tool does not accept"
    if rule == "type":
        return prefix + f"argument {where} must be of type {definition}"
    if rule == "format":
        return prefix + f"argument {where} must be a valid {definition}"
    if rule in (
        "maxLength",
        "minLength",
        "maximum",
        "minimum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "maxItems",
        "minItems",
        "pattern",
        "enum",
        "const",
    ):
        return prefix + f"argument {where} breaks the schema rule {rule}: {definition!r}"
    return prefix + f"argument {where} breaks the schema rule {rule!r}"


register(LayerSpec(NAME, 300, lambda ctx: InputLayer(ctx.policy, ctx.functions), InvalidInput))
