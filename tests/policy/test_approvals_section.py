"""The approvals: and approvers: sections as models (the layer that enforces them is not
built yet, so a policy using them is still refused by the loader: tested in test_loader)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from agentguard.policy.approvals import ApprovalRule, ApprovalsSection, ApproverSpec

FIXED = """
approvals:
  low: {mode: none}
  medium: {mode: review, within: 2h, on_expiry: deny}
  high: {mode: required, timeout: 10m}
approvers:
  alice: {tools: ["*"]}
  bob: {tiers: [medium]}
"""


def test_the_issues_fixed_points_load() -> None:
    document = YAML(typ="safe").load(FIXED)
    section = ApprovalsSection.model_validate(document["approvals"])
    assert section.for_tier("low") == ApprovalRule(mode="none")
    medium = section.for_tier("medium")
    assert medium is not None and medium.mode == "review"
    assert medium.deadline == timedelta(hours=2) and medium.on_expiry == "deny"
    high = section.for_tier("high")
    assert high is not None and high.mode == "required" and high.deadline == timedelta(minutes=10)
    assert section.for_tier("critical") is None and section.for_tier("nonsense") is None
    approvers = {n: ApproverSpec.model_validate(v) for n, v in document["approvers"].items()}
    assert approvers["alice"].tools == ("*",) and approvers["bob"].tiers == ("medium",)


def test_the_missions_names_for_modes_are_accepted() -> None:
    assert ApprovalRule.model_validate({"mode": "async_review", "within": "2h"}).mode == "review"
    assert ApprovalRule.model_validate({"mode": "automated"}).mode == "none"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"mode": "review"}, "needs `within`"),
        ({"mode": "required"}, "needs `timeout`"),
        ({"mode": "none", "within": "2h"}, "for mode: review"),
        ({"mode": "review", "within": "2h", "timeout": "5m"}, "for mode: required"),
        ({"mode": "none", "two_person": True}, "needs a person"),
        ({"mode": "review", "within": "2h", "on_expiry": "approve"}, "on_expiry"),
        ({"mode": "maybe"}, "mode"),
    ],
)
def test_rules_that_make_no_sense_are_refused(rule: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ApprovalRule.model_validate(rule)


def test_min_confidence_is_a_score() -> None:
    assert ApprovalsSection.model_validate({"min_confidence": 0.7}).min_confidence == Decimal("0.7")
    for bad in (0, 1.5, -1):
        with pytest.raises(ValidationError, match="min_confidence"):
            ApprovalsSection.model_validate({"min_confidence": bad})


BASE = """
version: 1
tools:
  publish_post: {input: {text: {type: string}}, risk: medium}
  process_refund: {input: {amount: {type: number}}, risk: high}
roles:
  poster: {allow: [publish_post, process_refund]}
agents:
  content_agent: {roles: [poster]}
"""


def test_approvers_load_with_the_policy() -> None:
    from agentguard.policy import parse_policy

    policy = parse_policy(BASE + 'approvers:\n  alice: {tools: ["*"]}\n  bob: {tiers: [medium]}\n')
    approvers = policy.model.approvers
    assert approvers is not None and set(approvers) == {"alice", "bob"}


@pytest.mark.parametrize(
    ("approvers", "message"),
    [
        ("  content_agent: {}\n", "both an agent and an approver"),
        ("  alice: {tools: [publish_pots]}\n", "did you mean 'publish_post'"),
        ("  alice: {tiers: [urgent]}\n", "tiers"),
        ("  'al ice': {}\n", "not a valid name"),
        ("  alice: {tool: [x]}\n", "unknown key"),
    ],
)
def test_bad_approvers_are_refused_with_their_line(approvers: str, message: str) -> None:
    from agentguard.errors import PolicyError
    from agentguard.policy import parse_policy

    with pytest.raises(PolicyError) as caught:
        parse_policy(BASE + "approvers:\n" + approvers, source="policy.yaml")
    assert message in str(caught.value) and "policy.yaml:" in str(caught.value)
