"""The invariant of approvals, over any interleaving of agents asking, people approving or
rejecting, time passing and agents awaiting: a tool runs only for a request people approved,
at most once per request, and never for a rejected or expired one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentguard import AgentGuardError, ApprovalPending, Guard
from agentguard.approval import ApprovalError, ApprovalState
from agentguard.clock import ManualClock
from agentguard.control import issue_key
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  publish_post: {risk: medium, input: {post_id: {type: string}}}
roles:
  worker: {allow: [publish_post]}
agents:
  bot: {roles: [worker]}
approvals:
  medium: {mode: review, within: 2h, on_expiry: escalate}
approvers:
  alice: {}
  bob: {}
"""

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("call"), st.sampled_from(["p1", "p2"])),
        st.tuples(
            st.sampled_from(["approve", "reject"]),
            st.integers(0, 5),
            st.sampled_from(["alice", "bob"]),
        ),
        st.tuples(st.just("wait"), st.integers(0, 5)),
        st.tuples(st.just("advance"), st.sampled_from([30, 90, 150])),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_a_tool_runs_once_per_approved_request_and_never_otherwise(steps: list[Any]) -> None:
    clock = ManualClock()
    guard = Guard(parse_policy(POLICY), "memory://", clock=clock)
    ran: list[str] = []

    @guard.tool()
    def publish_post(post_id: str) -> str:
        ran.append(post_id)
        return post_id

    keys = {
        p: issue_key(guard.store, p, expires_in=None, tools=None, kind="approver")[0]
        for p in ("alice", "bob")
    }
    agent = guard.agent("bot")
    tickets: list[Any] = []
    try:
        for step in steps:
            try:
                if step[0] == "call":
                    agent.call("publish_post", post_id=step[1])
                elif step[0] in ("approve", "reject") and tickets:
                    ticket = tickets[step[1] % len(tickets)]
                    decide = getattr(guard.approvals, step[0])
                    decide(ticket.id, key=keys[step[2]])
                elif step[0] == "wait" and tickets:
                    agent.await_approval(tickets[step[1] % len(tickets)], timeout=0)
                elif step[0] == "advance":
                    clock.advance(timedelta(minutes=step[1]))
            except ApprovalPending as pending:
                if all(t.id != pending.ticket.id for t in tickets):
                    tickets.append(pending.ticket)
            except (ApprovalError, AgentGuardError):
                pass  # refusals: decided already, too late, used …
            requests = guard.approvals.list()
            executed = [r for r in requests if r.state is ApprovalState.EXECUTED]
            # every run is one executed request, approved by someone who is not the agent
            assert len(ran) == len(executed)
            assert all(r.approvers and "bot" not in r.approvers for r in executed)
            never = (ApprovalState.REJECTED, ApprovalState.EXPIRED)
            assert all(r.claimed_at is None for r in requests if r.state in never)
    finally:
        guard.close()
