"""The policy's ``limits:`` section: rate limits, money budgets, retry limits and
"approval after N", per agent (or ``"*"`` for all agents together).

Example::

    limits:
      research_agent:
        - {tool: call_api, max: 60, per: 1m}          # 60 calls a minute, sliding
        - {cost: 10.00, per: 1h}                      # $10 an hour on every tool
      email_agent:
        - {tool: send_email, max: 50, per: 1h}        # both windows at once
        - {tool: send_email, max: 500, per: 1d}
        - {tool: send_email, max_retries: 3}          # the same failed call, 3 times an hour
      content_agent:
        - {tool: publish_post, max: 10, per: 1d, require_approval_after: 5}
      financial_agent:
        - {tool: process_refund, max: 3, per: 1d, per_subject: true}   # per customer
      "*":
        - {cost: 100.00, per: 1d}                     # all agents together
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentguard.policy.units import Duration, Money

#: the agent key of limits shared by every agent
ALL_AGENTS = "*"
#: how far back ``max_retries`` looks when the rule gives no ``per``
DEFAULT_RETRY_WINDOW = timedelta(hours=1)


class LimitRule(BaseModel):
    """One limit of one agent (or of all agents together, under ``"*"``).

    Exactly one kind per rule: a count (``max`` and/or ``require_approval_after``, with
    ``per``), a budget (``cost`` with ``per``), or a retry limit (``max_retries``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str | None = Field(
        default=None,
        description="A tool name or glob (send_*); omitted: every tool, counted together.",
    )
    max: int | None = Field(
        default=None, gt=0, description="Most actions in any window of length `per`."
    )
    cost: Money | None = Field(
        default=None, description="Most dollars in any window of length `per` (exact decimal)."
    )
    per: Duration | None = Field(default=None, description="The sliding window: 1m, 1h, 1d …")
    per_subject: bool = Field(
        default=False,
        description="Count separately for each subject (customer, resource) of the action; "
        "an action without a subject is denied.",
    )
    max_retries: int | None = Field(
        default=None,
        gt=0,
        description="The same failed call (tool and arguments) is refused after this many "
        "failures within `per` (default 1h).",
    )
    require_approval_after: int | None = Field(
        default=None,
        gt=0,
        description="Past this many actions within `per`, actions are held for a person.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> LimitRule:
        counts = self.max is not None or self.require_approval_after is not None
        kinds = [counts, self.cost is not None, self.max_retries is not None]
        if sum(kinds) != 1:
            raise ValueError(
                "a limit is one of: `max` (and/or `require_approval_after`) per window, "
                "`cost` per window, or `max_retries`"
            )
        if (counts or self.cost is not None) and self.per is None:
            raise ValueError("say the window: add `per` (for example per: 1h)")
        if self.cost is not None and self.cost <= Decimal(0):
            raise ValueError("`cost` must be more than zero")
        if (
            self.max is not None
            and self.require_approval_after is not None
            and self.require_approval_after >= self.max
        ):
            raise ValueError("`require_approval_after` must be below `max`")
        return self

    @property
    def window(self) -> timedelta:
        """The sliding window of this rule."""
        if self.per is not None:
            return self.per
        return DEFAULT_RETRY_WINDOW


#: agent name (or "*") → its limits
LimitsSection = dict[str, list[LimitRule]]
