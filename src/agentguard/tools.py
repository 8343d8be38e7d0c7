"""Python functions registered as tools: their argument schema, derived from type hints
when the policy gives none, and the binding of an action's arguments to typed values."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import ConfigDict, ValidationError, create_model

_SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
_UNSAFE_ERROR_TYPES = frozenset({"value_error", "assertion_error"})


class BindError(ValueError):
    """Arguments that do not fit the function; ``problems`` never hold argument values."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def safe_name(name: object) -> str:
    """An argument name fit to print: attacker-chosen keys are not echoed verbatim.

    A path of identifier-like parts (``items.2.sku``) is printed; anything else — and any
    part that looks like a token rather than a name (a long run of letters mixed with
    digits, as in ``ghp_…`` or ``AKIA…`` used as a mapping key) — is not.
    """
    text = str(name)
    if not _SAFE_NAME.match(text) or any(_token_like(p) for p in _PIECES.split(text)):
        return "an argument with an unusual name"
    return repr(text)


_PIECES = re.compile(r"[._-]")


def _token_like(piece: str) -> bool:
    if len(piece) >= 24:
        return True
    return len(piece) >= 10 and any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece)


@dataclass(frozen=True)
class ToolFunction:
    """A registered tool implementation."""

    name: str
    func: Callable[..., Any]
    is_async: bool
    schema: dict[str, Any]
    _model: Any = field(repr=False)

    def bind(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and convert ``args`` to the function's parameter types."""
        try:
            model = self._model.model_validate(dict(args))
        except ValidationError as exc:
            problems = []
            for error in exc.errors(include_input=False, include_url=False):
                loc = ".".join(str(p) for p in error["loc"]) or "(arguments)"
                what = "is invalid" if error["type"] in _UNSAFE_ERROR_TYPES else error["msg"]
                if error["type"] == "extra_forbidden":
                    problems.append(f"unexpected argument {safe_name(loc)}")
                elif error["type"] == "missing":
                    problems.append(f"missing required argument {safe_name(loc)}")
                else:
                    problems.append(f"argument {safe_name(loc)}: {what}")
            raise BindError(problems) from None
        bound = dict(model.__dict__)
        extra = model.__pydantic_extra__
        if extra:  # a function with **kwargs receives the arguments it does not name
            bound.update(extra)
        return bound


def describe_function(func: Callable[..., Any], name: str) -> ToolFunction:
    """Build the argument model and JSON Schema of ``func`` from its signature."""
    signature = inspect.signature(func)
    try:
        hints = get_type_hints(func)
    except Exception:
        hints = {}
    fields: dict[str, Any] = {}
    extra = "forbid"
    for param in signature.parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            raise TypeError(
                f"tool {name!r}: parameter {param.name!r} cannot be passed by keyword; "
                "tools are called with keyword arguments"
            )
        annotation = hints.get(param.name, Any)
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (annotation, default)
    config = ConfigDict(extra=extra, arbitrary_types_allowed=True)  # type: ignore[typeddict-item]
    model = create_model(f"{name}_arguments", __config__=config, **fields)
    try:
        schema = model.model_json_schema(mode="validation")
    except Exception:
        schema = {"type": "object"}
    schema.pop("title", None)
    return ToolFunction(
        name=name,
        func=func,
        is_async=inspect.iscoroutinefunction(func),
        schema=schema,
        _model=model,
    )
