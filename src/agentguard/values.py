"""Walking JSON-like values (arguments, results): every string with its path, and copies
with some strings replaced. Paths are tuples of keys and list indexes; ``dotted`` spells one
for messages (``body``, ``items.2.text``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Path = tuple[str | int, ...]
_MAX_DEPTH = 64


def plain(value: Any) -> Any:
    """A JSON-like view of ``value``: pydantic models and dataclasses become dicts, tuples
    and sets lists; other objects are left as they are."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return plain(dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def strings(value: Any, prefix: Path = (), _depth: int = 0) -> Iterator[tuple[Path, str]]:
    """Every string inside ``value`` with its path (dict keys are not visited)."""
    if isinstance(value, str):
        yield prefix, value
    elif _depth >= _MAX_DEPTH:
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings(item, (*prefix, str(key)), _depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from strings(item, (*prefix, index), _depth + 1)


def at_path(value: Any, dotted_path: str) -> tuple[Path, Any] | None:
    """The value at a dotted path of mapping keys (``body``, ``message.text``), if present."""
    node = value
    path: list[str | int] = []
    for part in dotted_path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
        path.append(part)
    return tuple(path), node


def replace_strings(value: Any, replace: Callable[[Path, str], str], prefix: Path = ()) -> Any:
    """A copy of ``value`` where each string is ``replace(path, string)``; parts without a
    changed string are returned as they are (not copied)."""
    if isinstance(value, str):
        return replace(prefix, value)
    if isinstance(value, Mapping):
        out = {}
        changed = False
        for key, item in value.items():
            new = replace_strings(item, replace, (*prefix, str(key)))
            changed = changed or new is not item
            out[key] = new
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [replace_strings(v, replace, (*prefix, i)) for i, v in enumerate(value)]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
        return value
    return value


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path) or "(value)"
