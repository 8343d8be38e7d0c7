"""The approval queue is atomic across processes: many processes and threads racing to
claim one approved request get it exactly once, and two people approving a two-person
request at the same moment from two processes both count.

Child processes are started with ``spawn`` and run a worker script written to ``tmp_path``
(as in ``test_counter_processes.py``); they start together on a barrier, never on a sleep.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import runpy
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentguard.approval import ApprovalRequest, ApprovalState
from agentguard.store import Store, open_store

T0 = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
BINDING = hashlib.sha256(b"wire_transfer|{amount: 900}|finance_bot|session-1").hexdigest()
TIMEOUT = 60.0
SPAWN = multiprocessing.get_context("spawn")

CLAIM_WORKER = textwrap.dedent(
    """
    import threading
    from datetime import datetime

    from agentguard.store import open_store

    AT = datetime.fromisoformat(AT_TEXT)
    store = open_store(URL)
    won = []  # (approval id, state after the claim)
    nothing = []  # ids this process's claims got nothing for
    errors = []
    lock = threading.Lock()
    threads_ready = threading.Barrier(THREADS, timeout=TIMEOUT)

    def work(offset: int) -> None:
        try:
            threads_ready.wait()
            # every thread tries every request, starting at a different one
            for target in IDS[offset:] + IDS[:offset]:
                change = store.claim(target, BINDING, AT)
                with lock:
                    if change is None:
                        nothing.append(target)
                    else:
                        won.append((change.approval.id, str(change.after)))
        except BaseException as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")

    try:
        START.wait(TIMEOUT)  # every process has opened the store before anyone claims
        threads = [
            threading.Thread(target=work, args=((PROC * THREADS + i) % len(IDS),))
            for i in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
            if thread.is_alive():
                errors.append("a thread did not finish in time")
    except BaseException as exc:
        errors.append(f"process {PROC}: {type(exc).__name__}: {exc}")
    finally:
        store.close()
        RESULTS.put((PROC, won, nothing, errors))
    """
)

APPROVE_WORKER = textwrap.dedent(
    """
    from datetime import datetime

    from agentguard.store import open_store

    AT = datetime.fromisoformat(AT_TEXT)
    store = open_store(URL)
    afters = []  # (approval id, state after this approval)
    errors = []
    try:
        START.wait(TIMEOUT)
        for target in IDS:
            afters.append((target, str(store.approve(target, APPROVER, AT).after)))
    except BaseException as exc:
        errors.append(f"process {PROC}: {type(exc).__name__}: {exc}")
    finally:
        store.close()
        RESULTS.put((PROC, afters, errors))
    """
)


def _spawn(script: Path, **init_globals: Any) -> Any:
    return SPAWN.Process(
        target=runpy.run_path,
        args=(str(script),),
        kwargs={"init_globals": init_globals, "run_name": "__agentguard_worker__"},
        daemon=True,
    )


def _ask(store: Store, required: int) -> str:
    return store.request_approval(
        ApprovalRequest(
            binding=BINDING,
            policy_version="v1",
            agent="finance_bot",
            tool="wire_transfer",
            tier="high",
            requester="finance_bot",
            requested_at=T0,
            deadline=T0 + timedelta(hours=1),
            required=required,
        )
    ).id


def _race(
    script: Path,
    processes: int,
    own: Callable[[int], dict[str, Any]] = lambda _: {},
    **shared: Any,
) -> list[Any]:
    """Run ``processes`` copies of ``script`` released together, each with the ``shared``
    globals and its ``own(number)``; their reports, in process order."""
    start = SPAWN.Barrier(processes, timeout=TIMEOUT)
    results = SPAWN.Queue()
    children = [
        _spawn(
            script,
            PROC=proc,
            TIMEOUT=TIMEOUT,
            START=start,
            RESULTS=results,
            **shared,
            **own(proc),
        )
        for proc in range(processes)
    ]
    try:
        for child in children:
            child.start()
        reports = [results.get(timeout=2 * TIMEOUT) for _ in children]
        for child in children:
            child.join(TIMEOUT)
            assert child.exitcode == 0
    finally:
        for child in children:
            if child.is_alive():
                child.terminate()
                child.join(TIMEOUT)
    return sorted(reports)


@pytest.mark.slow
def test_processes_and_threads_racing_to_claim_get_each_approval_once(tmp_path: Path) -> None:
    processes, threads, requests = 4, 8, 6
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    store = open_store(url)
    try:
        ids = [_ask(store, required=1) for _ in range(requests)]
        for target in ids:
            store.approve(target, "alice", T0)
    finally:
        store.close()
    script = tmp_path / "claim_worker.py"
    script.write_text(CLAIM_WORKER, encoding="utf-8")

    reports = _race(
        script,
        processes,
        URL=url,
        AT_TEXT=(T0 + timedelta(minutes=1)).isoformat(),
        IDS=ids,
        BINDING=BINDING,
        THREADS=threads,
    )

    won: list[tuple[str, str]] = []
    nothing: list[str] = []
    for proc, their_wins, their_nothing, errors in reports:
        assert errors == [], f"process {proc}: {errors}"
        won += their_wins
        nothing += their_nothing
    # 32 claims of each request: exactly one got it, 31 got nothing
    assert sorted(won) == sorted((target, "executing") for target in ids)
    assert sorted(nothing) == sorted(ids * (processes * threads - 1))
    store = open_store(url)
    try:
        assert {a.state for a in store.list_approvals()} == {ApprovalState.EXECUTING}
    finally:
        store.close()


@pytest.mark.slow
def test_two_processes_approving_a_two_person_request_at_once_both_count(
    tmp_path: Path,
) -> None:
    requests = 25
    url = f"sqlite:///{tmp_path / 'approvals.db'}"
    store = open_store(url)
    try:
        ids = [_ask(store, required=2) for _ in range(requests)]
    finally:
        store.close()
    script = tmp_path / "approve_worker.py"
    script.write_text(APPROVE_WORKER, encoding="utf-8")
    reports = _race(
        script,
        2,
        lambda proc: {
            "IDS": ids if proc == 0 else ids[::-1],  # they meet in the middle, and cross
            "APPROVER": ("alice", "bob")[proc],
        },
        URL=url,
        AT_TEXT=(T0 + timedelta(minutes=1)).isoformat(),
    )

    afters: dict[str, list[str]] = {target: [] for target in ids}
    for proc, their_afters, errors in reports:
        assert errors == [], f"process {proc}: {errors}"
        for target, after in their_afters:
            afters[target].append(after)
    # of the two approvals of each request, one left it pending and the other approved it
    assert all(sorted(states) == ["approved", "pending"] for states in afters.values())
    store = open_store(url)
    try:
        for target in ids:
            final = store.get_approval(target)
            assert final is not None and final.state is ApprovalState.APPROVED
            assert sorted(final.approvers) == ["alice", "bob"]
    finally:
        store.close()
