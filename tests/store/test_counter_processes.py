"""Admission is atomic across processes: many processes and threads admitting against one
SQLite file admit exactly up to the limit, never one more.

Child processes are started with ``spawn`` and run a worker script written to ``tmp_path``
(as in ``tests/test_multiprocess.py``); they start together on a barrier, never on a sleep.
"""

from __future__ import annotations

import multiprocessing
import runpy
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard.store import open_store

T0 = datetime(2026, 3, 15, 14, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PROCESSES = 4
THREADS = 16
ATTEMPTS = 30
TIMEOUT = 60.0
SPAWN = multiprocessing.get_context("spawn")

WORKER = textwrap.dedent(
    """
    import threading
    from datetime import datetime, timedelta
    from decimal import Decimal

    from agentguard.store import open_store
    from agentguard.store.base import WindowRequest

    AT = datetime.fromisoformat(AT_TEXT)
    COUNT = [WindowRequest("count:a:t", Decimal(1), Decimal(100), timedelta(hours=1))]
    BUDGET = [WindowRequest("cost:a", Decimal("0.25"), Decimal("10.00"), timedelta(hours=1))]

    store = open_store(URL)
    admitted = {"count": [], "cost": []}  # (total after admission, reservation)
    errors = []
    lock = threading.Lock()
    threads_ready = threading.Barrier(THREADS, timeout=TIMEOUT)

    def work() -> None:
        try:
            threads_ready.wait()
            for _ in range(ATTEMPTS):
                for name, requests in (("count", COUNT), ("cost", BUDGET)):
                    answer = store.admit(requests, AT)
                    if answer.admitted:
                        with lock:
                            admitted[name].append((str(answer.totals[0]), answer.reservation))
        except BaseException as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")

    try:
        START.wait(TIMEOUT)  # every process has opened the store before anyone admits
        threads = [threading.Thread(target=work) for _ in range(THREADS)]
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
        RESULTS.put((PROC, admitted, errors))
    """
)


def _spawn(script: Path, **init_globals: Any) -> Any:
    return SPAWN.Process(
        target=runpy.run_path,
        args=(str(script),),
        kwargs={"init_globals": init_globals, "run_name": "__agentguard_worker__"},
        daemon=True,
    )


@pytest.mark.slow
def test_processes_and_threads_admit_exactly_up_to_a_count_and_a_budget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'counters.db'}"
    open_store(url).close()  # the schema exists before the race starts
    script = tmp_path / "admit_worker.py"
    script.write_text(WORKER, encoding="utf-8")
    start = SPAWN.Barrier(PROCESSES, timeout=TIMEOUT)
    results = SPAWN.Queue()
    processes = [
        _spawn(
            script,
            URL=url,
            AT_TEXT=T0.isoformat(),
            PROC=proc,
            THREADS=THREADS,
            ATTEMPTS=ATTEMPTS,
            TIMEOUT=TIMEOUT,
            START=start,
            RESULTS=results,
        )
        for proc in range(PROCESSES)
    ]
    try:
        for process in processes:
            process.start()
        reports = [results.get(timeout=2 * TIMEOUT) for _ in processes]
        for process in processes:
            process.join(TIMEOUT)
            assert process.exitcode == 0
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(TIMEOUT)

    counts: list[tuple[str, str]] = []
    costs: list[tuple[str, str]] = []
    for proc, admitted, errors in sorted(reports):
        assert errors == [], f"process {proc}: {errors}"
        counts += admitted["count"]
        costs += admitted["cost"]
    # Each admission saw every earlier one: the totals after admission are 1..100, once each.
    assert sorted(Decimal(total) for total, _ in counts) == [Decimal(n) for n in range(1, 101)]
    assert sorted(Decimal(total) for total, _ in costs) == [
        Decimal("0.25") * n for n in range(1, 41)
    ]
    assert len({r for _, r in counts + costs}) == 140  # every reservation its own

    store = open_store(url)
    try:
        assert store.total("count:a:t", T0, HOUR) == 100
        assert store.total("cost:a", T0, HOUR) == Decimal("10.00")
    finally:
        store.close()
