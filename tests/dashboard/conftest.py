"""A real gateway (uvicorn on a pre-bound loopback socket) over a SQLite store, with a
refund tool that waits for a person above $500, for the dashboard's tests."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.served import Served

from agentguard import Guard
from agentguard.control import issue_key
from agentguard.errors import ApprovalPending
from agentguard.gateway import create_app
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  lookup_order: {risk: low, input: {order_id: {type: string}}}
  process_refund:
    risk: high
    input: {order_id: {type: string}, amount: {type: number}, card: {type: string}}
    cost: 0.02
roles:
  finance: {allow: [lookup_order, process_refund]}
agents:
  finance_bot: {roles: [finance]}
  helper_bot: {roles: [finance]}
limits:
  finance_bot:
    - {cost: 5.00, per: 1h}
approvals:
  low: {mode: none}
  high: {mode: none}
  tools:
    process_refund: {mode: required, timeout: 10m, when: "args.amount >= 500"}
approvers:
  maria: {tools: ["*"], admin: true}
  pat: {tools: ["*"]}
"""


class Dashboard:
    """The gateway, its guard, keys for an admin (maria), an approver (pat) and an agent,
    and the refunds that really ran."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "agentguard.db"
        self.guard = Guard(parse_policy(POLICY), f"sqlite:///{self.db}")
        self.refunds: list[dict[str, Any]] = []
        self.ran = threading.Condition()

        @self.guard.tool()
        def process_refund(order_id: str, amount: float, card: str) -> dict[str, Any]:
            with self.ran:
                self.refunds.append({"order_id": order_id, "amount": Decimal(str(amount))})
                self.ran.notify_all()
            return {"refunded": amount, "order_id": order_id}

        @self.guard.tool()
        def lookup_order(order_id: str) -> dict[str, str]:
            return {"order_id": order_id, "state": "delivered"}

        store = self.guard.store
        self.admin_key = issue_key(store, "maria", expires_in=None, tools=None,
                                   kind="approver")[0]  # fmt: skip
        self.approver_key = issue_key(store, "pat", expires_in=None, tools=None,
                                      kind="approver")[0]  # fmt: skip
        self.agent_key = self.guard.create_key("finance_bot")
        self.served = Served(create_app(self.guard))
        self.url, self.http = self.served.url, self.served.http

    def get(self, path: str, key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.http.get(path, headers=headers)

    def post(
        self, path: str, key: str | None, form: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.http.post(path, data=form or {}, headers=headers)

    def hold_refund(self, order_id: str, amount: float, card: str) -> Future[Any]:
        """finance_bot asks for a refund that needs a person: the request is in the queue
        when this returns; the future holds the refund's result (or its refusal) once a
        person decided and the agent ran it."""
        agent = self.guard.agent("finance_bot", session="s-1", subject="cust-42")
        action = agent._action("process_refund", {"order_id": order_id, "amount": amount,
                                                  "card": card}, None, None, None)  # fmt: skip
        with pytest.raises(ApprovalPending) as held, ThreadPoolExecutor(1) as own_loop:
            # a thread of its own: Playwright's sync API runs a loop in this one
            own_loop.submit(
                asyncio.run, self.guard.aexecute(action, wait_for_approval=False)
            ).result()
        done: Future[Any] = Future()

        def settle(result: Any, error: BaseException | None) -> None:
            done.set_exception(error) if error is not None else done.set_result(result)

        agent.on_approval(held.value.ticket, settle, timeout=60)
        return done

    def wait_for_refunds(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        with self.ran:
            self.ran.wait_for(lambda: len(self.refunds) >= count, timeout=timeout)
            return list(self.refunds)

    def records(self) -> list[dict[str, Any]]:
        rows = sqlite3.connect(self.db).execute("SELECT body FROM audit ORDER BY seq")
        return [json.loads(body) for (body,) in rows]

    def close(self) -> None:
        self.served.close()
        self.guard.close()


@pytest.fixture
def dash(tmp_path: Path) -> Iterator[Dashboard]:
    board = Dashboard(tmp_path)
    yield board
    board.close()
