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

from agentguard.detect.base import Detector, Finding

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


def redact_value(
    value: object,
    detectors: Iterable[Detector],
    *,
    style: Style = "hash",
    min_score: float = 0.3,
    min_length: int = 6,
) -> object:
    """A copy of a JSON-like value with every finding in every string redacted.

    Strings shorter than ``min_length`` cannot hold an email, a card or a key and are left
    alone, so small values cost nothing. Mapping keys are kept; values are walked.
    """
    chosen = tuple(detectors)
    return _redact_value(value, chosen, style, min_score, min_length)


def _redact_value(
    value: object, detectors: tuple[Detector, ...], style: Style, min_score: float, min_length: int
) -> object:
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if len(text) < min_length:
            return value
        findings = [f for d in detectors for f in d.detect(text) if f.score >= min_score]
        return redact(text, findings, style) if findings else value
    if kind is dict:
        items: dict[object, object] = value  # type: ignore[assignment]
        out = {}
        changed = False
        for key, item in items.items():
            new = _redact_value(item, detectors, style, min_score, min_length)
            changed = changed or new is not item
            out[key] = new
        return out if changed else value
    if kind is list or kind is tuple:
        seq: list[object] = list(value)  # type: ignore[call-overload]
        new_items = [_redact_value(v, detectors, style, min_score, min_length) for v in seq]
        if any(a is not b for a, b in zip(new_items, seq, strict=True)):
            return new_items
        return value
    return value
