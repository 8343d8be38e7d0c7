"""The policy's ``approvals:`` and ``approvers:`` sections: who must say yes, and how fast.

Example (the mission's low / medium / high risk tiers)::

    approvals:
      low: {mode: none}                                   # runs at once
      medium: {mode: review, within: 2h, on_expiry: deny} # queued; a person has 2 hours
      high: {mode: required, timeout: 10m}                # the call waits for a person
      critical: {mode: required, timeout: 10m, two_person: true}
      min_confidence: 0.7          # a lower confidence_score goes to review, whatever the tier
      tools:                       # per tool, over its risk tier
        send_to_press: {mode: required, timeout: 30m, two_person: true}
    approvers:
      alice: {tools: ["*"]}
      bob: {tiers: [medium]}

A tool's tier is its ``risk:``. Never approve by timeout: a ``review`` past ``within``
escalates (``escalate_to`` approvers are alerted) and then follows ``on_expiry``, which is
``deny`` unless it says ``escalate`` (one more ``within``); a ``required`` call that waits
past ``timeout`` is denied.
"""

from __future__ import annotations

import fnmatch
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentguard.policy.units import Duration

Mode = Literal["none", "review", "required"]
#: the mission's names for the modes
_MODE_ALIASES = {"async_review": "review", "automated": "none", "blocking": "required"}
TIERS: tuple[str, ...] = ("low", "medium", "high", "critical")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalRule(_Strict):
    """How actions of one tier (or one tool) are approved."""

    mode: Mode = Field(
        description="none: runs at once; review: queued for a person within `within`; "
        "required: the call waits up to `timeout` for a person."
    )
    within: Duration | None = Field(
        default=None, description="review: how long a person has to decide."
    )
    on_expiry: Literal["deny", "escalate"] = Field(
        default="deny",
        description="review: past `within`, deny (the default) or escalate for one more "
        "`within`. Never approve.",
    )
    escalate_to: tuple[str, ...] = Field(
        default=(), description="Approvers alerted when a review escalates."
    )
    timeout: Duration | None = Field(
        default=None, description="required: how long the call waits before it is denied."
    )
    two_person: bool = Field(default=False, description="Two distinct approvers must say yes.")
    when: str | None = Field(
        default=None,
        description="Under tools: only: a CEL condition (args, agent, session, subject, now); "
        "the rule applies when it is true, and the action runs at once when it is false "
        "(args.amount >= 500). A condition that cannot be evaluated asks for the approval.",
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        return _MODE_ALIASES.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalRule:
        if self.mode == "review" and self.within is None:
            raise ValueError("a review needs `within`: how long a person has (2h …)")
        if self.mode == "required" and self.timeout is None:
            raise ValueError("a required approval needs `timeout`: how long the call waits")
        if self.mode != "review" and (
            self.within is not None or self.on_expiry != "deny" or self.escalate_to
        ):
            raise ValueError("`within`, `on_expiry` and `escalate_to` are for mode: review")
        if self.mode != "required" and self.timeout is not None:
            raise ValueError("`timeout` is for mode: required (a review has `within`)")
        if self.mode == "none" and self.two_person:
            raise ValueError("`two_person` needs a person: mode review or required")
        return self

    @property
    def deadline(self) -> timedelta | None:
        """How long a person has: ``within`` for a review, ``timeout`` when required."""
        return self.within if self.mode == "review" else self.timeout


#: How many requests one agent may have waiting at once unless approvals.max_pending says.
DEFAULT_MAX_PENDING = 200


class ApprovalsSection(_Strict):
    """Approval modes by risk tier, over-ridden per tool, and the confidence floor."""

    low: ApprovalRule | None = None
    medium: ApprovalRule | None = None
    high: ApprovalRule | None = None
    critical: ApprovalRule | None = None
    tools: dict[str, ApprovalRule] = Field(
        default_factory=dict, description="Per tool name or glob, over its risk tier."
    )
    irreversible: ApprovalRule | None = Field(
        default=None,
        description="For every tool marked irreversible: true (over its risk tier; a tool's "
        "own entry under tools: comes first).",
    )
    max_pending: int = Field(
        default=DEFAULT_MAX_PENDING,
        gt=0,
        le=1_000_000,
        description="How many requests one agent may have waiting for people at once; past "
        "it, a held action is refused (approval.queue_full) rather than queued.",
    )
    min_confidence: Decimal | None = Field(
        default=None,
        description="An action whose metadata confidence_score is below this goes to review "
        "(the medium tier's, or 2h) whatever its tier.",
    )

    @field_validator("min_confidence", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return Decimal(repr(value)) if isinstance(value, float) else value

    @model_validator(mode="after")
    def _share(self) -> ApprovalsSection:
        if self.min_confidence is not None and not Decimal(0) < self.min_confidence <= 1:
            raise ValueError("`min_confidence` is a score from 0 to 1 (0.7 …)")
        for tier in (*TIERS, "irreversible"):
            rule = getattr(self, tier)
            if rule is not None and rule.when is not None:
                raise ValueError(f"`when` is for rules under tools: (per tool), not for {tier!r}")
        return self

    def for_tier(self, tier: str) -> ApprovalRule | None:
        """The rule of risk tier ``tier`` (None: the tier runs at once)."""
        rule: ApprovalRule | None = getattr(self, tier, None) if tier in TIERS else None
        return rule

    def for_tool(
        self, tool: str, tier: str, irreversible: bool = False
    ) -> tuple[ApprovalRule | None, str]:
        """The rule for ``tool`` of risk tier ``tier`` and where it comes from: the tool's
        own entry (its exact name, else the first glob that matches it), else
        ``irreversible`` for such a tool, else its tier's. The place reads ``tools.NAME``,
        ``irreversible`` or the tier; the rule is None when nothing asks."""
        own = self.tools.get(tool)
        if own is not None:
            return own, f"tools.{tool}"
        for pattern, rule in self.tools.items():
            if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(tool, pattern):
                return rule, f"tools.{pattern}"
        if irreversible and self.irreversible is not None:
            return self.irreversible, "irreversible"
        return self.for_tier(tier), tier

    def review_rule(self) -> ApprovalRule:
        """The review a low ``confidence_score`` (or a hold by another layer on a tool
        whose own rule asks for no person) is sent to: the medium tier's when that is a
        review, else a review within 24 hours."""
        medium = self.medium
        if medium is not None and medium.mode == "review":
            return medium
        return DEFAULT_REVIEW


#: A held action's review when the policy names none: a person has a day; then it is denied.
DEFAULT_REVIEW = ApprovalRule(mode="review", within=timedelta(hours=24))


class ApproverSpec(_Strict):
    """A person who may approve: limited to some tools (names or globs) and/or tiers."""

    tools: tuple[str, ...] | None = Field(
        default=None, description="Tools (names or globs) they may approve; default all."
    )
    tiers: tuple[Literal["low", "medium", "high", "critical"], ...] | None = Field(
        default=None, description="Risk tiers they may approve; default all."
    )
    admin: bool = Field(
        default=False,
        description="Also operates the gateway with their key: stops and resumes agents, "
        "reads the audit log and status, reports signals.",
    )
