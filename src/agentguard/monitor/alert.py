"""The :class:`Alert`: what a monitoring rule says when it fires, as notifiers deliver it.

An alert names a rule, an agent and a severity and says what happened in one sentence. It
carries figures (an error rate, a spend) but never an argument value of an action, a
result, or a secret: alerts leave the process (webhooks, chat, email), so whatever goes in
one must be fit to be read by anyone on the receiving end.

    >>> from datetime import UTC, datetime
    >>> alert = Alert(
    ...     rule="error_rate > 10%",
    ...     severity="warning",
    ...     agent="billing-bot",
    ...     summary="billing-bot failed 14 of 100 calls in the last 5 minutes.",
    ...     at=datetime(2026, 1, 1, tzinfo=UTC),
    ...     details={"error_rate": 0.14, "calls": 100},
    ... )
    >>> alert.key
    'error_rate > 10%|billing-bot'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, get_args

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

DetailValue = str | int | float | Decimal


@dataclass(frozen=True)
class Alert:
    """One firing of a monitoring rule.

    ``details`` holds figures only (``str``, ``int``, ``float`` or ``Decimal`` values, keyed
    by name): never argument values, results or secrets. ``key`` is what the
    :class:`~agentguard.monitor.dispatch.Dispatcher` de-duplicates on; when left empty it is
    ``rule|agent`` (or ``rule`` for an alert about no single agent).
    """

    rule: str
    severity: Severity
    agent: str | None
    summary: str
    at: datetime
    details: Mapping[str, DetailValue] = field(default_factory=dict, hash=False)
    key: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}")
        if not self.rule:
            raise ValueError("an alert names the rule that fired; rule is empty")
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("an alert's time must be timezone-aware (UTC)")
        details: dict[str, DetailValue] = {}
        for name, value in self.details.items():
            if not isinstance(name, str):
                raise ValueError(f"alert detail names are strings, not {type(name).__name__}")
            if not isinstance(value, str | int | float | Decimal):
                raise ValueError(
                    f"alert detail {name!r} is a {type(value).__name__}; "
                    "details hold str, int, float or Decimal figures only"
                )
            if isinstance(value, float | Decimal) and not _finite(value):
                raise ValueError(f"alert detail {name!r} is not a finite number")
            details[name] = value
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "details", MappingProxyType(details))
        if not self.key:
            key = self.rule if self.agent is None else f"{self.rule}|{self.agent}"
            object.__setattr__(self, "key", key)

    def with_details(self, **extra: DetailValue) -> Alert:
        """A copy with ``extra`` added to (or replacing entries of) ``details``."""
        return Alert(
            rule=self.rule,
            severity=self.severity,
            agent=self.agent,
            summary=self.summary,
            at=self.at,
            details={**self.details, **extra},
            key=self.key,
        )

    def to_dict(self) -> dict[str, Any]:
        """The alert as JSON-safe values; ``Decimal`` figures become strings (``"100.50"``)
        so that money keeps its exact value."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "agent": self.agent,
            "summary": self.summary,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "details": {
                name: str(value) if isinstance(value, Decimal) else value
                for name, value in self.details.items()
            },
            "key": self.key,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON with sorted keys (the same alert, the same text)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
