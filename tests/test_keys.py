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


@pytest.mark.parametrize("tools", [[], ()], ids=["list", "tuple"])
def test_an_empty_tools_list_is_refused_not_read_as_all_tools(guard: Guard, tools: object) -> None:
    with pytest.raises(AgentGuardError) as refused:
        guard.create_key("email_agent", tools=tools)  # type: ignore[arg-type]
    assert refused.value.code == "keys.scope"
    assert "tools=None" in refused.value.message
    assert guard.store.list_keys() == []


@pytest.mark.parametrize("tools", ["read_inbox", ["read_inbox", " "]], ids=["string", "blank"])
def test_a_tools_scope_of_a_string_or_a_blank_name_is_refused(guard: Guard, tools: object) -> None:
    with pytest.raises(AgentGuardError) as refused:
        control.issue_key(guard.store, "email_agent", expires_in=None, tools=tools)  # type: ignore[arg-type]
    assert refused.value.code == "keys.scope"
    assert guard.store.list_keys() == []


def test_tools_none_means_all_of_the_agents_tools(guard: Guard) -> None:
    key = guard.create_key("email_agent", tools=None)
    assert guard.agent(api_key=key).call("read_inbox") == ["hello"]
    (record,) = guard.store.list_keys()
    assert record.tools is None


@pytest.mark.parametrize(
    "lifetime", [timedelta(days=999_999_999), timedelta(0), timedelta(seconds=-1)]
)
def test_a_lifetime_past_year_9999_or_not_positive_is_refused(
    guard: Guard, lifetime: timedelta
) -> None:
    with pytest.raises(AgentGuardError) as refused:
        guard.create_key("email_agent", expires_in=lifetime)
    assert refused.value.code == "keys.expires"
    assert guard.store.list_keys() == []


@pytest.mark.parametrize(
    "names", [{"agent": ""}, {"agent": "  "}, {"tool": ""}], ids=["agent", "blank", "tool"]
)
def test_a_kill_switch_for_a_blank_name_is_refused(names: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="name is empty"):
        control.scope_of(agent=names.get("agent"), tool=names.get("tool"), everything=False)


# ------------------------------------------------------------------ approver keys


def test_approver_keys_and_agent_keys_never_stand_for_each_other(guard: Guard) -> None:
    """A person's key approves and never acts; an agent's key never approves, even
    reshaped as an approver key (they live in separate tables)."""
    now = guard.clock.now()
    person, record = control.issue_key(
        guard.store, "alice", expires_in=None, tools=None, kind="approver"
    )
    assert person.startswith("agp_")
    assert authenticate(guard.store, person, now, kind="approver").record == record
    with pytest.raises(Unauthenticated):  # not an agent
        guard.agent(api_key=person).call("read_inbox")
    assert authenticate(guard.store, person, now).code == "identity.key_malformed"
    agent_key = guard.create_key("email_agent")
    assert authenticate(guard.store, agent_key, now, kind="approver").record is None
    reshaped = "agp_" + agent_key.removeprefix("ag_")  # the agent's own id and secret
    check = authenticate(guard.store, reshaped, now, kind="approver")
    assert check.record is None and check.code == "identity.key_unknown"
    with pytest.raises(AgentGuardError, match="no tool scope"):
        control.issue_key(guard.store, "alice", expires_in=None, tools=["x"], kind="approver")
    assert control.revoke_key(guard.store, record.key_id)  # revoked by id like any key
    assert authenticate(guard.store, person, now, kind="approver").code == "identity.key_revoked"
