"""A property: however rollbacks interleave — plans made early and run late, the same
scope rolled back again, a rollback started in the middle of another's undo (as another
process would), undos that fail and are tried again — every journal entry is undone at most
once, an entry is ``undone`` exactly when its undo succeeded, and none is left ``undoing``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentguard import Action, Guard
from agentguard.clock import ManualClock
from agentguard.journal import JournalState
from agentguard.policy import parse_policy
from agentguard.rollback import RollbackPlan, RollbackReport, rollback_for

POLICY = parse_policy(
    """
version: 1
tools:
  bump: {undo: unbump}
  unbump: {}
roles: {r: {allow: [bump]}}
agents: {a: {roles: [r]}, b: {roles: [r]}}
"""
)
ACTIONS = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from(["s1", "s2"]), st.integers(0, 1)),
    min_size=1,
    max_size=6,
)
SCOPES = st.one_of(
    st.tuples(st.just("action"), st.integers(0, 5)),
    st.tuples(st.just("session"), st.sampled_from(["s1", "s2"])),
    st.tuples(st.just("agent"), st.sampled_from("ab")),
)
REQUESTS = st.lists(st.tuples(SCOPES, st.booleans()), min_size=1, max_size=6)
_files = itertools.count()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(actions=ACTIONS, requests=REQUESTS, data=st.data())
def test_any_interleaving_of_rollbacks_undoes_each_entry_at_most_once(
    backend: str,
    tmp_path: Path,
    actions: list[tuple[str, str, int]],
    requests: list[tuple[tuple[str, Any], bool]],
    data: st.DataObject,
) -> None:
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / f'p{next(_files)}.db'}"
    clock = ManualClock()
    guard = Guard(POLICY, url, clock=clock)
    engine = rollback_for(guard)
    undone: Counter[str] = Counter()
    waiting: list[Callable[[], None]] = []  # rollbacks not started yet
    done: list[tuple[RollbackPlan, RollbackReport]] = []

    @guard.tool()
    def bump(key: str) -> None:
        pass

    @guard.tool()
    def unbump(key: str) -> None:
        # another rollback may start here, while this entry is being undone
        while waiting and data.draw(st.booleans(), label="interleave"):
            waiting.pop(0)()
        if data.draw(st.integers(0, 3), label="fails") == 0:
            raise RuntimeError("the undo failed")
        undone[key] += 1

    try:
        ids = []
        for index, (agent, session, tick) in enumerate(actions):
            action = Action(agent, "bump", {"key": f"k{index}"}, session=session)
            guard.execute(action)
            ids.append(action.id)
            clock.advance(tick)  # 0: equal times, ordered by the journal's own sequence

        def plan_for(scope: tuple[str, Any]) -> RollbackPlan:
            kind, value = scope
            if kind == "action":
                return engine.plan(action=ids[value % len(ids)])
            if kind == "session":
                return engine.plan(session=value)
            return engine.plan(agent=value, since=timedelta(days=1))

        def rollback(scope: tuple[str, Any], early: RollbackPlan | None) -> Callable[[], None]:
            def run() -> None:
                plan = early or plan_for(scope)
                done.append((plan, engine.run(plan, by="property")))

            return run

        for scope, stale in requests:  # a stale plan is made now and run later
            waiting.append(rollback(scope, plan_for(scope) if stale else None))
        while waiting:
            waiting.pop(0)()

        entries = {e.action_id: e for e in guard.store.journal_list()}
        assert len(entries) == len(ids)
        for index, ident in enumerate(ids):
            assert undone[f"k{index}"] <= 1  # the property: never undone twice
            state = entries[ident].state
            assert state is not JournalState.UNDOING
            assert (state is JournalState.UNDONE) == (undone[f"k{index}"] == 1)
        for plan, report in done:
            planned = sorted(e.action_id for e in (*plan.entries, *plan.in_progress))
            stopped = [x.entry for x in (report.failed,) if x] + [b for b in (report.busy,) if b]
            accounted = [*report.undone, *report.skipped, *stopped, *report.remaining]
            assert sorted(e.action_id for e in accounted) == planned
        assert guard.store.verify().ok
    finally:
        guard.close()
