"""The policy's ``breakers:`` section: circuit breakers on errors, and loop detection.

Example::

    breakers:
      errors: {errors: 5, within: 60s, cooldown: 5m}     # per agent and per tool
      loops: {same_call: 10, within: 60s}                 # the same call 10 times a minute
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentguard.policy.units import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorBreaker(_Strict):
    """Open a breaker per agent and per tool when calls keep failing (the tool raised)."""

    errors: int | None = Field(
        default=None, gt=0, le=10_000, description="Failures within `within` that open it."
    )
    error_rate: Decimal | None = Field(
        default=None,
        description="A failure rate (0.5 or '50%') over `within` above which it opens, once "
        "at least `min_calls` calls were made.",
    )
    min_calls: int = Field(default=10, gt=0, description="Calls needed before a rate counts.")
    within: Duration = Field(description="The window failures are counted in.")
    cooldown: Duration = Field(
        default=timedelta(minutes=5), description="How long it stays open before a trial."
    )
    trial_calls: int = Field(default=1, gt=0, description="Calls let through when half-open.")

    @field_validator("error_rate", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            return Decimal(value.strip()[:-1]) / 100
        if isinstance(value, float):
            return Decimal(repr(value))
        return value

    @model_validator(mode="after")
    def _when(self) -> ErrorBreaker:
        if self.errors is None and self.error_rate is None:
            raise ValueError("say when it opens: give `errors`, `error_rate`, or both")
        if self.error_rate is not None and not Decimal(0) < self.error_rate < Decimal(1):
            raise ValueError("`error_rate` is a share between 0 and 1 (or 0% and 100%)")
        return self


class Burst(_Strict):
    """A session's pace far above its own recent past: more than ``factor`` times its
    average rate over ``baseline`` (the current ``window`` left out), once ``min_calls``
    calls were made in ``window``. Judged only once the session is older than ``window``."""

    factor: Decimal = Field(gt=1, description="How many times its usual pace is a burst.")
    window: Duration = Field(default=timedelta(minutes=1), description="The pace now.")
    baseline: Duration = Field(
        default=timedelta(hours=1), description="The past the pace is compared with."
    )
    min_calls: int = Field(default=30, gt=0, description="Calls in `window` before it counts.")

    @field_validator("factor", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return Decimal(repr(value)) if isinstance(value, float) else value

    @model_validator(mode="after")
    def _longer(self) -> Burst:
        if self.baseline <= self.window:
            raise ValueError("`baseline` must be longer than `window`")
        return self


class LoopBreaker(_Strict):
    """Stop an agent that repeats itself: the same call (tool and arguments) ``same_call``
    times within ``within``; the same short cycle of calls (A→B→A→B, A→B→C→A→B→C …)
    ``cycles`` times within ``within``; a ``burst`` far above the session's own pace. The
    agent's kill switch is set; `agentguard resume` lifts it."""

    same_call: int | None = Field(
        default=None, gt=1, description="Identical calls within `within` that are a loop."
    )
    cycles: int | None = Field(
        default=None,
        gt=1,
        description="Times one step of a cycle of calls (the same call following the same "
        "other call) may recur within `within` before it is a loop.",
    )
    within: Duration = Field(description="The window repeated calls are counted in.")
    burst: Burst | None = None

    @model_validator(mode="after")
    def _some(self) -> LoopBreaker:
        if self.same_call is None and self.cycles is None and self.burst is None:
            raise ValueError("say what a loop is: give same_call, cycles, burst, or several")
        return self


class BreakersSection(_Strict):
    """Circuit breakers (``errors``) and loop detection (``loops``)."""

    errors: ErrorBreaker | None = None
    loops: LoopBreaker | None = None
