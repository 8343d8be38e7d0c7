"""Running a family's regex only where its probe fired: :func:`matches_at` and
:func:`search_at` give what ``finditer`` and ``search`` would, trying fewer positions."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence


def matches_at(
    compiled: re.Pattern[str], text: str, starts: Sequence[int] | None, pos: int = 0
) -> Iterator[re.Match[str]]:
    """What ``compiled.finditer(text, pos)`` yields, trying only at ``starts`` (ascending
    candidates, a superset of where a match can begin); at every position when ``None``."""
    if starts is None:
        yield from compiled.finditer(text, pos)
        return
    match = compiled.match
    end = pos
    for start in starts:
        if start < end:
            continue
        m = match(text, start)
        if m is not None:
            yield m
            end = m.end() if m.end() > start else start + 1


def search_at(
    compiled: re.Pattern[str], text: str, pos: int, starts: Sequence[int] | None
) -> re.Match[str] | None:
    """What ``compiled.search(text, pos)`` returns, trying only at ``starts`` (as in
    :func:`matches_at`)."""
    if starts is None:
        return compiled.search(text, pos)
    match = compiled.match
    for i in range(bisect.bisect_left(starts, pos), len(starts)):
        m = match(text, starts[i])
        if m is not None:
            return m
    return None
