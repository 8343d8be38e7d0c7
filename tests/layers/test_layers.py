"""Each layer alone, with a real store where it reads one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agentguard.clock import ManualClock
from agentguard.layers import AccessLayer, IdentityLayer, InputLayer, KillSwitchLayer
from agentguard.pipeline import Action, Step
from agentguard.policy import LoadedPolicy
from agentguard.store import Kill, KillScope, MemoryStore, SQLiteStore
from agentguard.tools import describe_function


def act(agent: str = "financial_agent", tool: str = "process_refund", **args: Any) -> Action:
    return Action(agent=agent, tool=tool, args=args)


@pytest.mark.parametrize(
    ("agent", "tool", "args", "step", "code"),
    [
        ("financial_agent", "process_refund", {"amount": 120.0}, Step.GRANT, "access.allowed"),
        ("financial_agent", "process_refund", {"amount": 600}, Step.DENY, "access.condition_false"),
        (
            "financial_agent",
            "process_refund",
            {"amount": Decimal("500.00")},
            Step.DENY,
            "access.condition_false",
        ),
        ("financial_agent", "process_refund", {}, Step.DENY, "access.condition_error"),
        ("financial_agent", "process_refund", {"amount": "x"}, Step.DENY, "access.condition_error"),
        ("financial_agent", "modify_pricing", {}, Step.DENY, "access.denied_by_role"),
        ("email_agent", "process_refund", {"amount": 1}, Step.DENY, "access.no_rule"),
        ("email_agent", "nonexistent", {}, Step.DENY, "access.unknown_tool"),
        ("email_agent", "send_email", {}, Step.GRANT, "access.allowed"),
    ],
)
def test_access_matrix(
    starter: LoadedPolicy, agent: str, tool: str, args: dict[str, Any], step: Step, code: str
) -> None:
    verdict = AccessLayer(starter, ManualClock()).admit(act(agent, tool, **args))
    assert verdict.step is step and verdict.reasons[-1].code == code


def test_access_condition_sees_agent_session_subject_and_now() -> None:
    from agentguard.policy import parse_policy

    policy = parse_policy(
        "tools: {t: {}}\nroles:\n  r:\n    allow:\n      - tool: t\n        when: >-\n"
        "          agent.id == 'a' && 'r' in agent.roles && session == 's1' &&\n"
        "          subject == 'c1' && now.getFullYear() == 2026\n"
        "agents: {a: {roles: [r]}}\n"
    )
    layer = AccessLayer(policy, ManualClock())
    good = Action(agent="a", tool="t", args={}, session="s1", subject="c1")
    assert layer.admit(good).step is Step.GRANT
    assert layer.admit(good.with_changes(subject="c2")).step is Step.DENY


def test_identity_layer_alone(starter: LoadedPolicy) -> None:
    layer = IdentityLayer(starter, MemoryStore(), ManualClock())
    assert layer.admit(act()).step is Step.CONTINUE
    assert layer.admit(act(agent="ghost")).reasons[0].code == "identity.unknown_agent"
    assert (
        layer.admit(act().with_changes(credential="ag_bad")).reasons[0].code
        == "identity.key_malformed"
    )


def test_killswitch_layer_reads_the_store_every_time(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    layer = KillSwitchLayer(store)
    assert layer.admit(act()).step is Step.CONTINUE
    other = SQLiteStore(tmp_path / "k.db")  # another connection, as another process would have
    other.set_kill(Kill(KillScope.AGENT, "financial_agent", "loop", ManualClock().now()))
    verdict = layer.admit(act())
    assert verdict.step is Step.DENY and verdict.reasons[0].code == "killswitch.agent"
    assert layer.admit(act(agent="email_agent")).step is Step.CONTINUE


def test_input_layer_validates_sanitises_and_binds(starter: LoadedPolicy) -> None:
    def process_refund(order_id: str, amount: Decimal, card_number: str = "") -> None: ...

    layer = InputLayer(
        starter, {"process_refund": describe_function(process_refund, "process_refund")}
    )
    verdict = layer.admit(act(order_id="o\u200b1", amount=12.5))
    assert verdict.step is Step.CONTINUE and verdict.action is not None
    assert verdict.action.args == {"order_id": "o1", "amount": Decimal("12.5"), "card_number": ""}
    assert verdict.reasons[0].code == "input.sanitized"
    denied = layer.admit(act(order_id="o1", amount=-1))
    assert denied.step is Step.DENY and denied.reasons[0].code == "input.schema"
    untouched = act(tool="read_inbox")
    assert layer.admit(untouched).action is None  # nothing to change, no copy made


def test_input_layer_never_mutates_the_callers_arguments(starter: LoadedPolicy) -> None:
    args: dict[str, Any] = {}
    InputLayer(starter, {}).admit(Action(agent="email_agent", tool="read_inbox", args=args))
    assert args == {}
