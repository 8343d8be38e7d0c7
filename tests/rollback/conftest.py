"""Fixtures of the rollback tests: a policy whose tools keep real state in a SQLite file
(``tools.py``), a guard on a memory or SQLite store with a manual clock, and ``act``, which
runs one call as the executor's hooks will (snapshot, execute, journal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agentguard import Action, Guard
from agentguard.clock import ManualClock
from agentguard.policy import load_policy
from agentguard.rollback import Rollback, rollback_for

POLICY = """\
version: 1
tools:
  create_post:
    undo: delete_post
    call: tests.rollback.tools:create_post
  delete_post: {call: "tests.rollback.tools:delete_post"}
  publish_post:
    undo: unpublish_post
    call: tests.rollback.tools:publish_post
  unpublish_post: {call: "tests.rollback.tools:unpublish_post"}
  process_refund:
    undo:
      tool: reverse_refund
      args: {db: args.db, refund_id: result.refund_id, amount: args.amount}
    call: tests.rollback.tools:process_refund
  reverse_refund: {call: "tests.rollback.tools:reverse_refund"}
  charge_card:
    undo: refund_charge
    sensitive: [card_number]
    call: tests.rollback.tools:charge_card
  refund_charge:
    sensitive: [card_number]
    call: tests.rollback.tools:refund_charge
  set_price:
    snapshot: {tool: price_snapshot, restore: restore_price}
    call: tests.rollback.tools:set_price
  price_snapshot: {call: "tests.rollback.tools:price_snapshot"}
  restore_price: {call: "tests.rollback.tools:restore_price"}
  add_label:
    undo: remove_label
    call: tests.rollback.tools:add_label
  remove_label: {call: "tests.rollback.tools:remove_label"}
  send_email:
    irreversible: true
    call: tests.rollback.tools:send_email
  count_posts: {call: "tests.rollback.tools:count_posts"}
roles:
  worker:
    allow: [create_post, publish_post, process_refund, charge_card, set_price, add_label,
            send_email, count_posts]
agents:
  bot: {roles: [worker]}
  helper: {roles: [worker]}
"""

Act = Callable[..., Action]


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def state(tmp_path: Path) -> str:
    """The tools' state file (made on first use by the tools)."""
    return str(tmp_path / "state.db")


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'agentguard.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def guard(policy_path: Path, store_url: str, clock: ManualClock) -> Iterator[Guard]:
    g = Guard(load_policy(policy_path), store_url, clock=clock)
    yield g
    g.close()


@pytest.fixture
def rollback(guard: Guard) -> Rollback:
    return rollback_for(guard)


@pytest.fixture
def act(guard: Guard, rollback: Rollback, clock: ManualClock, state: str) -> Act:
    """``act(tool, agent="bot", session=None, **args)``: one call of ``tool`` through the
    guard (which snapshots before and journals after an executed call), with ``db=`` the
    state file; the clock then moves one second. Returns the action."""

    def run(tool: str, *, agent: str = "bot", session: str | None = None, **args: Any) -> Action:
        action = Action(agent=agent, tool=tool, args={"db": state, **args}, session=session)
        guard.execute(action)
        clock.advance(1)
        return action

    return run
