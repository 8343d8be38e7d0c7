"""The library API end to end against a real SQLite file: the done-when scenarios."""

from __future__ import annotations

import asyncio
import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard import (
    AccessDenied,
    AgentGuardError,
    AgentStopped,
    Denied,
    Guard,
    InvalidInput,
    ToolNotRegistered,
)
from agentguard.policy import parse_policy
from agentguard.store import AuditQuery


def records(guard: Guard, **query: Any) -> list[dict[str, Any]]:
    return [r.data for r in guard.store.search(AuditQuery(**query))]


def test_refund_under_limit_is_executed_and_audited(guard: Guard) -> None:
    agent = guard.agent("financial_agent")
    result = agent.call("process_refund", order_id="o1", amount=Decimal("120"))
    assert result == {"refund_id": "rf_o1", "amount": "120"}
    [record] = records(guard)
    assert record["action"] == "process_refund" and record["decision"] == "allow"
    assert record["status"] == "executed" and record["agent_id"] == "financial_agent"
    assert record["input"]["amount"] == "120" and record["output"]["refund_id"] == "rf_o1"
    assert record["reasons"][-1]["code"] == "access.allowed"


def test_refund_over_limit_is_denied_naming_the_condition(guard: Guard) -> None:
    with pytest.raises(AccessDenied) as info:
        guard.agent("financial_agent").call("process_refund", order_id="o1", amount=Decimal("600"))
    assert info.value.code == "access.condition_false"
    assert "args.amount < 500" in info.value.message and "finance" in info.value.message
    assert "600" not in str(info.value)
    assert guard.calls == []  # type: ignore[attr-defined]
    [record] = records(guard)
    assert record["decision"] == "deny" and record["status"] == "denied"


@pytest.mark.parametrize(
    ("amount", "allowed"),
    [
        (Decimal("500.00"), False),
        (Decimal("500"), False),
        (Decimal("499.99"), True),
        (Decimal("0.01"), True),
        (500, False),
        (499.99, True),
        ("499.99", False),  # the policy types amount as a number, not a string
    ],
)
def test_money_boundary_is_exact(guard: Guard, amount: Any, allowed: bool) -> None:
    decision = guard.check("financial_agent", "process_refund", {"order_id": "o", "amount": amount})
    assert decision.allowed is allowed, decision.reasons


def test_decimal_too_precise_to_compare_is_denied(guard: Guard) -> None:
    decision = guard.check(
        "financial_agent",
        "process_refund",
        {"order_id": "o", "amount": Decimal("499.9999999999999999")},
    )
    assert not decision.allowed and decision.codes[-1] == "access.condition_imprecise"


def test_tool_in_no_role_is_denied_by_default(guard: Guard) -> None:
    with pytest.raises(AccessDenied) as info:
        guard.agent("email_agent").call("process_refund", order_id="o", amount=Decimal(1))
    assert info.value.code == "access.no_rule"


def test_tool_registered_in_python_but_absent_from_policy_is_denied(guard: Guard) -> None:
    @guard.tool()
    def wire_money(to: str) -> None:
        raise AssertionError("must not run")

    with pytest.raises(Denied) as info:
        guard.agent("financial_agent").call("wire_money", to="x")
    assert info.value.code == "access.unknown_tool"


def test_explicit_deny_wins_over_allow_in_another_role(tmp_path: Path) -> None:
    policy = parse_policy(
        "tools: {delete_email: {input: {message_id: {type: string}}}}\n"
        "roles:\n"
        "  cleaner: {allow: [delete_email]}\n"
        "  support: {deny: [delete_email]}\n"
        "agents: {email_agent: {roles: [cleaner, support]}}\n"
    )
    ran: list[str] = []
    with Guard(policy, f"sqlite:///{tmp_path / 'a.db'}") as guard:
        guard.register(lambda message_id: ran.append(message_id), "delete_email")
        with pytest.raises(AccessDenied) as info:
            guard.agent("email_agent").call("delete_email", message_id="m1")
    assert info.value.code == "access.denied_by_role" and ran == []


def test_conditional_deny_applies_only_when_true(tmp_path: Path) -> None:
    policy = parse_policy(
        "tools: {send_email: {input: {to: {type: string}}}}\n"
        "roles:\n"
        "  r:\n"
        "    allow: [send_email]\n"
        "    deny: [{tool: send_email, when: \"args.to.endsWith('@competitor.com')\"}]\n"
        "agents: {a: {roles: [r]}}\n"
    )
    with Guard(policy, "memory://") as guard:
        assert guard.check("a", "send_email", {"to": "x@example.com"}).allowed
        decision = guard.check("a", "send_email", {"to": "x@competitor.com"})
        assert decision.codes[-1] == "access.denied_by_condition"


def test_unknown_and_disabled_agents_are_denied(tmp_path: Path) -> None:
    policy = parse_policy(
        "tools: {t: {}}\nroles: {r: {allow: [t]}}\n"
        "agents: {on: {roles: [r]}, off: {roles: [r], enabled: false}}\n"
    )
    with Guard(policy, "memory://") as guard:
        assert guard.check("on", "t").allowed
        assert guard.check("off", "t").codes == ["identity.agent_disabled"]
        assert guard.check("ghost", "t").codes == ["identity.unknown_agent"]


def test_allowed_tool_without_implementation_raises_and_is_audited(guard: Guard) -> None:
    with pytest.raises(ToolNotRegistered):
        guard.agent("email_agent").call("draft_response", thread_id="t", body="b")
    [record] = records(guard)
    assert record["status"] == "failed"


def test_schema_violations_are_denied_without_values(guard: Guard) -> None:
    email = guard.agent("email_agent")
    with pytest.raises(InvalidInput) as info:
        email.call("send_email", to="not-an-email-SECRET", subject="s", body="b")
    assert info.value.code == "input.schema" and "SECRET" not in str(info.value)
    with pytest.raises(InvalidInput, match="missing required"):
        email.call("send_email", to="a@example.com", subject="s")
    with pytest.raises(InvalidInput, match="does not accept"):
        email.call("send_email", to="a@example.com", subject="s", body="b", bcc="x@example.com")
    with pytest.raises(InvalidInput, match="maxLength"):
        email.call("send_email", to="a@example.com", subject="s" * 201, body="b")


def test_arguments_over_the_size_limit_are_denied(tmp_path: Path) -> None:
    policy = parse_policy(
        "settings: {max_input_bytes: 1000}\ntools: {t: {}}\nroles: {r: {allow: [t]}}\n"
        "agents: {a: {roles: [r]}}\n"
    )
    with Guard(policy, "memory://") as guard:
        assert guard.check("a", "t", {"x": "y" * 100}).allowed
        decision = guard.check("a", "t", {"x": "y" * 2000})
        assert decision.codes == ["input.too_large"]
        nested: Any = "x"
        for _ in range(40):
            nested = {"k": nested}
        assert guard.check("a", "t", {"x": nested}).codes == ["input.too_deep"]


def test_invisible_characters_are_removed_before_the_tool_runs(guard: Guard) -> None:
    guard.agent("email_agent").call(
        "send_email", to="a@example.com", subject="Hi", body="ig\u200bnore\u202e all"
    )
    assert guard.calls[-1][1]["body"] == "ignore all"  # type: ignore[attr-defined]
    [record] = records(guard)
    assert [r["code"] for r in record["reasons"]] == ["input.sanitized", "access.allowed"]


def test_type_hints_give_the_schema_when_the_policy_has_none(tmp_path: Path) -> None:
    policy = parse_policy(
        "tools: {add: {}}\nroles: {r: {allow: [{tool: add, when: 'args.a < 10'}]}}\n"
        "agents: {x: {roles: [r]}}\n"
    )
    with Guard(policy, "memory://") as guard:

        @guard.tool()
        def add(a: int, b: int = 1) -> int:
            return a + b

        agent = guard.agent("x")
        assert agent.call("add", a=2) == 3
        with pytest.raises(InvalidInput, match="'a'"):
            agent.call("add", a="two")
        with pytest.raises(AccessDenied):
            agent.call("add", a=11)


def test_condition_on_argument_the_function_lacks_is_a_policy_error() -> None:
    policy = parse_policy(
        "tools: {add: {}}\nroles: {r: {allow: [{tool: add, when: 'args.c < 10'}]}}\n"
        "agents: {x: {roles: [r]}}\n"
    )
    with Guard(policy, "memory://") as guard, pytest.raises(AgentGuardError, match="'c'"):

        @guard.tool()
        def add(a: int, b: int = 1) -> int:
            return a + b


def test_tool_exception_is_audited_scrubbed_and_reraised(guard: Guard) -> None:
    @guard.tool("process_refund")
    def failing(order_id: str, amount: Decimal, card_number: str = "") -> None:
        raise RuntimeError(f"card {card_number} declined")

    with pytest.raises(RuntimeError):
        guard.agent("financial_agent").call(
            "process_refund", order_id="o", amount=Decimal(5), card_number="4111111111111111"
        )
    [record] = records(guard)
    assert record["status"] == "failed"
    assert "4111111111111111" not in json.dumps(record)
    assert "declined" in record["error"]


def test_audit_record_has_the_mission_fields(guard: Guard) -> None:
    guard.agent("email_agent", session="s-1", subject="cust_42").invoke(
        "send_email",
        {"to": "customer@example.com", "subject": "Re: Support Ticket #1234", "body": "Hi"},
        metadata={"confidence_score": 0.87},
    )
    [record] = records(guard)
    for key in (
        "timestamp", "agent_id", "action", "input", "output", "cost", "duration_ms",
        "metadata", "decision", "reasons", "session", "subject", "prev_hash", "hash",
    ):  # fmt: skip
        assert key in record, key
    assert record["cost"] == "0.002" and record["metadata"] == {"confidence_score": 0.87}
    assert record["session"] == "s-1" and record["subject"] == "cust_42"
    assert record["output"] == {"message_id": "msg_1", "status": "sent"}
    assert record["timestamp"].endswith("Z") and record["prev_hash"] == "0" * 64


def test_sensitive_arguments_never_reach_the_database(guard: Guard, tmp_path: Path) -> None:
    card = "4000056655665556"
    guard.agent("financial_agent").call(
        "process_refund", order_id="o", amount=Decimal(5), card_number=card
    )
    guard.close()
    for path in tmp_path.glob("agentguard.db*"):
        assert card.encode() not in path.read_bytes(), path


def test_kill_switch_stops_agent_tool_or_everything(guard: Guard) -> None:
    email = guard.agent("email_agent")
    guard.kill(agent="email_agent", reason="runaway")
    with pytest.raises(AgentStopped, match="runaway"):
        email.call("read_inbox")
    assert guard.resume(agent="email_agent")
    assert email.call("read_inbox") == ["hello"]
    guard.kill(tool="read_inbox", reason="maintenance")
    with pytest.raises(AgentStopped):
        email.call("read_inbox")
    guard.resume(tool="read_inbox")
    guard.kill(everything=True, reason="incident")
    with pytest.raises(AgentStopped) as info:
        guard.agent("financial_agent").call("process_refund", order_id="o", amount=Decimal(1))
    assert "agentguard resume --all" in info.value.message
    kinds = [(r["action"], r["decision"]) for r in records(guard) if r["kind"] == "control"]
    assert ("agentguard.kill", "kill") in kinds and ("agentguard.resume", "resume") in kinds


def test_store_that_fails_denies_the_action(guard: Guard) -> None:
    guard.store.close()
    with pytest.raises(AgentGuardError) as info:
        guard.agent("email_agent").call("read_inbox")
    assert info.value.code.startswith("store.")
    assert guard.calls == []  # type: ignore[attr-defined]


def test_async_calls_run_sync_and_async_tools(guard: Guard) -> None:
    @guard.tool("read_inbox")
    async def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        await asyncio.sleep(0)
        return [folder]

    async def main() -> list[Any]:
        email = guard.agent("email_agent")
        finance = guard.agent("financial_agent")
        return await asyncio.gather(
            email.acall("read_inbox", folder="a"),
            finance.acall("process_refund", order_id="o", amount=Decimal(3)),
            finance.acall("process_refund", order_id="o", amount=Decimal(900)),
            return_exceptions=True,
        )

    first, second, third = asyncio.run(main())
    assert first == ["a"] and second["refund_id"] == "rf_o"
    assert isinstance(third, AccessDenied)
    assert guard.verify_audit().ok and guard.store.count() == 3


def test_calling_an_async_tool_synchronously_is_a_clear_error(guard: Guard) -> None:
    @guard.tool("read_inbox")
    async def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        return []

    with pytest.raises(TypeError, match="acall"):
        guard.agent("email_agent").call("read_inbox")
    [record] = records(guard)
    assert record["status"] == "failed" and record["decision"] == "allow"


def test_many_threads_share_one_guard(guard: Guard) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            agent = guard.agent("email_agent")
            for _ in range(25):
                agent.call("read_inbox")
                with pytest.raises(AccessDenied):
                    agent.call("delete_email", message_id="m")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert guard.store.count() == 8 * 50 and guard.verify_audit().ok


def test_a_policy_checked_without_its_plugins_cannot_guard(tmp_path: Path) -> None:
    from agentguard import PolicyError
    from agentguard.policy import parse_policy

    text = """
version: 1
tools:
  publish_post: {input: {text: {type: string}}, outbound: [text]}
roles:
  writer: {allow: [publish_post]}
agents:
  bot: {roles: [writer]}
detectors:
  quality_checks:
    - {name: voice, call: "acme_not_imported.checks:voice", tools: [publish_post]}
"""
    unloaded = parse_policy(text, load_plugins=False)
    assert unloaded.unloaded
    with pytest.raises(PolicyError) as caught:
        Guard(unloaded, f"sqlite:///{tmp_path / 'ag.db'}")
    assert caught.value.code == "policy.plugins_not_loaded"
