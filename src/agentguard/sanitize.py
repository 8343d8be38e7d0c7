"""Unicode cleanup of argument values: NFC normalisation and removal of invisible, control
and bidirectional-override characters, which hide text from people but not from models.

Tabs, newlines and carriage returns are kept. Removed: C0/C1 controls, format characters
(zero-width space/joiners, bidi embeddings/overrides/isolates, soft hyphen, BOM, Unicode
tag characters), private-use and surrogate code points, and blank-looking fillers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KEEP = frozenset("\t\n\r")
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
_cache: dict[str, bool] = {}


def _removed(ch: str) -> bool:
    hit = _cache.get(ch)
    if hit is None:
        hit = ch not in _KEEP and (
            unicodedata.category(ch) in _REMOVED_CATEGORIES or ch in _FILLERS
        )
        if len(_cache) < 65536:
            _cache[ch] = hit
    return hit


def clean_text(text: str) -> tuple[str, int]:
    """Return ``(cleaned, number of characters removed)``.

    >>> clean_text("pay\u200bpal")
    ('paypal', 1)
    """
    if text.isascii():
        if _ASCII_CONTROL.search(text) is None:
            return text, 0
        cleaned = _ASCII_CONTROL.sub("", text)
        return cleaned, len(text) - len(cleaned)
    normal = unicodedata.normalize("NFC", text)
    cleaned = "".join(ch for ch in normal if not _removed(ch))
    return cleaned, len(normal) - len(cleaned)


@dataclass(slots=True)
class Cleaning:
    """What :func:`clean_value` found while walking a value."""

    removed: int = 0
    size: int = 0  # an upper bound of the value's JSON size in bytes
    depth_exceeded: bool = False


def clean_value(value: Any, max_depth: int, report: Cleaning, depth: int = 0) -> Any:
    """Clean every string (and mapping key) in ``value``; return it, a new object only if
    something changed. Accumulates removed characters and a size bound into ``report``."""
    kind = type(value)
    if kind is str:
        cleaned, removed = clean_text(value)
        report.removed += removed
        # JSON-escaping can at most double ASCII; UTF-8 is at most 4 bytes a character
        report.size += 2 * len(cleaned) + 2 if cleaned.isascii() else 6 * len(cleaned) + 2
        return value if cleaned == value else cleaned
    if value is None or kind is bool or kind is int or kind is float:
        report.size += 24
        return value
    if depth >= max_depth:
        report.depth_exceeded = True
        return value
    if kind is dict or isinstance(value, Mapping):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = clean_value(key, max_depth, report, depth + 1) if type(key) is str else key
            new_item = clean_value(item, max_depth, report, depth + 1)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        report.size += 2
        return out if changed else value
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        items = [clean_value(item, max_depth, report, depth + 1) for item in value]
        report.size += 2 + len(items)
        if any(new is not old for new, old in zip(items, value, strict=True)):
            return items if isinstance(value, list) else tuple(items)
        return value
    report.size += 64 + len(str(value)) * 6
    return value
