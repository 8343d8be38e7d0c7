"""The ApprovalStore contract, run against every backend (``backend``, see backends.py).

A request waits for distinct people other than its requester, is approved only before its
deadline, is never approved by time passing, and once approved runs at most once, and only
as the action that was approved. Every refusal changes nothing. Time is explicit: no sleeps.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.store.backends import Backend

from agentguard.approval import (
    Approval,
    ApprovalChange,
    ApprovalError,
    ApprovalEvent,
    ApprovalRequest,
    ApprovalState,
    OnExpiry,
)
from agentguard.clock import ManualClock
from agentguard.errors import AgentGuardError, StoreUnavailable
from agentguard.store import MemoryStore, SQLiteStore, Store

T0 = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
BINDING = hashlib.sha256(b"wire_transfer|{amount: 900}|finance_bot|session-1").hexdigest()
OTHER = hashlib.sha256(b"wire_transfer|{amount: 90000}|finance_bot|session-1").hexdigest()
REQUESTER = "finance_bot"
(PENDING, ESCALATED, APPROVED, REJECTED, EXPIRED, EXECUTING, EXECUTED, FAILED) = ApprovalState


def ask(
    store: Store,
    *,
    required: int = 1,
    deadline: timedelta | None = HOUR,
    on_expiry: OnExpiry = OnExpiry.EXPIRE,
    agent: str = REQUESTER,
    at: datetime = T0,
    binding: str = BINDING,
) -> Approval:
    return store.request_approval(
        ApprovalRequest(
            binding=binding,
            policy_version="2026-03-01.1",
            agent=agent,
            tool="wire_transfer",
            tier="high",
            requester=agent,
            requested_at=at,
            deadline=None if deadline is None else at + deadline,
            required=required,
            on_expiry=on_expiry,
        )
    )


def refused(store: Store, code: str, call: Callable[[], object], approval_id: str) -> None:
    """``call`` raises the ApprovalError ``code`` and leaves the request as it was."""
    before = store.get_approval(approval_id)
    with pytest.raises(ApprovalError) as info:
        call()
    assert info.value.code == code
    assert isinstance(info.value, AgentGuardError)
    assert store.get_approval(approval_id) == before


def claimed(change: ApprovalChange | None) -> ApprovalChange:
    assert change is not None
    return change


# ------------------------------------------------------------------ requests


def test_a_request_is_queued_pending_with_everything_it_was_asked_with(store: Store) -> None:
    queued = ask(store, required=2)
    assert len(queued.id) == 32 and int(queued.id, 16) >= 0
    assert (queued.binding, queued.policy_version, queued.agent, queued.tool, queued.tier) == (
        BINDING,
        "2026-03-01.1",
        REQUESTER,
        "wire_transfer",
        "high",
    )
    assert (queued.requester, queued.requested_at, queued.deadline) == (REQUESTER, T0, T0 + HOUR)
    assert (queued.required, queued.on_expiry, queued.state) == (2, OnExpiry.EXPIRE, PENDING)
    assert queued.approvers == () and queued.awaiting
    assert (queued.decided_at, queued.claimed_at, queued.executed_at) == (None, None, None)
    assert store.get_approval(queued.id) == queued


def test_ids_are_random_and_parallel_requests_never_share_one(store: Store) -> None:
    ids: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(8, timeout=30)

    def work() -> None:
        ready.wait()
        mine = [ask(store).id for _ in range(25)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == len(set(ids)) == 200
    assert {a.id for a in store.list_approvals()} == set(ids)


def test_the_binding_is_kept_in_lower_case_and_times_in_utc(store: Store) -> None:
    plus_two = datetime(2026, 3, 15, 16, 0, tzinfo=timezone(2 * HOUR))  # T0, in UTC+2
    queued = ask(store, binding=BINDING.upper(), at=plus_two)
    assert queued.binding == BINDING
    assert queued.requested_at == T0 and queued.requested_at.tzinfo is UTC
    assert store.get_approval(queued.id) == queued


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"binding": "not-a-digest"}, "hex digest"),
        ({"binding": "abc123"}, "hex digest"),
        ({"requested_at": datetime(2026, 3, 15, 14, 0)}, "timezone-aware"),
        ({"deadline": T0}, "after the time it was requested"),
        ({"deadline": T0 - SECOND}, "after the time it was requested"),
        ({"required": 0}, "between 1 and 2"),
        ({"required": 3}, "between 1 and 2"),
        ({"agent": ""}, "`agent` must be a non-empty string"),
        ({"requester": "   "}, "`requester` must be a non-empty string"),
        ({"policy_version": "\ud800"}, "not valid Unicode"),
        ({"on_expiry": "approve"}, "'approve' is not a valid OnExpiry"),
    ],
)
def test_a_malformed_request_is_refused_when_made(change: dict[str, Any], problem: str) -> None:
    fields: dict[str, Any] = {
        "binding": BINDING,
        "policy_version": "v1",
        "agent": REQUESTER,
        "tool": "wire_transfer",
        "tier": "high",
        "requester": REQUESTER,
        "requested_at": T0,
        "deadline": T0 + HOUR,
    }
    with pytest.raises(ValueError, match=problem):
        ApprovalRequest(**(fields | change))


# ------------------------------------------------------------------ approving


def test_one_approval_approves_a_single_person_request(store: Store) -> None:
    queued = ask(store)
    change = store.approve(queued.id, "alice", T0 + MINUTE, comment="checked the invoice")
    assert (change.event, change.before, change.after) == (
        ApprovalEvent.APPROVED,
        PENDING,
        APPROVED,
    )
    assert (change.by, change.at) == ("alice", T0 + MINUTE)
    assert change.approval.approvers == ("alice",)
    assert change.approval.decided_at == T0 + MINUTE
    assert change.approval.comment == "checked the invoice"
    assert store.get_approval(queued.id) == change.approval


def test_a_two_person_request_needs_two_distinct_people(store: Store) -> None:
    queued = ask(store, required=2)
    first = store.approve(queued.id, "alice", T0 + MINUTE)
    assert (first.before, first.after, first.approval.approvers) == (PENDING, PENDING, ("alice",))
    assert first.approval.decided_at is None
    refused(
        store,
        "approval.duplicate_approver",
        lambda: store.approve(queued.id, "alice", T0 + 2 * MINUTE),
        queued.id,
    )
    second = store.approve(queued.id, "bob", T0 + 3 * MINUTE)
    assert (second.before, second.after) == (PENDING, APPROVED)
    assert second.approval.approvers == ("alice", "bob")
    assert second.approval.decided_at == T0 + 3 * MINUTE


@pytest.mark.parametrize(
    "who", [REQUESTER, "Finance_Bot", " finance_bot ", "ｆｉｎａｎｃｅ_ｂｏｔ"]
)
def test_the_requester_can_never_approve_their_own_request(store: Store, who: str) -> None:
    queued = ask(store)
    refused(store, "approval.self_approval", lambda: store.approve(queued.id, who, T0), queued.id)
    assert store.get_approval(queued.id).state is PENDING  # type: ignore[union-attr]


@pytest.mark.parametrize("again", ["alice", "ALICE", "alice "])
def test_the_same_approver_counts_once(store: Store, again: str) -> None:
    queued = ask(store, required=2)
    store.approve(queued.id, "alice", T0)
    refused(
        store,
        "approval.duplicate_approver",
        lambda: store.approve(queued.id, again, T0 + SECOND),
        queued.id,
    )
    assert store.get_approval(queued.id).approvers == ("alice",)  # type: ignore[union-attr]


def test_approving_at_or_after_the_deadline_is_refused_as_expired(store: Store) -> None:
    clock = ManualClock(T0)
    queued = ask(store, required=2)
    clock.advance(HOUR - SECOND)
    store.approve(queued.id, "alice", clock.now())  # a second before the deadline: counted
    clock.advance(SECOND)
    refused(
        store, "approval.expired", lambda: store.approve(queued.id, "bob", clock.now()), queued.id
    )
    clock.advance(HOUR)
    refused(
        store, "approval.expired", lambda: store.approve(queued.id, "bob", clock.now()), queued.id
    )
    assert store.get_approval(queued.id).state is PENDING  # type: ignore[union-attr]


def test_edited_arguments_are_kept_for_a_single_person_request(store: Store) -> None:
    queued = ask(store)
    edited = '{"amount": 500, "currency": "EUR"}'
    change = store.approve(queued.id, "alice", T0, edited_arguments=edited, comment="halved")
    assert (change.after, change.approval.edited_arguments) == (APPROVED, edited)
    assert store.get_approval(queued.id).edited_arguments == edited  # type: ignore[union-attr]


def test_an_edit_is_refused_when_two_people_must_approve_the_same_action(store: Store) -> None:
    queued = ask(store, required=2)
    edited = '{"amount": 500}'
    refused(
        store,
        "approval.edit_refused",
        lambda: store.approve(queued.id, "alice", T0, edited_arguments=edited),
        queued.id,
    )
    store.approve(queued.id, "alice", T0)
    refused(
        store,
        "approval.edit_refused",
        lambda: store.approve(queued.id, "bob", T0, edited_arguments=edited),
        queued.id,
    )


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda s, i: s.approve(i, "alice", T0, edited_arguments="[1, 2]"), "JSON text of an"),
        (lambda s, i: s.approve(i, "alice", T0, edited_arguments="{amount: 5"), "JSON text"),
        (lambda s, i: s.approve(i, "alice", T0, edited_arguments='{"a": NaN}'), "JSON text"),
        (lambda s, i: s.approve(i, "", T0), "`approver` must be a non-empty"),
        (lambda s, i: s.approve(i, "alice", datetime(2026, 3, 15)), "timezone-aware"),
        (lambda s, i: s.approve(i, "alice", T0, comment="\udc00"), "not valid Unicode"),
        (lambda s, i: s.reject(i, " ", T0), "`by` must be a non-empty"),
        (lambda s, i: s.escalate(i, T0, T0), "new deadline must be after"),
        (lambda s, i: s.escalate(i, datetime(2026, 3, 16), T0), "timezone-aware"),
    ],
)
def test_a_bad_argument_is_a_value_error_and_changes_nothing(
    store: Store, call: Callable[[Store, str], object], problem: str
) -> None:
    queued = ask(store)
    with pytest.raises(ValueError, match=problem):
        call(store, queued.id)
    assert store.get_approval(queued.id) == queued


# ---------------------------------------------------- rejection, expiry, escalation


def test_a_rejected_request_never_runs(store: Store) -> None:
    queued = ask(store, required=2)
    store.approve(queued.id, "alice", T0)
    change = store.reject(queued.id, "bob", T0 + MINUTE, comment="wrong account")
    assert (change.event, change.before, change.after) == (
        ApprovalEvent.REJECTED,
        PENDING,
        REJECTED,
    )
    rejected = change.approval
    assert (rejected.rejected_by, rejected.decided_at, rejected.comment) == (
        "bob",
        T0 + MINUTE,
        "wrong account",
    )
    refused(
        store,
        "approval.invalid_transition",
        lambda: store.approve(queued.id, "carol", T0),
        queued.id,
    )
    refused(
        store, "approval.invalid_transition", lambda: store.claim(queued.id, BINDING, T0), queued.id
    )
    assert store.expire_due(T0 + 2 * HOUR).expired == ()


def test_the_requester_may_withdraw_a_request_even_past_its_deadline(store: Store) -> None:
    queued = ask(store)
    change = store.reject(queued.id, REQUESTER, T0 + 2 * HOUR)
    assert change.after is REJECTED and change.approval.rejected_by == REQUESTER


def test_nothing_approves_by_timeout_an_overdue_request_expires(store: Store) -> None:
    clock = ManualClock(T0)
    half = ask(store, required=2)
    store.approve(half.id, "alice", clock.now())
    single = ask(store, deadline=30 * MINUTE)
    forever = ask(store, deadline=None)
    clock.advance(30 * MINUTE - SECOND)
    assert store.expire_due(clock.now()).expired == ()
    clock.advance(SECOND)
    sweep = store.expire_due(clock.now())
    assert [(c.approval.id, c.event, c.before, c.after) for c in sweep.expired] == [
        (single.id, ApprovalEvent.EXPIRED, PENDING, EXPIRED)
    ]
    clock.advance(HOUR)
    sweep = store.expire_due(clock.now())
    assert [(c.approval.id, c.after) for c in sweep.expired] == [(half.id, EXPIRED)]
    assert sweep.expired[0].approval.decided_at == clock.now()
    assert sweep.expired[0].approval.approvers == ("alice",)  # one of two never approves
    assert store.expire_due(clock.now() + 100 * HOUR).expired == ()  # each expires once
    assert store.get_approval(forever.id).state is PENDING  # type: ignore[union-attr]
    states = {a.id: a.state for a in store.list_approvals()}
    assert states == {half.id: EXPIRED, single.id: EXPIRED, forever.id: PENDING}
    refused(
        store, "approval.invalid_transition", lambda: store.approve(half.id, "bob", T0), half.id
    )


def test_an_overdue_request_to_escalate_is_handed_over_once_then_expires(store: Store) -> None:
    clock = ManualClock(T0)
    queued = ask(store, on_expiry=OnExpiry.ESCALATE)
    clock.advance(HOUR)
    sweep = store.expire_due(clock.now())
    assert sweep.expired == () and [a.id for a in sweep.to_escalate] == [queued.id]
    assert sweep.to_escalate[0].state is PENDING  # handed over, not changed
    refused(
        store, "approval.expired", lambda: store.approve(queued.id, "alice", clock.now()), queued.id
    )

    change = store.escalate(queued.id, clock.now() + HOUR, clock.now())
    assert (change.event, change.before, change.after) == (
        ApprovalEvent.ESCALATED,
        PENDING,
        ESCALATED,
    )
    assert change.approval.deadline == clock.now() + HOUR
    assert change.approval.escalated_at == clock.now()
    assert store.expire_due(clock.now()) == type(sweep)()  # nothing due any more
    refused(
        store,
        "approval.invalid_transition",
        lambda: store.escalate(queued.id, clock.now() + 2 * HOUR, clock.now()),
        queued.id,
    )
    clock.advance(HOUR)
    sweep = store.expire_due(clock.now())
    assert [(c.before, c.after) for c in sweep.expired] == [(ESCALATED, EXPIRED)]
    assert sweep.to_escalate == ()


def test_an_escalated_request_can_still_be_approved_before_its_new_deadline(
    store: Store,
) -> None:
    queued = ask(store, on_expiry=OnExpiry.ESCALATE)
    store.escalate(queued.id, T0 + 3 * HOUR, T0 + HOUR)
    change = store.approve(queued.id, "manager", T0 + 2 * HOUR)
    assert (change.before, change.after) == (ESCALATED, APPROVED)


# ------------------------------------------------------------------ execution


def test_an_approval_is_claimed_once_then_executed(store: Store) -> None:
    queued = ask(store)
    store.approve(queued.id, "alice", T0)
    change = claimed(store.claim(queued.id, BINDING, T0 + MINUTE))
    assert (change.event, change.before, change.after) == (
        ApprovalEvent.CLAIMED,
        APPROVED,
        EXECUTING,
    )
    assert change.approval.claimed_at == T0 + MINUTE
    assert store.claim(queued.id, BINDING, T0 + MINUTE) is None
    done = store.finish(queued.id, True, T0 + 2 * MINUTE)
    assert (done.event, done.before, done.after) == (ApprovalEvent.EXECUTED, EXECUTING, EXECUTED)
    assert done.approval.executed_at == T0 + 2 * MINUTE
    assert store.claim(queued.id, BINDING, T0 + HOUR) is None
    refused(
        store, "approval.invalid_transition", lambda: store.finish(queued.id, True, T0), queued.id
    )


def test_a_failed_execution_is_recorded_and_never_retried(store: Store) -> None:
    queued = ask(store)
    store.approve(queued.id, "alice", T0)
    claimed(store.claim(queued.id, BINDING, T0))
    change = store.finish(queued.id, False, T0 + SECOND)
    assert (change.event, change.after) == (ApprovalEvent.FAILED, FAILED)
    assert store.claim(queued.id, BINDING, T0 + MINUTE) is None


def test_a_claim_for_another_action_is_refused_and_the_approval_stays_usable(
    store: Store,
) -> None:
    queued = ask(store)
    store.approve(queued.id, "alice", T0)
    for wrong in (OTHER, "", "zz", BINDING[:-1]):
        refused(
            store,
            "approval.binding_mismatch",
            lambda wrong=wrong: store.claim(queued.id, wrong, T0),  # type: ignore[misc]
            queued.id,
        )
    assert claimed(store.claim(queued.id, BINDING.upper(), T0)).after is EXECUTING


def test_every_operation_on_an_unknown_id_is_not_found(store: Store) -> None:
    unknown = "0" * 32
    assert store.get_approval(unknown) is None
    calls: list[Callable[[], object]] = [
        lambda: store.approve(unknown, "alice", T0),
        lambda: store.reject(unknown, "alice", T0),
        lambda: store.escalate(unknown, T0 + HOUR, T0),
        lambda: store.claim(unknown, BINDING, T0),
        lambda: store.finish(unknown, True, T0),
    ]
    for call in calls:
        with pytest.raises(ApprovalError) as info:
            call()
        assert (info.value.code, info.value.approval_id, info.value.state) == (
            "approval.not_found",
            unknown,
            None,
        )


# ------------------------------------------------------- the transition table


def bring_to(store: Store, state: ApprovalState) -> Approval:
    """A request in ``state`` (deadline T0 + 1h; escalated: T0 + 2h), reached at T0."""
    expires = {EXPIRED: SECOND}.get(state, HOUR)
    queued = ask(store, deadline=expires)
    if state is ESCALATED:
        store.escalate(queued.id, T0 + 2 * HOUR, T0)
    elif state is REJECTED:
        store.reject(queued.id, "alice", T0)
    elif state is EXPIRED:
        store.expire_due(T0 + SECOND)
    elif state is not PENDING:
        store.approve(queued.id, "alice", T0)
        if state is not APPROVED:
            claimed(store.claim(queued.id, BINDING, T0))
            if state is not EXECUTING:
                store.finish(queued.id, state is EXECUTED, T0)
    reached = store.get_approval(queued.id)
    assert reached is not None and reached.state is state
    return reached


AT = T0 + MINUTE
OPERATIONS: dict[str, Callable[[Store, str], ApprovalChange | None]] = {
    "approve": lambda s, i: s.approve(i, "bob", AT),
    "reject": lambda s, i: s.reject(i, "bob", AT),
    "escalate": lambda s, i: s.escalate(i, T0 + 4 * HOUR, AT),
    "claim": lambda s, i: s.claim(i, BINDING, AT),
    "finish": lambda s, i: s.finish(i, True, AT),
}
INVALID = "approval.invalid_transition"
TABLE: dict[ApprovalState, dict[str, ApprovalState | str | None]] = {
    PENDING: {
        "approve": APPROVED,
        "reject": REJECTED,
        "escalate": ESCALATED,
        "claim": INVALID,
        "finish": INVALID,
    },
    ESCALATED: {
        "approve": APPROVED,
        "reject": REJECTED,
        "escalate": INVALID,
        "claim": INVALID,
        "finish": INVALID,
    },
    APPROVED: {
        "approve": INVALID,
        "reject": INVALID,
        "escalate": INVALID,
        "claim": EXECUTING,
        "finish": INVALID,
    },
    REJECTED: dict.fromkeys(OPERATIONS, INVALID),
    EXPIRED: dict.fromkeys(OPERATIONS, INVALID),
    EXECUTING: {
        "approve": INVALID,
        "reject": INVALID,
        "escalate": INVALID,
        "claim": None,  # taken already: nothing for this caller
        "finish": EXECUTED,
    },
    EXECUTED: {**dict.fromkeys(OPERATIONS, INVALID), "claim": None},
    FAILED: {**dict.fromkeys(OPERATIONS, INVALID), "claim": None},
}


@pytest.mark.parametrize(
    ("state", "operation", "expected"),
    [(s, o, e) for s, row in TABLE.items() for o, e in row.items()],
    ids=[f"{s}-{o}" for s, row in TABLE.items() for o in row],
)
def test_every_operation_in_every_state(
    store: Store,
    state: ApprovalState,
    operation: str,
    expected: ApprovalState | str | None,
) -> None:
    start = bring_to(store, state)
    call = OPERATIONS[operation]
    if isinstance(expected, ApprovalState):
        change = claimed(call(store, start.id))
        assert (change.before, change.after) == (state, expected)
        assert store.get_approval(start.id) == change.approval
    elif expected is None:
        assert call(store, start.id) is None
        assert store.get_approval(start.id) == start
    else:
        refused(store, expected, lambda: call(store, start.id), start.id)


# ------------------------------------------------------------------ reading


def test_list_filters_by_state_and_agent_oldest_first_with_a_limit(store: Store) -> None:
    late = ask(store, at=T0 + 2 * MINUTE)
    early = ask(store, at=T0)
    other = ask(store, at=T0 + MINUTE, agent="support_bot")
    tie = ask(store, at=T0)  # same time as early: queued after it
    store.approve(late.id, "alice", T0 + 3 * MINUTE)
    assert [a.id for a in store.list_approvals()] == [early.id, tie.id, other.id, late.id]
    assert [a.id for a in store.list_approvals(PENDING)] == [early.id, tie.id, other.id]
    assert [a.id for a in store.list_approvals(state=APPROVED)] == [late.id]
    assert [a.id for a in store.list_approvals(agent="support_bot")] == [other.id]
    assert [a.id for a in store.list_approvals(PENDING, REQUESTER, 1)] == [early.id]
    assert store.list_approvals(limit=0) == []
    assert store.list_approvals(EXECUTED) == []
    with pytest.raises(ValueError):
        store.list_approvals(limit=-1)


# ------------------------------------------------------------------ concurrency


def race(threads: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``threads`` threads released together; their results."""
    results: list[object] = [None] * threads
    errors: list[BaseException] = []
    ready = threading.Barrier(threads, timeout=30)

    def run(i: int) -> None:
        try:
            ready.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(30)
    assert errors == []
    return results


def test_threads_racing_to_claim_one_approval_get_it_once(store: Store) -> None:
    for _ in range(5):
        queued = ask(store)
        store.approve(queued.id, "alice", T0)

        def claim(_: int, target: str = queued.id) -> object:
            return store.claim(target, BINDING, T0)

        results = race(8, claim)
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert store.get_approval(queued.id).state is EXECUTING  # type: ignore[union-attr]


def test_two_people_approving_at_once_both_count(store: Store) -> None:
    for _ in range(5):
        queued = ask(store, required=2)

        def approve(i: int, target: str = queued.id) -> object:
            return store.approve(target, ("alice", "bob")[i], T0)

        results = race(2, approve)
        changes = [r for r in results if isinstance(r, ApprovalChange)]
        assert sorted(c.after for c in changes) == [APPROVED, PENDING]
        final = store.get_approval(queued.id)
        assert final is not None and final.state is APPROVED
        assert sorted(final.approvers) == ["alice", "bob"]


# ------------------------------------------------------------ persistence, damage


def test_the_queue_survives_a_restart(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"the {backend.name} backend is one process's memory")
    first = backend.open("queue")
    try:
        two = ask(first, required=2)
        first.approve(two.id, "alice", T0)
        one = ask(first)
        first.approve(one.id, "alice", T0, edited_arguments='{"amount": 1}', comment="ok")
        claimed(first.claim(one.id, BINDING, T0))
        before = first.list_approvals()
    finally:
        first.close()
    second = backend.open("queue")
    try:
        assert second.list_approvals() == before
        assert second.claim(one.id, BINDING, T0) is None  # claimed before the restart
        assert second.approve(two.id, "bob", T0 + MINUTE).after is APPROVED
    finally:
        second.close()
    third = backend.open("queue")
    try:
        assert third.get_approval(two.id).approvers == ("alice", "bob")  # type: ignore[union-attr]
    finally:
        third.close()


def test_two_stores_on_one_file_share_one_queue(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"the {backend.name} backend is one process's memory")
    first, second = backend.open("shared"), backend.open("shared")
    try:
        queued = ask(first)
        second.approve(queued.id, "alice", T0)
        assert claimed(first.claim(queued.id, BINDING, T0)).after is EXECUTING
        assert second.claim(queued.id, BINDING, T0) is None
    finally:
        first.close()
        second.close()


def test_a_damaged_row_is_a_store_failure_never_an_approval(store: Store) -> None:
    queued = ask(store)
    if isinstance(store, MemoryStore):
        pytest.skip("the memory backend keeps values, not rows")
    assert isinstance(store, SQLiteStore)
    store._db.execute("UPDATE approval_requests SET state = 'approvd' WHERE id = ?", (queued.id,))
    with pytest.raises(StoreUnavailable):
        store.get_approval(queued.id)
    with pytest.raises(StoreUnavailable):
        store.claim(queued.id, BINDING, T0)
    store._db.execute(
        "UPDATE approval_requests SET state = 'approved', approvers = '{}' WHERE id = ?",
        (queued.id,),
    )
    with pytest.raises(StoreUnavailable):
        store.claim(queued.id, BINDING, T0)
    store._db.execute("UPDATE approval_requests SET approvers = '[]' WHERE id = ?", (queued.id,))
    assert claimed(store.claim(queued.id, BINDING, T0)).after is EXECUTING  # not left locked


# ----------------------------------------------------------- property: never twice

#: every (before, after) a change may make; anything else is a bug
EDGES = {
    (PENDING, PENDING),  # one of two approvers
    (PENDING, APPROVED),
    (PENDING, REJECTED),
    (PENDING, EXPIRED),
    (PENDING, ESCALATED),
    (ESCALATED, ESCALATED),
    (ESCALATED, APPROVED),
    (ESCALATED, REJECTED),
    (ESCALATED, EXPIRED),
    (APPROVED, EXECUTING),
    (EXECUTING, EXECUTED),
    (EXECUTING, FAILED),
}
PEOPLE = [REQUESTER, "alice", "Alice", "bob", "carol"]
WHICH = st.integers(0, 1)  # request 0 needs one approver, request 1 two
MOSTLY = st.sampled_from([True, True, True, False])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("approve"), WHICH, st.sampled_from(PEOPLE)),
        st.tuples(st.just("approve"), WHICH, st.sampled_from(PEOPLE)),
        st.tuples(st.just("approve"), WHICH, st.sampled_from(PEOPLE)),
        st.tuples(st.just("reject"), WHICH, st.sampled_from(PEOPLE)),
        st.tuples(st.just("escalate"), WHICH, st.integers(1, 120)),
        st.tuples(st.just("claim"), WHICH, MOSTLY),  # True: the approved action's binding
        st.tuples(st.just("claim"), WHICH, MOSTLY),
        st.tuples(st.just("claim"), WHICH, MOSTLY),
        st.tuples(st.just("finish"), WHICH, st.booleans()),
        st.tuples(st.just("expire_due"), st.just(0), st.just(0)),
        st.tuples(st.just("advance"), st.just(0), st.sampled_from([1, 2, 5, 10, 30, 90])),
    ),
    min_size=5,
    max_size=60,
)


def run_op(store: Store, ids: list[str], op: tuple[str, int, Any], now: datetime) -> Any:
    """Apply one operation; its outcome as comparable values (a code for a refusal)."""
    what, which, arg = op
    target = ids[which]
    try:
        if what == "approve":
            change: ApprovalChange | None = store.approve(target, arg, now)
        elif what == "reject":
            change = store.reject(target, arg, now)
        elif what == "escalate":
            change = store.escalate(target, now + arg * MINUTE, now)
        elif what == "claim":
            change = store.claim(target, BINDING if arg else OTHER, now)
        elif what == "finish":
            change = store.finish(target, arg, now)
        else:
            sweep = store.expire_due(now)
            return (
                [(ids.index(c.approval.id), c.before, c.after) for c in sweep.expired],
                [ids.index(a.id) for a in sweep.to_escalate],
            )
    except ApprovalError as exc:
        return exc.code
    if change is None:
        return None
    assert change.approval.id == target
    return (change.event, change.before, change.after, change.approval.approvers)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(expiry=st.tuples(st.sampled_from(OnExpiry), st.sampled_from(OnExpiry)), operations=OPS)
def test_no_sequence_runs_an_approval_twice_or_approves_a_refused_one(
    backend: Backend, expiry: tuple[OnExpiry, OnExpiry], operations: list[tuple[str, int, Any]]
) -> None:
    store, reference, clock = backend.open(), MemoryStore(), ManualClock(T0)
    try:
        ids, mirror = (
            [
                ask(s, required=i + 1, on_expiry=expiry[i], deadline=(i + 1) * HOUR).id
                for i in (0, 1)
            ]
            for s in (store, reference)
        )
        claims = [0, 0]
        history: list[list[ApprovalState]] = [[PENDING], [PENDING]]
        for op in operations:
            if op[0] == "advance":
                clock.advance(op[2] * MINUTE)
                continue
            now = clock.now()
            got = run_op(store, ids, op, now)
            assert got == run_op(reference, mirror, op, now)  # every backend agrees
            if op[0] != "expire_due" and isinstance(got, tuple):
                assert (got[1], got[2]) in EDGES
                if op[0] == "claim":
                    claims[op[1]] += 1
            for index, approval_id in enumerate(ids):
                current = store.get_approval(approval_id)
                assert current is not None
                if current.state is not history[index][-1]:
                    assert (history[index][-1], current.state) in EDGES
                    history[index].append(current.state)
                if current.state in (APPROVED, EXECUTING, EXECUTED, FAILED):
                    assert len(current.approvers) >= current.required
                    names = {a.casefold() for a in current.approvers}
                    assert len(names) == len(current.approvers)
                    assert REQUESTER not in names
                    assert current.decided_at is not None and current.deadline is not None
                    assert current.decided_at < current.deadline
        for index, states in enumerate(history):
            assert claims[index] <= 1  # executed at most once
            assert states.count(EXECUTING) <= 1
            for refusal in (REJECTED, EXPIRED):
                if refusal in states:
                    assert states[-1] is refusal  # nothing leaves a refusal
    finally:
        store.close()
