"""The audit record of one action, built so that it can always be written and never leaks.

Every value of the action (arguments, result, error, metadata, session, subject, names) goes
through the same steps, in this order:

1. :func:`~agentguard.recordable.recordable` — JSON-safe and bounded, whatever it was;
2. :func:`~agentguard.masking.mask` — fields named like secrets and the policy's
   ``sensitive`` fields become ``***``, and their values are cut out of every other string;
3. detector redaction — PII and credentials become keyed tags (``[EMAIL:3f2a…]``), so equal
   values still correlate and none is stored in clear;
4. only then are long strings cut to :data:`MAX_CHARS`: a secret that straddles the cut was
   seen whole by the detectors.

A tool or agent name that the policy does not declare is the caller's text: when it does not
look like a name (a token pasted as a tool name), the record keeps a keyed tag of it instead
(:meth:`RecordBuilder.name`), and the same tag replaces it in the reasons' messages.

If building the record fails all the same, :meth:`RecordBuilder.build` returns a minimal
record that says so, rather than no record: every action leaves exactly one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from agentguard.audit import AuditEntry
from agentguard.detect.base import Detector
from agentguard.detect.redact import redact_value
from agentguard.masking import mask, sensitive_values
from agentguard.pipeline import Action, Decision, Reason
from agentguard.recordable import clean_text, describe_error, recordable, safe_str

#: the longest string an audit record keeps (characters, after redaction)
MAX_CHARS = 64 * 1024
#: the longest session, subject or name kept
MAX_LABEL_CHARS = 1024
_MARGIN = 64 * 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
_PIECES = re.compile(r"[._:-]")


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """The part of a record known before the tool runs (see :meth:`RecordBuilder.prepare`)."""

    action: Action
    agent: str | None
    tool: str
    input: Any
    metadata: Any
    session: str | None
    subject: str | None
    secrets: tuple[str, ...]
    sensitive: frozenset[str]

    def estimated_size(self) -> int:
        """A rough size of the record in bytes, before any result is known."""
        return len(repr(self.input)) + len(repr(self.metadata)) + 1024


class RecordBuilder:
    """Builds :class:`~agentguard.audit.AuditEntry` values for a guard.

    ``declared(kind, name)`` says whether a tool or agent name is the policy's (or a
    registered tool's). ``detectors`` and ``key`` are called when first needed (detectors are slow to import;
    the key lives in the store).
    """

    def __init__(
        self,
        *,
        declared: Callable[[str, str], bool],
        sensitive_fields: Callable[[str], Sequence[str]],
        detectors: Callable[[], tuple[Detector, ...]],
        key: Callable[[], bytes],
        redact: bool = True,
    ) -> None:
        self._declared = declared
        self._sensitive = sensitive_fields
        self._detectors = detectors
        self._key = key
        self.redact = redact

    # ------------------------------------------------------------------ names

    def name(self, name: str | None, *, kind: str) -> str | None:
        """``name`` as a record and a message may show it: declared names as they are,
        other name-like text cleaned, anything else (a token used as a tool name) as a
        keyed tag ``[withheld tool name 3f2a9c…]``."""
        if name is None:
            return None
        if self._declared(kind, name):
            return name
        name_like = _NAME.fullmatch(name) and not any(_token_like(p) for p in _PIECES.split(name))
        if name_like and (not self.redact or not self._findings(name)):
            return name
        digest = hmac.new(self._key(), name.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"[withheld {kind} name {digest.hexdigest()[:12]}]"

    def scrub(self, decision: Decision) -> Decision:
        """``decision`` with undeclared, token-like tool and agent names replaced in its
        reasons' messages (these become exception messages and audit reasons)."""
        action = decision.action
        swaps = []
        for raw, kind in ((action.tool, "tool"), (action.agent, "agent")):
            shown = self.name(raw, kind=kind) if raw else raw
            if raw and shown != raw:
                swaps.append((raw, shown or ""))
        reasons = decision.reasons
        if swaps:
            reasons = tuple(_swap(r, swaps) for r in reasons)
        if any(not _clean(r.message) for r in reasons):
            reasons = tuple(replace(r, message=clean_text(r.message)) for r in reasons)
        if reasons is decision.reasons:
            return decision
        return replace(decision, reasons=reasons)

    # ---------------------------------------------------------------- records

    def prepare(self, decision: Decision) -> PreparedRecord:
        """Everything of the record that is known before the tool runs."""
        action = decision.action
        sensitive = frozenset(self._sensitive(action.tool))
        args = recordable(action.args)
        secrets = tuple(sensitive_values(args, sensitive)) if args else ()
        metadata = recordable(action.metadata) if action.metadata else {}
        return PreparedRecord(
            action=action,
            agent=self.name(action.agent, kind="agent") if action.agent else None,
            tool=self.name(action.tool, kind="tool") or "",
            input=self._finish(mask(args, sensitive, secrets), MAX_CHARS),
            metadata=self._finish(mask(metadata, (), secrets), MAX_CHARS) if metadata else {},
            session=self._label(action.session, secrets),
            subject=self._label(action.subject, secrets),
            secrets=secrets,
            sensitive=sensitive,
        )

    def build(
        self,
        decision: Decision,
        timestamp: datetime,
        started_ns: int,
        status: str,
        *,
        output: Any = None,
        error: BaseException | str | None = None,
        cost: Decimal | None = None,
        prepared: PreparedRecord | None = None,
    ) -> AuditEntry:
        """The record of ``decision`` with the given outcome. Never raises: if a value
        defeats every safeguard, the record says that it could not be built."""
        try:
            part = prepared if prepared is not None else self.prepare(decision)
            error_text: str | None = None
            if error is not None:
                text = describe_error(error) if isinstance(error, BaseException) else error
                error_text = self._finish(mask(recordable(text), (), part.secrets), MAX_CHARS)
            recorded_output = None
            if output is not None:
                recorded_output = self._finish(
                    mask(recordable(output), (), part.secrets), MAX_CHARS
                )
            return AuditEntry(
                timestamp=timestamp,
                kind="action",
                action_id=decision.action.id,
                agent_id=part.agent,
                action=part.tool,
                decision=str(decision.outcome),
                status=status,
                input=part.input,
                output=recorded_output,
                error=error_text,
                reasons=[r.as_dict() for r in self.scrub(decision).reasons],
                cost=cost,
                duration_ms=_elapsed_ms(started_ns),
                session=part.session,
                subject=part.subject,
                key_id=decision.action.key_id,
                metadata=part.metadata,
            )
        except Exception as exc:
            return self._fallback(decision, timestamp, started_ns, status, exc)

    def _fallback(
        self,
        decision: Decision,
        timestamp: datetime,
        started_ns: int,
        status: str,
        exc: Exception,
    ) -> AuditEntry:
        note = f"[the record's values could not be built: {type(exc).__name__}]"
        try:
            agent = (
                self.name(decision.action.agent, kind="agent") if decision.action.agent else None
            )
            tool = self.name(decision.action.tool, kind="tool") or ""
        except Exception:
            agent, tool = "[withheld agent name]", "[withheld tool name]"
        return AuditEntry(
            timestamp=timestamp,
            kind="action",
            action_id=clean_text(str(decision.action.id)),
            agent_id=agent,
            action=tool,
            decision=str(decision.outcome),
            status=status,
            input=note,
            output=None,
            error=note,
            reasons=[{"layer": "audit", "code": "audit.record_incomplete", "message": note}],
            duration_ms=_elapsed_ms(started_ns),
            key_id=decision.action.key_id,
        )

    # ------------------------------------------------------------------ values

    def _label(self, value: str | None, secrets: tuple[str, ...]) -> str | None:
        if value is None:
            return None
        text = mask(clean_text(safe_str(value)), (), secrets)
        return str(self._finish(text, MAX_LABEL_CHARS))

    def _findings(self, text: str) -> bool:
        return redact_value(text, self._detectors(), key=self._key()) != text

    def redacted(self, value: Any, tool: str | None = None) -> Any:
        """``value`` as an audit record keeps it: JSON-safe, the tool's ``sensitive``
        fields masked, PII and credentials as keyed tags, long strings cut (for what is
        recorded beside an action: an approver's comment or edit)."""
        sensitive = frozenset(self._sensitive(tool)) if tool else frozenset()
        plain = recordable(value)
        secrets = tuple(sensitive_values(plain, sensitive)) if sensitive and plain else ()
        return self._finish(mask(plain, sensitive, secrets), MAX_CHARS)

    def _finish(self, value: Any, limit: int) -> Any:
        """Redact (when enabled), then cut strings longer than ``limit``."""
        value = _map_strings(value, lambda s: self._redact_cut(s, limit), lambda s: len(s) > limit)
        if self.redact:
            value = redact_value(value, self._detectors(), key=self._key())
        return value

    def _redact_cut(self, text: str, limit: int) -> str:
        if not self.redact:
            return _cut(text, limit)
        detectors, key = self._detectors(), self._key()
        # Redact a head with a wide margin past the cut, so a secret straddling the cut is
        # seen whole. Redaction shortens text (a tag is shorter than a key); if it shortened
        # the head by so much that text from near the head's end could move in front of the
        # cut (where a secret cut in half by the head would hide), redact the whole string.
        head = text[: limit + _MARGIN]
        redacted = str(redact_value(head, detectors, key=key))
        if len(head) < len(text) and len(head) - len(redacted) > _MARGIN // 2:
            redacted = str(redact_value(text, detectors, key=key))
        return _cut(redacted, limit, len(text))


def _cut(text: str, limit: int, original: int | None = None) -> str:
    if len(text) <= limit:
        return text
    total = original if original is not None else len(text)
    return text[:limit] + f"…[cut: {total} characters in all]"


def _map_strings(
    value: Any, change: Callable[[str], str], when: Callable[[str], bool], depth: int = 0
) -> Any:
    """``value`` with ``change`` applied to the strings (and keys) ``when`` accepts."""
    if isinstance(value, str):
        return change(value) if when(value) else value
    if depth > 200:
        return value
    if isinstance(value, dict):
        return {
            (change(k) if isinstance(k, str) and when(k) else k): _map_strings(
                v, change, when, depth + 1
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_map_strings(v, change, when, depth + 1) for v in value]
    return value


def _token_like(piece: str) -> bool:
    if len(piece) >= 24:
        return True
    return len(piece) >= 10 and any(c.isdigit() for c in piece) and any(c.isalpha() for c in piece)


def _clean(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _swap(reason: Reason, swaps: list[tuple[str, str]]) -> Reason:
    message = reason.message
    for raw, shown in swaps:
        message = message.replace(repr(raw), shown)
        if len(raw) >= 8:  # a short raw name could be any word of the message
            message = message.replace(raw, shown)
    return replace(reason, message=message) if message != reason.message else reason


def _elapsed_ms(started_ns: int) -> float:
    return round((time.perf_counter_ns() - started_ns) / 1e6, 3)
