"""The policy's ``alerts:`` and ``notify:`` sections: when to tell a person, and how.

Example::

    alerts:
      - {when: "error_rate > 10%", severity: critical, then: [notify]}
      - {when: "spend > $100/hour", severity: critical, then: [stop_agent, notify]}
      - {when: "spend > $5 within 10m", severity: warning, then: [notify]}
      - {when: "sensitive_data_detected", severity: critical, then: [stop_agent, notify]}
      - {when: "signal customer_complaint", severity: warning, then: [notify, open_incident]}
    notify:
      - {webhook: "http://127.0.0.1:9000/hook", secret_env: AGENTGUARD_WEBHOOK_SECRET}

A ``when`` is one of three shapes:

- a **threshold** on a figure of one agent over a sliding window:
  ``METRIC > VALUE [within DURATION | /UNIT]`` (``>=`` too), where METRIC is
  ``error_rate`` (a share of the calls that ran: ``10%`` or ``0.1``; default window 5m,
  and only once ``min_calls`` calls ran in it), ``errors``, ``calls``, ``denials`` (counts)
  or ``spend`` (dollars: ``$100/hour``, ``$5 within 10m``);
- an **event** seen on an action: ``sensitive_data_detected`` (a ``pii`` or ``secrets``
  detector rule, or the leak guard, found something), ``loop_detected``, ``circuit_open``
  (the failure that opens a breaker, or a call refused by an open one), ``rate_limited``,
  ``budget_exceeded``;
- a **signal** reported from outside: ``signal NAME`` (``agentguard signal NAME --agent A``
  or :meth:`agentguard.Guard.signal`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from agentguard.policy.units import Duration, format_duration, parse_duration, parse_money

Metric = Literal["error_rate", "errors", "calls", "denials", "spend"]
METRICS: tuple[str, ...] = ("error_rate", "errors", "calls", "denials", "spend")
EVENTS: tuple[str, ...] = (
    "sensitive_data_detected",
    "loop_detected",
    "circuit_open",
    "rate_limited",
    "budget_exceeded",
)
AlertAction = Literal["notify", "stop_agent", "open_incident"]

#: the window of ``error_rate`` when a rule gives none
DEFAULT_RATE_WINDOW = timedelta(minutes=5)
_PER = {
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_THRESHOLD = re.compile(
    r"""^\s*(?P<metric>[a-z_]+)\s*(?P<op>>=|>)\s*(?P<value>\$?\s*[0-9][0-9_,.]*\s*%?)\s*
    (?:(?:/\s*|per\s+)(?P<per>[0-9a-z.]+)|within\s+(?P<within>[0-9a-z.]+))?\s*$""",
    re.VERBOSE,
)
_SIGNAL = re.compile(r"^\s*signal\s+(?P<name>[A-Za-z0-9_.:-]{1,100})\s*$")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True, slots=True)
class Threshold:
    """``metric op value`` over a sliding ``window``."""

    metric: Metric
    op: Literal[">", ">="]
    value: Decimal
    window: timedelta
    #: the text the policy wrote (``spend > $100/hour``), kept to name the rule
    source: str = field(default="", compare=False)

    def crossed(self, figure: Decimal) -> bool:
        return figure > self.value if self.op == ">" else figure >= self.value

    def __str__(self) -> str:
        if self.metric == "error_rate":
            value = f"{(self.value * 100).normalize():f}%"
        elif self.metric == "spend":
            value = f"${self.value:f}"
        else:
            value = f"{self.value:f}"
        return f"{self.metric} {self.op} {value} within {format_duration(self.window)}"


@dataclass(frozen=True, slots=True)
class Event:
    """Something seen on one action (see :data:`EVENTS`)."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Signal:
    """An external signal by name (``agentguard signal NAME``)."""

    name: str

    def __str__(self) -> str:
        return f"signal {self.name}"


Condition = Threshold | Event | Signal


def parse_condition(text: Any) -> Condition:
    """Parse the ``when`` of an alert rule (see the module's docstring for the grammar).

    >>> str(parse_condition("spend > $5/hour"))
    'spend > $5 within 1h'
    """
    if isinstance(text, Threshold | Event | Signal):
        return text
    if not isinstance(text, str) or not text.strip():
        raise ValueError('`when` is a condition such as "error_rate > 10%" or "signal NAME"')
    stripped = text.strip()
    if stripped in EVENTS:
        return Event(stripped)
    signal = _SIGNAL.match(stripped)
    if signal is not None:
        return Signal(signal["name"])
    if stripped.startswith("signal"):
        raise ValueError(
            f"{stripped!r}: a signal's name is letters, digits, '_', '-', '.' or ':' "
            "(for example: signal customer_complaint)"
        )
    match = _THRESHOLD.match(stripped)
    if match is None or match["metric"] not in METRICS:
        word = stripped.split()[0] if stripped.split() else stripped
        raise ValueError(
            f"{stripped!r} is not a condition: write METRIC > VALUE [within DURATION] with a "
            f"METRIC of {', '.join(METRICS)} (unknown {word!r}?), one of the events "
            f"{', '.join(EVENTS)}, or signal NAME"
        )
    metric: Metric = match["metric"]  # type: ignore[assignment]
    value = _value(metric, match["value"].replace(" ", ""), stripped)
    window = _window(match["per"], match["within"], stripped)
    if window is None:
        if metric != "error_rate":
            raise ValueError(
                f"{stripped!r}: say over what time, for example '{metric} > …/hour' or "
                f"'{metric} > … within 10m'"
            )
        window = DEFAULT_RATE_WINDOW
    return Threshold(metric, match["op"], value, window, " ".join(stripped.split()))  # type: ignore[arg-type]


def _value(metric: str, raw: str, text: str) -> Decimal:
    if metric == "error_rate":
        try:
            share = Decimal(raw[:-1]) / 100 if raw.endswith("%") else Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"{text!r}: {raw!r} is not a share such as 10% or 0.1") from None
        if not Decimal(0) <= share < Decimal(1):
            raise ValueError(f"{text!r}: an error rate is a share from 0% to under 100%")
        return share
    if raw.endswith("%"):
        raise ValueError(f"{text!r}: only error_rate is a percentage")
    if metric == "spend":
        try:
            return parse_money(raw)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None
    if raw.startswith("$"):
        raise ValueError(f"{text!r}: {metric} is a count, not dollars")
    try:
        count = Decimal(raw.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{text!r}: {raw!r} is not a count") from None
    if count != count.to_integral_value() or count < 0:
        raise ValueError(f"{text!r}: {metric} is a whole number of calls")
    return count


def _window(per: str | None, within: str | None, text: str) -> timedelta | None:
    try:
        if within is not None:
            return parse_duration(within)
        if per is None:
            return None
        if per in _PER:
            return _PER[per]
        return parse_duration(per)
    except ValueError as exc:
        raise ValueError(
            f"{text!r}: {exc}; after '/' write second, minute, hour, day, week or a duration"
        ) from None


class AlertRule(BaseModel):
    """One alert rule: when it fires, how severe it is, and what happens then."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    when: Annotated[
        Threshold | Event | Signal,
        WithJsonSchema(
            {
                "type": "string",
                "examples": [
                    "error_rate > 10%",
                    "spend > $100/hour",
                    "spend > $5 within 10m",
                    "sensitive_data_detected",
                    "signal customer_complaint",
                ],
            }
        ),
    ] = Field(
        description='The condition: "error_rate > 10%", "spend > $100/hour", '
        '"sensitive_data_detected", "signal customer_complaint" …'
    )
    severity: Literal["info", "warning", "critical"] = Field(
        default="warning", description="info, warning or critical."
    )
    then: tuple[AlertAction, ...] = Field(
        default=("notify",),
        description="What happens when it fires: notify (every `notify:` target), stop_agent "
        "(the agent's kill switch, until `agentguard resume`), open_incident (recorded in the "
        "audit log).",
    )
    agents: tuple[str, ...] | None = Field(
        default=None, description="Agent names or globs it watches (default: every agent)."
    )
    name: str | None = Field(
        default=None, description="How alerts and records call it (default: the condition)."
    )
    repeat_after: Duration = Field(
        default=timedelta(minutes=15),
        description="It fires at most once per agent within this, across all processes.",
    )
    min_calls: int = Field(
        default=10, gt=0, description="error_rate: calls that must have run in the window."
    )

    @field_validator("when", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Condition:
        return parse_condition(value)

    @field_validator("then", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError("a rule's name is 1 to 100 letters, digits, '_', '-', '.' or ':'")
        return value

    @model_validator(mode="after")
    def _actions(self) -> AlertRule:
        if not self.then:
            raise ValueError("`then` is empty: say what happens (notify, stop_agent …)")
        if len(set(self.then)) != len(self.then):
            raise ValueError("`then` names an action twice")
        return self

    @property
    def label(self) -> str:
        """How alerts and records name this rule."""
        if self.name is not None:
            return self.name
        if isinstance(self.when, Threshold) and self.when.source:
            return self.when.source
        return str(self.when)
