"""MCP tool pins in-process: one contract for both backends, approval, and the ``mcp`` layer
that refuses a forwarded tool whose pin is not approved (failing closed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentguard import Denied, Guard, control
from agentguard.clock import ManualClock
from agentguard.errors import StoreUnavailable
from agentguard.mcp_pins import (
    BY_POLICY,
    PinError,
    PinStore,
    approve_pin,
    fingerprint,
    observe,
    open_pins,
)
from agentguard.policy import parse_policy
from agentguard.store import AuditQuery, MemoryStore, SQLiteStore, Store

POLICY = """\
version: 1
tools:
  search:
    input:
      q: {type: string}
  fetch: {}
roles:
  reader:
    allow: [search]
agents:
  research_agent:
    roles: [reader]
approvers:
  alice: {tools: [search]}
  bob: {tools: [fetch]}
"""
OLD, NEW = "a" * 64, "b" * 64


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "a.db")
    yield opened
    opened.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def test_fingerprint_is_canonical_and_covers_description_and_schema() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    reordered = {"properties": {"q": {"type": "string"}}, "type": "object"}
    assert fingerprint("search", "Search.", schema) == fingerprint("search", "Search.", reordered)
    assert fingerprint("search", "Search.", schema) != fingerprint("search", "Search!", schema)
    assert fingerprint("search", "Search.", schema) != fingerprint("search", "Search.", {})


def test_first_sight_pins_only_declared_tools(store: Store, clock: ManualClock) -> None:
    pins = open_pins(store)
    pin, news = observe(pins, "docs", "search", OLD, declared=True, now=clock.now())
    assert news and pin is not None
    assert (pin.state, pin.fingerprint, pin.approved_by) == ("approved", OLD, BY_POLICY)
    assert observe(pins, "docs", "search", OLD, declared=True, now=clock.now()) == (pin, False)
    assert observe(pins, "docs", "drop", OLD, declared=False, now=clock.now()) == (None, False)
    assert [p.tool for p in pins.list()] == ["search"]
    assert open_pins(store) is pins  # one set of pins per store


def test_a_changed_definition_keeps_the_approved_one_and_is_news_once(
    store: Store, clock: ManualClock
) -> None:
    pins = open_pins(store)
    observe(pins, "docs", "search", OLD, declared=True, now=clock.now())
    pin, news = observe(pins, "docs", "search", NEW, declared=True, now=clock.now())
    assert news and pin is not None
    assert (pin.state, pin.fingerprint, pin.observed) == ("changed", OLD, NEW)
    assert observe(pins, "docs", "search", NEW, declared=True, now=clock.now())[1] is False
    back, _ = observe(pins, "docs", "search", OLD, declared=True, now=clock.now())
    assert back is not None and back.state == "changed"  # changing back needs a person too


def _changed(store: Store, clock: ManualClock) -> PinStore:
    pins = open_pins(store)
    observe(pins, "docs", "search", OLD, declared=True, now=clock.now())
    observe(pins, "docs", "search", NEW, declared=True, now=clock.now())
    return pins


def test_an_approver_accepts_the_new_definition(store: Store, clock: ManualClock) -> None:
    pins = _changed(store, clock)
    key, _ = control.issue_key(store, "alice", expires_in=None, tools=None, kind="approver")
    policy = parse_policy(POLICY)
    pin = approve_pin(store, pins, policy, "docs", "search", key=key, now=clock.now())
    assert (pin.state, pin.fingerprint, pin.approved_by) == ("approved", NEW, "alice")
    assert pins.get("docs", "search") == pin
    with pytest.raises(PinError) as again:
        approve_pin(store, pins, policy, "docs", "search", key=key, now=clock.now())
    assert again.value.code == "mcp.pin_not_changed"
    (record,) = [
        r.data for r in store.search(AuditQuery()) if r.data["action"].startswith("agentguard.mcp")
    ]
    assert record["metadata"] == {
        "server": "docs", "tool": "search", "old_fingerprint": OLD, "new_fingerprint": NEW,
        "by": "alice",
    }  # fmt: skip


@pytest.mark.parametrize("who", ["agent", "bob"])
def test_agents_and_approvers_of_other_tools_cannot_approve(
    store: Store, clock: ManualClock, who: str
) -> None:
    pins = _changed(store, clock)
    kind: Any = "agent" if who == "agent" else "approver"
    owner = "research_agent" if who == "agent" else who
    key, _ = control.issue_key(store, owner, expires_in=None, tools=None, kind=kind)
    with pytest.raises(PinError) as refused:
        approve_pin(store, pins, parse_policy(POLICY), "docs", "search", key=key, now=clock.now())
    assert refused.value.code == "mcp.unauthorized"
    assert pins.get("docs", "search").state == "changed"  # type: ignore[union-attr]


def _forwarding_guard(store: Store, clock: ManualClock) -> Guard:
    guard = Guard(parse_policy(POLICY), store, clock=clock)

    def search(**arguments: Any) -> str:
        return "found"

    search.__dict__["mcp_server"] = "docs"
    guard.register(search, "search")
    return guard


def test_the_mcp_layer_refuses_a_forwarded_tool_until_its_pin_is_approved(
    store: Store, clock: ManualClock
) -> None:
    guard = _forwarding_guard(store, clock)
    agent = guard.agent("research_agent")
    with pytest.raises(Denied) as unpinned:
        agent.call("search", q="x")
    assert unpinned.value.code == "mcp.tool_unpinned"
    pins = open_pins(store)
    observe(pins, "docs", "search", OLD, declared=True, now=clock.now())
    assert agent.call("search", q="x") == "found"
    observe(pins, "docs", "search", NEW, declared=True, now=clock.now())
    with pytest.raises(Denied) as changed:
        agent.call("search", q="x")
    assert changed.value.code == "mcp.tool_changed"
    statuses = [
        r.data["status"] for r in store.search(AuditQuery()) if r.data["action"] == "search"
    ]
    assert statuses == ["denied", "executed", "denied"]


def test_pins_that_cannot_be_read_refuse_the_call(tmp_path: Path, clock: ManualClock) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    guard = _forwarding_guard(store, clock)
    observe(open_pins(store), "docs", "search", OLD, declared=True, now=clock.now())
    store._run(lambda db: db.execute("UPDATE mcp_pins SET first_seen = 'damaged'"))
    with pytest.raises(Denied) as refused:
        guard.agent("research_agent").call("search", q="x")
    assert refused.value.code == "mcp.pins_unavailable"
    with pytest.raises(StoreUnavailable):
        open_pins(store).get("docs", "search")
    store.close()
