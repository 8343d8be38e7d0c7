"""Scoped API keys: hashed at rest, constant-time checked, expiring, revocable, narrowing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agentguard import AccessDenied, AgentGuardError, Guard, Unauthenticated, control
from agentguard.clock import ManualClock
from agentguard.keys import authenticate, key_id_of


def test_key_authenticates_as_its_agent(guard: Guard) -> None:
    key = guard.create_key("email_agent")
    assert key.startswith("ag_") and key_id_of(key)
    assert guard.agent(api_key=key).call("read_inbox") == ["hello"]


def test_key_never_stored_or_shown(guard: Guard, tmp_path: Path) -> None:
    key = guard.create_key("email_agent", tools=["read_inbox"])
    agent = guard.agent(api_key=key)
    agent.call("read_inbox")
    with pytest.raises(AccessDenied) as info:
        agent.call("send_email", to="a@example.com", subject="s", body="b")
    assert key not in str(info.value) and key not in repr(agent)
    secret = key.split("_", 2)[2]
    guard.close()
    for path in tmp_path.glob("agentguard.db*"):
        data = path.read_bytes()
        assert key.encode() not in data and secret.encode() not in data


def test_key_scoped_to_one_tool_cannot_call_another(guard: Guard) -> None:
    key = guard.create_key("email_agent", tools=["read_inbox"])
    with pytest.raises(AccessDenied) as info:
        guard.agent(api_key=key).call("send_email", to="a@example.com", subject="s", body="b")
    assert info.value.code == "access.key_scope"


def test_key_scope_cannot_widen_the_agents_roles(guard: Guard) -> None:
    with pytest.raises(AgentGuardError) as refused:
        guard.create_key("email_agent", tools=["process_refund"])
    assert refused.value.code == "keys.scope"
    # a key whose scope the policy does not (or no longer) allow still cannot act beyond roles
    key, _ = control.issue_key(
        guard.store, "email_agent", expires_in=None, tools=["process_refund"]
    )
    with pytest.raises(AccessDenied) as info:
        guard.agent(api_key=key).call("process_refund", order_id="o", amount=1)
    assert info.value.code == "access.no_rule"


def test_expired_key_is_refused(guard: Guard, clock: ManualClock) -> None:
    key = guard.create_key("email_agent", expires_in=timedelta(days=30))
    agent = guard.agent(api_key=key)
    agent.call("read_inbox")
    clock.advance(timedelta(days=30))
    with pytest.raises(Unauthenticated) as info:
        agent.call("read_inbox")
    assert info.value.code == "identity.key_expired"


def test_revoked_key_is_refused_from_the_next_call(guard: Guard) -> None:
    key = guard.create_key("email_agent")
    agent = guard.agent(api_key=key)
    agent.call("read_inbox")
    assert guard.revoke_key(key_id_of(key) or "")
    with pytest.raises(Unauthenticated) as info:
        agent.call("read_inbox")
    assert info.value.code == "identity.key_revoked"
    assert not guard.revoke_key(key_id_of(key) or "")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # wrong secret
        lambda k: "ag_000000000000_" + k.split("_", 2)[2],  # unknown id
        lambda k: "not-a-key",
        lambda k: "",
    ],
)
def test_wrong_keys_are_refused_without_echoing_them(guard: Guard, mangle: object) -> None:
    key = guard.create_key("email_agent")
    bad = mangle(key)  # type: ignore[operator]
    with pytest.raises(Unauthenticated) as info:
        guard.agent(api_key=bad).call("read_inbox")
    secret = key.split("_", 2)[2]
    assert secret not in str(info.value) and (not bad or bad not in str(info.value))


def test_key_of_one_agent_cannot_act_as_another(guard: Guard) -> None:
    key = guard.create_key("email_agent")
    with pytest.raises(Unauthenticated) as info:
        guard.agent("financial_agent", api_key=key).call("read_inbox")
    assert info.value.code == "identity.agent_mismatch"


def test_authenticate_reports_state(guard: Guard, clock: ManualClock) -> None:
    key = guard.create_key("email_agent")
    assert authenticate(guard.store, key, clock.now()).code == "identity.key_ok"
