"""Approvals end to end through a guard on a real SQLite file, with the injectable clock:
review → escalation → expiry, required → timeout, approve → runs once, reject → never,
identity from approver keys only, bindings, the kill switch after approval, edits."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agentguard import AgentGuardError, ApprovalPending, ApprovalRefused, Guard
from agentguard.approval import ApprovalError, ApprovalState
from agentguard.clock import ManualClock
from agentguard.control import issue_key
from agentguard.errors import AgentStopped
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  lookup: {risk: low, input: {q: {type: string}}}
  publish_post:
    risk: medium
    input: {post_id: {type: string}, title: {type: string}}
  process_refund:
    risk: high
    input: {order_id: {type: string}, amount: {type: number}}
  wire:
    risk: critical
    input: {to: {type: string}, amount: {type: number}}
roles:
  worker: {allow: [lookup, publish_post, process_refund, wire]}
agents:
  bot: {roles: [worker]}
  other_bot: {roles: [worker]}
approvals:
  low: {mode: none}
  medium: {mode: review, within: 2h, on_expiry: deny}
  high: {mode: required, timeout: 10m}
  critical: {mode: required, timeout: 10m, two_person: true}
approvers:
  alice: {tools: ["*"]}
  bob: {tiers: [medium]}
  carol: {}
"""


class World:
    def __init__(self, tmp_path: Path, text: str = POLICY) -> None:
        self.clock = ManualClock()
        self.db = tmp_path / "guard.db"
        self.guard = Guard(parse_policy(text), f"sqlite:///{self.db}", clock=self.clock)
        self.ran: list[tuple[str, dict[str, Any]]] = []
        self.requested = threading.Event()
        self.guard.approvals.on_request(lambda approval: self.requested.set())

        for name in ("lookup", "publish_post", "process_refund", "wire"):
            self._register(name)
        self.keys = {
            person: issue_key(
                self.guard.store, person, expires_in=None, tools=None, kind="approver"
            )[0]
            for person in ("alice", "bob", "carol")
        }
        self.bot = self.guard.agent("bot", session="s1")

    def _register(self, name: str) -> None:
        def tool(**args: Any) -> dict[str, Any]:
            self.ran.append((name, args))
            return {"ok": name}

        tool.__name__ = name
        self.guard.register(tool, name)

    def records(self) -> list[dict[str, Any]]:
        rows = sqlite3.connect(self.db).execute("SELECT body FROM audit ORDER BY seq")
        return [json.loads(body) for (body,) in rows]

    def approval_events(self, approval_id: str) -> list[str]:
        return [
            r["action"].rsplit(".", 1)[1]
            for r in self.records()
            if r["kind"] == "control"
            and r["action"].startswith("agentguard.approval.")
            and r["metadata"]["approval"] == approval_id
        ]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.guard.close()


def _pending(world: World, tool: str = "publish_post", **args: Any) -> ApprovalPending:
    with pytest.raises(ApprovalPending) as caught:
        world.bot.call(tool, **(args or {"post_id": "p1", "title": "Hello"}))
    return caught.value


def test_low_tier_runs_at_once(world: World) -> None:
    assert world.bot.call("lookup", q="x") == {"ok": "lookup"}


def test_review_returns_a_ticket_at_once_and_runs_once_approved(world: World) -> None:
    pending = _pending(world)
    ticket = pending.ticket
    assert world.ran == [] and pending.code == "approval.review"
    assert ticket.id in str(pending) and ticket.mode == "review"
    assert ticket.deadline == world.clock.now() + timedelta(hours=2)
    assert world.bot.approval_status(ticket) == "pending"

    world.guard.approvals.approve(ticket.id, key=world.keys["bob"])
    assert world.bot.await_approval(ticket, timeout=5) == {"ok": "publish_post"}
    assert world.ran == [("publish_post", {"post_id": "p1", "title": "Hello"})]
    # the approval is spent: awaiting again, or asking again, never runs it twice
    with pytest.raises(ApprovalRefused) as again:
        world.bot.await_approval(ticket, timeout=5)
    assert again.value.code == "approval.used"
    assert len(world.ran) == 1
    assert world.approval_events(ticket.id) == ["approved", "claimed", "executed"]
    executed = [r for r in world.records() if r["action"] == "publish_post"]
    assert [r["status"] for r in executed] == ["held", "executed"]
    assert "approval.requested" in [x["code"] for x in executed[0]["reasons"]]
    assert "approval.granted" in [x["code"] for x in executed[1]["reasons"]]
    assert world.guard.verify_audit().ok


def test_a_callback_gets_the_result_once_approved_or_the_refusal(world: World) -> None:
    got: list[tuple[Any, BaseException | None]] = []
    approved = _pending(world).ticket
    thread = world.bot.on_approval(approved, lambda result, error: got.append((result, error)))
    world.guard.approvals.approve(approved.id, key=world.keys["bob"])
    thread.join(10)
    assert got == [({"ok": "publish_post"}, None)]
    rejected = _pending(world, post_id="p2", title="x").ticket
    thread = world.bot.on_approval(rejected, lambda result, error: got.append((result, error)))
    world.guard.approvals.reject(rejected.id, key=world.keys["bob"])
    thread.join(10)
    assert isinstance(got[1][1], ApprovalRefused) and len(world.ran) == 1


def test_asking_again_finds_the_same_request_and_runs_it_once_approved(world: World) -> None:
    first = _pending(world).ticket
    second = _pending(world).ticket  # the agent restarted and asked again
    assert second.id == first.id
    assert len(world.guard.approvals.list()) == 1
    world.guard.approvals.approve(first.id, key=world.keys["alice"])
    assert world.bot.call("publish_post", post_id="p1", title="Hello") == {"ok": "publish_post"}
    with pytest.raises(ApprovalPending) as third:  # spent: a new request
        world.bot.call("publish_post", post_id="p1", title="Hello")
    assert third.value.ticket.id != first.id
    assert len(world.ran) == 1


def test_review_deadline_escalates_then_expires_and_is_denied(tmp_path: Path) -> None:
    text = POLICY.replace(
        "medium: {mode: review, within: 2h, on_expiry: deny}",
        "medium: {mode: review, within: 2h, on_expiry: escalate, escalate_to: [carol]}",
    )
    w = World(tmp_path, text)
    try:
        ticket = _pending(w).ticket
        w.clock.advance(timedelta(hours=2))
        assert w.bot.approval_status(ticket) == "escalated"  # not approved by time
        with pytest.raises(ApprovalPending):
            w.bot.await_approval(ticket, timeout=0)
        w.clock.advance(timedelta(hours=2))
        assert w.bot.approval_status(ticket) == "expired"
        with pytest.raises(ApprovalRefused) as refused:
            w.bot.await_approval(ticket, timeout=5)
        assert refused.value.code == "approval.expired"
        with pytest.raises(ApprovalError):  # too late to approve
            w.guard.approvals.approve(ticket.id, key=w.keys["alice"])
        assert w.ran == []
        assert w.approval_events(ticket.id) == ["escalated", "expired"]
    finally:
        w.guard.close()


def test_an_escalation_alerts_people_through_the_alert_rules(
    tmp_path: Path, receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AG_HOOK_SECRET", "s" * 32)
    text = POLICY.replace(
        "medium: {mode: review, within: 2h, on_expiry: deny}",
        "medium: {mode: review, within: 2h, on_expiry: escalate, escalate_to: [carol]}",
    ) + (
        'alerts:\n  - {when: "signal approval_escalated", then: [notify]}\n'
        f'notify:\n  - {{webhook: "{receiver.url}/hook", secret_env: AG_HOOK_SECRET}}\n'
    )
    w = World(tmp_path, text)
    try:
        ticket = _pending(w).ticket
        w.clock.advance(timedelta(hours=2))
        assert w.bot.approval_status(ticket) == "escalated"
        assert w.guard.flush_alerts(timeout=10)
        [alert] = receiver.taken()
        assert alert.json()["rule"] == "signal approval_escalated"
        [escalated] = [r for r in w.records() if r["action"] == "agentguard.approval.escalated"]
        assert escalated["metadata"]["escalate_to"] == ["carol"]
    finally:
        w.guard.close()


def test_on_expiry_deny_expires_at_the_deadline(world: World) -> None:
    ticket = _pending(world).ticket
    world.clock.advance(timedelta(hours=2))
    assert world.bot.approval_status(ticket) == "expired"
    assert world.approval_events(ticket.id) == ["expired"]


def _in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_required_blocks_until_approved_then_runs_once(world: World) -> None:
    thread, box = _in_thread(lambda: world.bot.call("process_refund", order_id="o1", amount=800))
    assert world.requested.wait(10)
    [waiting] = world.guard.approvals.list()
    assert waiting.tool == "process_refund" and waiting.tier == "high"
    assert world.ran == []
    world.guard.approvals.approve(waiting.id, key=world.keys["alice"])
    thread.join(10)
    assert box == {"result": {"ok": "process_refund"}}
    assert world.ran == [("process_refund", {"order_id": "o1", "amount": 800})]


def test_required_times_out_and_is_denied(world: World) -> None:
    thread, box = _in_thread(lambda: world.bot.call("process_refund", order_id="o1", amount=800))
    assert world.requested.wait(10)
    world.clock.advance(timedelta(minutes=10))
    thread.join(10)
    assert isinstance(box.get("error"), ApprovalRefused)
    assert box["error"].code == "approval.expired"
    assert world.ran == []


def test_reject_never_runs_and_tells_the_agent_why(world: World) -> None:
    ticket = _pending(world).ticket
    world.guard.approvals.reject(ticket.id, key=world.keys["bob"], comment="off brand")
    with pytest.raises(ApprovalRefused) as refused:
        world.bot.await_approval(ticket, timeout=5)
    assert refused.value.code == "approval.rejected" and "off brand" in str(refused.value)
    with pytest.raises(ApprovalPending):  # asking again is a new request, not a run
        world.bot.call("publish_post", post_id="p1", title="Hello")
    assert world.ran == []


def test_an_agent_key_cannot_approve_and_nobody_approves_their_own(world: World) -> None:
    ticket = _pending(world).ticket
    agent_key = world.guard.create_key("bot")
    with pytest.raises(AgentGuardError) as refused:
        world.guard.approvals.approve(ticket.id, key=agent_key)
    assert refused.value.code == "approval.unauthorized"
    with pytest.raises(AgentGuardError):
        world.guard.approvals.approve(ticket.id, key="agp_forged_" + "0" * 40)
    # an approver key issued under the agent's own name cannot exist in the policy
    sneaky = issue_key(world.guard.store, "bot", expires_in=None, tools=None, kind="approver")[0]
    with pytest.raises(AgentGuardError) as own:
        world.guard.approvals.approve(ticket.id, key=sneaky)
    assert own.value.code == "approval.unauthorized"
    assert world.bot.approval_status(ticket) == "pending"


def test_approvers_are_limited_to_their_tools_and_tiers(world: World) -> None:
    thread, box = _in_thread(lambda: world.bot.call("process_refund", order_id="o1", amount=800))
    assert world.requested.wait(10)
    [waiting] = world.guard.approvals.list()
    with pytest.raises(AgentGuardError) as refused:  # bob approves the medium tier only
        world.guard.approvals.approve(waiting.id, key=world.keys["bob"])
    assert refused.value.code == "approval.unauthorized"
    world.guard.approvals.reject(waiting.id, key=world.keys["carol"])
    thread.join(10)
    assert isinstance(box["error"], ApprovalRefused)


def test_two_person_needs_two_distinct_people(world: World) -> None:
    thread, box = _in_thread(lambda: world.bot.call("wire", to="acct", amount=10))
    assert world.requested.wait(10)
    [waiting] = world.guard.approvals.list()
    after_one = world.guard.approvals.approve(waiting.id, key=world.keys["alice"])
    assert after_one.state is ApprovalState.PENDING
    with pytest.raises(ApprovalError):
        world.guard.approvals.approve(waiting.id, key=world.keys["alice"])
    world.guard.approvals.approve(waiting.id, key=world.keys["carol"])
    thread.join(10)
    assert box == {"result": {"ok": "wire"}}


def test_an_approval_cannot_be_replayed_for_changed_arguments(world: World) -> None:
    args = {"post_id": "p1", "title": "Hello"}
    with pytest.raises(ApprovalPending) as caught:
        world.bot.invoke("publish_post", args)
    ticket = caught.value.ticket
    world.guard.approvals.approve(ticket.id, key=world.keys["alice"])
    # another call with other arguments does not use it
    with pytest.raises(ApprovalPending) as other:
        world.bot.call("publish_post", post_id="p2", title="Hello")
    assert other.value.ticket.id != ticket.id
    # nor does the same ticket once its arguments were changed in place
    ticket.action.args["title"] = "Something else"  # type: ignore[index]
    with pytest.raises(ApprovalRefused) as refused:
        world.bot.await_approval(ticket, timeout=5)
    assert refused.value.code == "approval.binding_mismatch"
    # nor another agent, nor another session
    with pytest.raises(ApprovalPending):
        world.guard.agent("other_bot", session="s1").call(
            "publish_post", post_id="p1", title="Hello"
        )
    with pytest.raises(ApprovalPending):
        world.guard.agent("bot", session="s2").call("publish_post", post_id="p1", title="Hello")
    assert world.ran == []


def test_an_approval_runs_only_as_the_agent_it_was_approved_for(world: World) -> None:
    other_key = world.guard.create_key("other_bot")
    ticket = _pending(world).ticket
    world.guard.approvals.approve(ticket.id, key=world.keys["alice"])
    # a forged ticket: the approved action and agent name, but another agent's key
    forged = dataclasses.replace(
        ticket, action=ticket.action.with_changes(agent="", credential=other_key)
    )
    with pytest.raises(ApprovalRefused) as refused:
        world.bot.await_approval(forged, timeout=5)
    assert refused.value.code == "approval.binding_mismatch"
    assert world.ran == []


def test_a_decimal_and_its_text_are_different_arguments(world: World) -> None:
    from decimal import Decimal

    one = world.guard.approvals.binding(
        world.bot._action("t", {"amount": Decimal("800")}, None, None, None), "bot"
    )
    other = world.guard.approvals.binding(
        world.bot._action("t", {"amount": "800"}, None, None, None), "bot"
    )
    assert one != other


def test_a_kill_switch_set_after_approval_stops_the_execution(world: World) -> None:
    ticket = _pending(world).ticket
    world.guard.approvals.approve(ticket.id, key=world.keys["alice"])
    world.guard.kill(agent="bot", reason="incident")
    with pytest.raises(AgentStopped):
        world.bot.await_approval(ticket, timeout=5)
    assert world.ran == []
    assert world.bot.approval_status(ticket) == "failed"  # spent: never runs later


def test_an_edit_is_applied_diffed_and_audited(world: World) -> None:
    ticket = _pending(world, post_id="p1", title="Helo wrold").ticket
    world.guard.approvals.approve(
        ticket.id, key=world.keys["bob"], edit={"title": "Hello world"}, comment="typo"
    )
    world.bot.await_approval(ticket, timeout=5)
    assert world.ran == [("publish_post", {"post_id": "p1", "title": "Hello world"})]
    [edited] = [r for r in world.records() if r["action"] == "agentguard.approval.edited"]
    assert edited["metadata"]["edit"] == {"title": "Hello world"}
    assert edited["metadata"]["by"] == "bob" and edited["metadata"]["comment"] == "typo"


def test_an_edit_keeps_a_decimal_exact(world: World) -> None:
    from decimal import Decimal

    thread, box = _in_thread(
        lambda: world.bot.call("process_refund", order_id="o1", amount=Decimal("800.10"))
    )
    assert world.requested.wait(10)
    [waiting] = world.guard.approvals.list()
    world.guard.approvals.approve(waiting.id, key=world.keys["alice"],
                                  edit={"amount": Decimal("450.05")})  # fmt: skip
    thread.join(10)
    assert box == {"result": {"ok": "process_refund"}}
    [(_, args)] = world.ran
    assert args["amount"] == Decimal("450.05")


def test_an_edit_that_breaks_the_schema_is_refused_at_execution(world: World) -> None:
    ticket = _pending(world).ticket
    world.guard.approvals.approve(ticket.id, key=world.keys["bob"], edit={"title": 5})
    with pytest.raises(AgentGuardError) as refused:
        world.bot.await_approval(ticket, timeout=5)
    assert refused.value.code.startswith("input.")
    assert world.ran == []


def test_secrets_in_a_comment_or_edit_are_redacted_in_the_log(world: World) -> None:
    secret = "AKIA" + "Z7Q3XK2M9P4R6T8V"
    ticket = _pending(world).ticket
    world.guard.approvals.approve(
        ticket.id, key=world.keys["bob"], edit={"title": f"key {secret}"},
        comment=f"mail jane.doe@example.com about {secret}",
    )  # fmt: skip
    log = json.dumps(world.records())
    assert secret not in log and "jane.doe@example.com" not in log
    approval = world.guard.approvals.get(ticket.id)
    assert secret not in approval.summary
    assert secret not in (approval.comment or "") and "jane.doe" not in (approval.comment or "")


def test_a_policy_asking_more_people_later_refuses_the_old_approval(tmp_path: Path) -> None:
    w = World(tmp_path)
    ticket = _pending(w).ticket
    w.guard.approvals.approve(ticket.id, key=w.keys["alice"])
    stricter = POLICY.replace(
        "medium: {mode: review, within: 2h, on_expiry: deny}",
        "medium: {mode: review, within: 2h, two_person: true}",
    )
    w.guard.policy = parse_policy(stricter)
    w.guard._rebuild()
    with pytest.raises(ApprovalRefused) as refused:
        w.bot.await_approval(ticket, timeout=5)
    assert refused.value.code == "approval.policy_changed"
    assert w.ran == []
    w.guard.close()


def test_a_per_tool_rule_with_when_holds_only_what_it_says(tmp_path: Path) -> None:
    text = POLICY.replace(
        "approvers:",
        "  tools:\n    process_refund: {mode: review, within: 1h, when: 'args.amount >= 500'}\n"
        "approvers:",
    )
    w = World(tmp_path, text)
    try:
        assert w.bot.call("process_refund", order_id="o1", amount=120) == {"ok": "process_refund"}
        with pytest.raises(ApprovalPending) as held:
            w.bot.call("process_refund", order_id="o2", amount=800)
        assert "args.amount >= 500" in str(held.value)
        assert [name for name, _ in w.ran] == ["process_refund"]
    finally:
        w.guard.close()


def test_when_is_only_for_per_tool_rules_and_must_compile() -> None:
    with pytest.raises(AgentGuardError, match="`when` is for rules under tools"):
        parse_policy(POLICY.replace("high: {mode: required, timeout: 10m}",
                                    "high: {mode: required, timeout: 10m, when: 'true'}"))  # fmt: skip
    with pytest.raises(AgentGuardError, match="process_refund"):
        parse_policy(POLICY.replace(
            "approvers:",
            "  tools:\n    process_refund: {mode: review, within: 1h, when: 'args.amont > 1'}\n"
            "approvers:",
        ))  # fmt: skip


def test_an_agent_cannot_flood_the_queue(tmp_path: Path) -> None:
    w = World(tmp_path, POLICY.replace("approvers:", "  max_pending: 3\napprovers:"))
    try:
        tickets = [_pending(w, post_id=f"p{n}", title="t").ticket for n in range(3)]
        with pytest.raises(ApprovalRefused) as full:
            w.bot.call("publish_post", post_id="p9", title="t")
        assert full.value.code == "approval.queue_full"
        assert len(w.guard.approvals.list()) == 3  # nothing more was queued
        with pytest.raises(ApprovalPending):  # asking again for a queued one still works
            w.bot.call("publish_post", post_id="p0", title="t")
        w.guard.approvals.reject(tickets[0].id, key=w.keys["bob"])
        with pytest.raises(ApprovalPending):  # room again
            w.bot.call("publish_post", post_id="p9", title="t")
        assert [r["status"] for r in w.records() if r["action"] == "publish_post"].count(
            "held"
        ) == 6  # the refused one is recorded too
    finally:
        w.guard.close()


def test_min_confidence_sends_low_confidence_to_review(tmp_path: Path) -> None:
    w = World(tmp_path, POLICY.replace("approvers:", "  min_confidence: 0.7\napprovers:"))
    try:
        assert w.bot.invoke("lookup", {"q": "x"}, metadata={"confidence_score": 0.9})
        with pytest.raises(ApprovalPending) as low:
            w.bot.invoke("lookup", {"q": "x"}, metadata={"confidence_score": 0.5})
        assert "confidence_score" in str(low.value)
        with pytest.raises(ApprovalPending):  # no score, or not a number: fail closed
            w.bot.invoke("lookup", {"q": "y"}, metadata={"confidence_score": "high"})
    finally:
        w.guard.close()


def test_async_review_and_await(world: World) -> None:
    async def main() -> Any:
        with pytest.raises(ApprovalPending) as caught:
            await world.bot.acall("publish_post", post_id="p9", title="Async")
        ticket = caught.value.ticket
        world.guard.approvals.approve(ticket.id, key=world.keys["alice"])
        return await world.bot.aawait_approval(ticket, timeout=5)

    assert asyncio.run(main()) == {"ok": "publish_post"}
    assert len(world.ran) == 1
