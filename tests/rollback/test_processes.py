"""Processes racing to roll back the same actions undo each exactly once, and a session
newest first across all of them: the tools' own state file counts every undo, whichever
process made it.

Child processes are started with ``spawn`` and run a worker script written to ``tmp_path``
(as in ``tests/store/test_approval_processes.py``); they start together on a barrier,
never on a sleep.
"""

from __future__ import annotations

import multiprocessing
import runpy
import sqlite3
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard import Action, Guard
from agentguard.clock import ManualClock
from agentguard.journal import JournalState
from agentguard.policy import load_policy
from agentguard.store import open_store
from agentguard.store.base import AuditQuery

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
SPAWN = multiprocessing.get_context("spawn")

WORKER = textwrap.dedent(
    """
    import sys

    sys.path.insert(0, ROOT)  # tests.rollback.tools, which the policy's call: names
    errors = []
    reports = []
    try:
        from agentguard import Guard
        from agentguard.rollback import rollback_for

        guard = Guard(POLICY, URL)
        try:
            engine = rollback_for(guard)
            START.wait(TIMEOUT)  # every process has its guard before anyone plans
            if IDS:  # one action at a time, each process starting at a different one
                offset = PROC * len(IDS) // PROCESSES
                for ident in IDS[offset:] + IDS[:offset]:
                    plan = engine.plan(action=ident)
                    reports.append(engine.run(plan, by=f"process {PROC}").as_dict())
            else:
                plan = engine.plan(session="race")
                reports.append(engine.run(plan, by=f"process {PROC}").as_dict())
        finally:
            guard.close()
    except BaseException as exc:
        errors.append(f"process {PROC}: {type(exc).__name__}: {exc}")
    finally:
        RESULTS.put((PROC, reports, errors))
    """
)
PROCESSES = 4


def _spawn(script: Path, **init_globals: Any) -> Any:
    return SPAWN.Process(
        target=runpy.run_path,
        args=(str(script),),
        kwargs={"init_globals": init_globals, "run_name": "__agentguard_worker__"},
        daemon=True,
    )


def _journal(url: str, policy_path: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Run ``calls`` as agent bot in session ``race``, journaled; their action ids."""
    guard = Guard(load_policy(policy_path), url, clock=ManualClock())  # one moment: ties
    ids = []
    try:
        for tool, args in calls:
            action = Action("bot", tool, args, session="race")
            guard.execute(action)
            ids.append(action.id)
    finally:
        guard.close()
    return ids


def _race(tmp_path: Path, url: str, policy_path: Path, ids: list[str]) -> list[dict[str, Any]]:
    """Every worker's reports, after PROCESSES workers released together."""
    script = tmp_path / "rollback_worker.py"
    script.write_text(WORKER, encoding="utf-8")
    start = SPAWN.Barrier(PROCESSES, timeout=TIMEOUT)
    results = SPAWN.Queue()
    shared = {"ROOT": str(ROOT), "POLICY": str(policy_path), "URL": url, "IDS": ids}
    children = [
        _spawn(
            script,
            PROC=proc,
            PROCESSES=PROCESSES,
            TIMEOUT=TIMEOUT,
            START=start,
            RESULTS=results,
            **shared,
        )
        for proc in range(PROCESSES)
    ]
    reports: list[dict[str, Any]] = []
    try:
        for child in children:
            child.start()
        for _ in children:
            proc, theirs, errors = results.get(timeout=2 * TIMEOUT)
            assert errors == [], errors
            assert all(r["failed"] is None for r in theirs), f"process {proc}: {theirs}"
            reports += theirs
        for child in children:
            child.join(TIMEOUT)
            assert child.exitcode == 0
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(TIMEOUT)
    return reports


def _settled(url: str, undone: int) -> None:
    """Every entry is undone, with one record each, and the audit chain holds."""
    store = open_store(url)
    try:
        assert {e.state for e in store.journal_list()} == {JournalState.UNDONE}
        assert len(list(store.search(AuditQuery(decision="rollback.undo")))) == undone
        assert store.verify().ok
    finally:
        store.close()


@pytest.mark.slow
def test_processes_racing_for_the_same_actions_undo_each_exactly_once(
    tmp_path: Path, policy_path: Path, state: str
) -> None:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    amounts = [Decimal(f"{n}.{n:02d}") for n in range(1, 25)]
    ids = _journal(
        url,
        policy_path,
        [
            ("process_refund", {"db": state, "order_id": f"o{n}", "amount": a})
            for n, a in enumerate(amounts)
        ],
    )

    reports = _race(tmp_path, url, policy_path, ids)

    undone = [e["action"] for r in reports for e in r["undone"]]
    assert sorted(undone) == sorted(ids)  # each once, by one of the processes
    assert len(reports) == PROCESSES * len(ids)
    with sqlite3.connect(state) as conn:
        log = conn.execute("SELECT target FROM undo_log").fetchall()
        reversed_ = conn.execute("SELECT amount, reversed FROM refunds ORDER BY id").fetchall()
    assert sorted(log) == sorted((f"rf_o{n}",) for n in range(len(amounts)))
    assert all(amount == back for amount, back in reversed_) and len(reversed_) == len(amounts)
    _settled(url, len(ids))


@pytest.mark.slow
def test_processes_rolling_back_one_session_undo_it_newest_first_once(
    tmp_path: Path, policy_path: Path, state: str
) -> None:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    posts = 12
    calls = []
    for n in range(posts):
        calls.append(("create_post", {"db": state, "post_id": f"p{n}", "title": "T"}))
        calls.append(("publish_post", {"db": state, "post_id": f"p{n}"}))
    ids = _journal(url, policy_path, calls)

    reports = _race(tmp_path, url, policy_path, [])

    undone = [e["action"] for r in reports for e in r["undone"]]
    assert sorted(undone) == sorted(ids)
    for report in reports:
        # a process that found an entry being undone by another stopped there: older
        # entries wait for it, so none is undone before a newer one
        busy = [] if report["busy"] is None else [report["busy"]]
        assert len(report["undone"] + report["skipped"] + busy + report["remaining"]) == len(ids)
        assert not report["remaining"] or report["busy"] is not None
    with sqlite3.connect(state) as conn:
        log = conn.execute("SELECT tool, target FROM undo_log ORDER BY seq").fetchall()
        left = conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    # newest first across every process: each post unpublished, then deleted, p11 first
    assert log == [
        (tool, f"p{n}")
        for n in reversed(range(posts))
        for tool in ("unpublish_post", "delete_post")
    ]
    assert left == 0
    _settled(url, len(ids))
