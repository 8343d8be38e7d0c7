"""Several real processes sharing one SQLite store.

Child processes are started with the ``spawn`` method and run a small worker script (kept
here as text, written to ``tmp_path`` and run with :func:`runpy.run_path`), so nothing
depends on the test module being importable in the child. Synchronisation uses barriers,
events, queues and joins, each with a timeout, never sleeps.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import runpy
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from agentguard.store import AuditQuery, open_store

AGENTGUARD = Path(sys.executable).parent / "agentguard"
TIMEOUT = 30.0

PROCESSES = 4
THREADS = 8
CALLS = 25

SPAWN = multiprocessing.get_context("spawn")


def _spawn(script: Path, **init_globals: Any) -> Any:
    """A spawned process running ``script`` with ``init_globals`` as its globals."""
    return SPAWN.Process(
        target=runpy.run_path,
        args=(str(script),),
        kwargs={"init_globals": init_globals, "run_name": "__agentguard_worker__"},
        daemon=True,
    )


def _stop(processes: list[Any]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(TIMEOUT)


# ------------------------------------------------------------------ many writers

LOAD_WORKER = textwrap.dedent(
    """
    import threading

    from agentguard import AccessDenied, Guard

    guard = Guard.from_file(POLICY, store=URL)

    @guard.tool()
    def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        return ["hello"]

    @guard.tool()
    def delete_email(message_id: str) -> None:
        raise AssertionError("the starter policy never lets this run")

    counts = {"allowed": 0, "denied": 0}
    errors = []
    lock = threading.Lock()
    threads_ready = threading.Barrier(THREADS, timeout=TIMEOUT)

    def work(thread: int) -> None:
        agent = guard.agent("email_agent", session=f"p{PROC}-t{thread}")
        try:
            threads_ready.wait()
            for call in range(CALLS):
                if (call + thread) % 3 == 0:
                    try:
                        agent.call("delete_email", message_id=f"m{PROC}-{thread}-{call}")
                    except AccessDenied:
                        outcome = "denied"
                    else:
                        outcome = "allowed-delete"
                else:
                    assert agent.call("read_inbox", limit=1 + call) == ["hello"]
                    outcome = "allowed"
                with lock:
                    counts[outcome] = counts.get(outcome, 0) + 1
        except BaseException as exc:
            with lock:
                errors.append(f"thread {thread}: {type(exc).__name__}: {exc}")

    try:
        START.wait(TIMEOUT)  # every process has its guard before anyone writes
        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
            if t.is_alive():
                errors.append("a thread did not finish in time")
    except BaseException as exc:
        errors.append(f"process {PROC}: {type(exc).__name__}: {exc}")
    finally:
        guard.close()
        RESULTS.put((PROC, counts, errors))
    """
)


@pytest.mark.slow
def test_concurrent_processes_and_threads_keep_one_linear_chain(
    tmp_path: Path, policy: Path, store_url: str
) -> None:
    script = tmp_path / "load_worker.py"
    script.write_text(LOAD_WORKER, encoding="utf-8")
    start = SPAWN.Barrier(PROCESSES, timeout=TIMEOUT)
    results = SPAWN.Queue()
    processes = [
        _spawn(
            script,
            POLICY=str(policy),
            URL=store_url,
            PROC=proc,
            THREADS=THREADS,
            CALLS=CALLS,
            TIMEOUT=TIMEOUT,
            START=start,
            RESULTS=results,
        )
        for proc in range(PROCESSES)
    ]
    try:
        for process in processes:
            process.start()
        reports = [results.get(timeout=3 * TIMEOUT) for _ in processes]
        for process in processes:
            process.join(TIMEOUT)
            assert process.exitcode == 0
    finally:
        _stop(processes)

    totals: Counter[str] = Counter()
    for proc, counts, errors in sorted(reports):
        assert errors == [], f"process {proc}: {errors}"
        totals.update(counts)
    expected = PROCESSES * THREADS * CALLS
    assert totals["allowed-delete"] == 0
    assert totals["allowed"] + totals["denied"] == expected
    assert totals["denied"] > 0

    store = open_store(store_url)
    try:
        assert store.count() == expected
        verification = store.verify()
        assert verification.ok, verification.problem
        assert verification.checked == expected
        records = [record.data for record in store.search(AuditQuery())]
    finally:
        store.close()
    assert [r["seq"] for r in records] == list(range(1, expected + 1))
    ids = [r["id"] for r in records]
    assert None not in ids
    assert len(set(ids)) == len(ids) == expected
    decisions = Counter(r["decision"] for r in records)
    assert decisions == {"allow": totals["allowed"], "deny": totals["denied"]}
    sessions = Counter(r["session"] for r in records)
    assert len(sessions) == PROCESSES * THREADS
    assert set(sessions.values()) == {CALLS}


# ------------------------------------------------------------------ kill switch

KILL_WORKER = textwrap.dedent(
    """
    from agentguard import Guard

    guard = Guard.from_file(POLICY, store=URL)

    @guard.tool()
    def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        return ["hello"]

    agent = guard.agent("email_agent")

    def attempt() -> str:
        try:
            agent.call("read_inbox")
        except Exception as exc:
            return type(exc).__name__
        return "ok"

    try:
        while not PAUSE.is_set():
            RESULTS.put(("loop", attempt()))
        RESULTS.put(("paused", None))
        if GO.wait(TIMEOUT):
            RESULTS.put(("final", attempt()))
        else:
            RESULTS.put(("timeout", None))
    finally:
        guard.close()
    """
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    return subprocess.run(
        [str(AGENTGUARD), *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
    )


def test_cli_kill_stops_the_very_next_call_of_another_process(
    tmp_path: Path, policy: Path, store_url: str
) -> None:
    script = tmp_path / "kill_worker.py"
    script.write_text(KILL_WORKER, encoding="utf-8")
    pause = SPAWN.Event()
    go = SPAWN.Event()
    results = SPAWN.Queue()
    child = _spawn(
        script,
        POLICY=str(policy),
        URL=store_url,
        TIMEOUT=TIMEOUT,
        PAUSE=pause,
        GO=go,
        RESULTS=results,
    )
    try:
        child.start()
        try:
            first = results.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail("the child reported no call in time")
        assert first == ("loop", "ok")

        pause.set()
        before_kill = [first]
        while True:
            message = results.get(timeout=TIMEOUT)
            if message[0] == "paused":
                break
            before_kill.append(message)
        assert {outcome for _, outcome in before_kill} == {"ok"}

        killed = _cli("kill", "--agent", "email_agent", "--reason", "test", "--store", store_url)
        assert killed.returncode == 0, killed.stderr
        go.set()

        assert results.get(timeout=TIMEOUT) == ("final", "AgentStopped")
        child.join(TIMEOUT)
        assert child.exitcode == 0
    finally:
        go.set()
        _stop([child])

    store = open_store(store_url)
    try:
        assert store.verify().ok
        records = [record.data for record in store.search(AuditQuery())]
    finally:
        store.close()
    assert len(records) == len(before_kill) + 2
    kill_record, stopped = records[-2:]
    assert kill_record["decision"] == "kill"
    assert kill_record["metadata"]["reason"] == "test"
    assert stopped["decision"] == "deny"
    assert stopped["reasons"][-1]["code"] == "killswitch.agent"
    assert all(r["status"] == "executed" for r in records[:-2])
