"""Redaction of findings in text: ``mask`` (``*****``), ``hash`` (a short keyed-free
SHA-256 tag, stable across records so equal values can still be correlated) or
``type_tag`` (``[EMAIL]``).

Overlapping findings are merged first, so nothing of a secret survives between two
overlapping spans.

>>> from agentguard.detect.base import Finding
>>> redact("mail ana@example.com now", [Finding("EMAIL", 5, 20, 0.99, "pii")], style="type_tag")
'mail [EMAIL] now'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal

from agentguard.detect.base import Finding

Style = Literal["mask", "hash", "type_tag"]
STYLES: tuple[Style, ...] = ("mask", "hash", "type_tag")


def merge_spans(findings: Iterable[Finding]) -> list[tuple[int, int, str]]:
    """Sorted, non-overlapping ``(start, end, type)`` spans; a merged span keeps the type
    of its highest-scoring finding."""
    spans: list[tuple[int, int, str, float]] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if finding.end <= finding.start:
            continue
        if spans and finding.start < spans[-1][1]:
            start, end, kind, score = spans[-1]
            if finding.score > score:
                kind, score = finding.type, finding.score
            spans[-1] = (start, max(end, finding.end), kind, score)
        else:
            spans.append((finding.start, finding.end, finding.type, finding.score))
    return [(start, end, kind) for start, end, kind, _ in spans]


def redact(text: str, findings: Iterable[Finding], style: Style = "mask") -> str:
    """Replace every finding's span in ``text`` according to ``style``."""
    if style not in STYLES:
        raise ValueError(f"unknown redaction style {style!r}; use one of {', '.join(STYLES)}")
    parts: list[str] = []
    cursor = 0
    for start, end, kind in merge_spans(findings):
        start, end = max(start, cursor), min(end, len(text))
        if start >= end:
            continue
        parts.append(text[cursor:start])
        value = text[start:end]
        if style == "mask":
            parts.append("*" * min(len(value), 8))
        elif style == "hash":
            digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            parts.append(f"[{kind}:{digest}]")
        else:
            parts.append(f"[{kind}]")
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)
