"""Redaction of findings in text: ``mask`` (``*****``), ``hash`` (``[EMAIL:3f2a9c01d4e7]``,
a short keyed tag: equal values get equal tags under one key, so they can still be
correlated) or ``type_tag`` (``[EMAIL]``).

A ``hash`` tag is the first 12 hex digits of HMAC-SHA256 of the value under a key. Never a
plain hash: an SSN has about a billion possible values, and hashing every candidate would
recover it from an unkeyed tag. The caller passes the key (the guard uses its store's key,
so tags stay comparable across processes and restarts); without one, a random key made for
this process is used: tags still correlate within the process and reveal nothing.

Overlapping findings are merged first, so nothing of a secret survives between two
overlapping spans.

>>> from agentguard.detect.base import Finding
>>> redact("mail ana@example.com now", [Finding("EMAIL", 5, 20, 0.99, "pii")], style="type_tag")
'mail [EMAIL] now'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Literal

from agentguard.detect.base import Detector, Finding

Style = Literal["mask", "hash", "type_tag"]
STYLES: tuple[Style, ...] = ("mask", "hash", "type_tag")

#: the key of ``hash`` tags when the caller gives none: random, made once per process
_PROCESS_KEY = secrets.token_bytes(32)


def tag(value: str, key: bytes | None = None) -> str:
    """The 12-hex-digit ``hash`` tag of ``value``: HMAC-SHA256 under ``key`` (this
    process's random key when ``None``). Lone surrogates are hashed as written."""
    raw = value.encode("utf-8", "surrogatepass")
    return hmac.new(_PROCESS_KEY if key is None else key, raw, hashlib.sha256).hexdigest()[:12]


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


def redact(
    text: str, findings: Iterable[Finding], style: Style = "mask", *, key: bytes | None = None
) -> str:
    """Replace every finding's span in ``text`` according to ``style``.

    ``style="hash"`` tags each value with :func:`tag` under ``key`` (this process's random
    key when ``None``): equal values get equal tags, and a tag cannot be reversed by hashing
    guesses without the key.
    """
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
            parts.append(f"[{kind}:{tag(value, key)}]")
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
    key: bytes | None = None,
) -> object:
    """A copy of a JSON-like value with every finding in every string redacted.

    Mapping keys are strings like any other (a result keyed by email address), and an
    integer or a decimal is redacted as the digits it is written with (a card number stored
    as a number): a number with a finding becomes the redacted string. Strings and numbers
    shorter than ``min_length`` cannot hold an email, a card or a key and are left alone,
    so small values cost nothing. ``key`` keys the ``hash`` tags (see :func:`redact`).
    """
    chosen = tuple(detectors)
    return _redact_value(value, chosen, style, min_score, min_length, key)


#: an escape sequence in a repr or a JSON text (\n, \t, \x0b, \u00e9 …)
_ESCAPE = re.compile(r"\\(?:[nrtfvab0]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})")


def _findings(text: str, detectors: tuple[Detector, ...], min_score: float) -> list[Finding]:
    findings = [f for d in detectors for f in d.detect(text) if f.score >= min_score]
    if "\\" in text:
        # A repr or a JSON text writes a newline as a backslash and an "n", which then
        # sticks to the value after it (\nghp_…, KeyError: '…\nana@…'), and detectors that
        # want a word boundary before a token miss it. Look again with every escape blanked
        # out: the blanks are as long as the escapes, so the offsets of both passes agree.
        blanked = _ESCAPE.sub(lambda m: " " * len(m.group()), text)
        if blanked != text:
            findings += [f for d in detectors for f in d.detect(blanked) if f.score >= min_score]
    return findings


def _redact_value(
    value: object,
    detectors: tuple[Detector, ...],
    style: Style,
    min_score: float,
    min_length: int,
    key: bytes | None = None,
) -> object:
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if len(text) < min_length:
            return value
        findings = _findings(text, detectors, min_score)
        return redact(text, findings, style, key=key) if findings else value
    if kind is dict:
        items: dict[object, object] = value  # type: ignore[assignment]
        out = {}
        changed = False
        for name, item in items.items():
            new_name = name
            if type(name) is str:
                new_name = _redact_value(name, detectors, style, min_score, min_length, key)
            new = _redact_value(item, detectors, style, min_score, min_length, key)
            changed = changed or new is not item or new_name is not name
            out[new_name] = new
        return out if changed else value
    if kind is int or kind is Decimal:
        try:
            digits = str(value)
        except ValueError:  # an integer too long to print (sys.get_int_max_str_digits)
            return value
        if len(digits) < min_length:
            return value
        findings = _findings(digits, detectors, min_score)
        return redact(digits, findings, style, key=key) if findings else value
    if kind is list or kind is tuple:
        seq: list[object] = list(value)  # type: ignore[call-overload]
        new_items = [_redact_value(v, detectors, style, min_score, min_length, key) for v in seq]
        if any(a is not b for a, b in zip(new_items, seq, strict=True)):
            return new_items
        return value
    return value
