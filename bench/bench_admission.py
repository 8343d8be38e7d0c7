"""Cost of admitting one action against its rate limits and budget, side by side with the
`limits` library (PyPI `limits`, installed by the `bench` extra).

    python bench/bench_admission.py [--calls N]

The action is counted in three sliding windows (a minute, an hour, a day) and charged to a
dollar budget. Ours: one ``admit`` call on the memory store and on a SQLite file (WAL,
one BEGIN IMMEDIATE transaction; all windows or none; one event for the three windows of
the key). `limits`: its ``MemoryStorage``, one ``hit`` per window with the moving-window
limiter (exact, like ours) and the fixed-window one (cheaper, and lets twice the limit
through across a window's edge); its hits are not all-or-none (a refusal by the third
window leaves the first two charged), and it has no money budget, so the like-for-like
row is ours with the three count windows only. Every clock is the real one (`limits`
reads ``time.time()``). Figures are per admission, in microseconds, garbage collector off.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import limits
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from agentguard.clock import SystemClock
from agentguard.store import MemoryStore, SQLiteStore
from agentguard.store.base import CounterStore, WindowRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import percentiles, timed

WINDOWS = (timedelta(minutes=1), timedelta(hours=1), timedelta(days=1))
ROOMY = 10_000_000  # every admission fits: the timed path is the admitting one


def requests(limit: int, *, budget: bool) -> list[WindowRequest]:
    counts = [
        WindowRequest("count:bench_agent:call_api", Decimal(1), Decimal(limit), window)
        for window in WINDOWS
    ]
    if not budget:
        return counts
    spend = WindowRequest("cost:bench_agent", Decimal("0.002"), Decimal(limit), WINDOWS[1])
    return [*counts, spend]


def ours(store: CounterStore, *, budget: bool, settle: bool = False) -> Callable[[], object]:
    clock = SystemClock()
    asked = requests(ROOMY, budget=budget)
    actual = {"cost:bench_agent": Decimal("0.0017")}

    def admit() -> object:
        answer = store.admit(asked, clock.now())
        if not answer.admitted:
            raise SystemExit("the benchmark's windows filled up: raise ROOMY")
        if settle and answer.reservation is not None:
            store.settle(answer.reservation, actual, clock.now())
        return answer

    return admit


def ours_refused(store: CounterStore) -> Callable[[], object]:
    clock = SystemClock()
    asked = requests(100, budget=True)
    while store.admit(asked, clock.now()).admitted:
        pass
    return lambda: store.admit(asked, clock.now())


def theirs(strategy: type[MovingWindowRateLimiter | FixedWindowRateLimiter], limit: int) -> Any:
    limiter = strategy(MemoryStorage())
    items = [
        limits.RateLimitItemPerMinute(limit),
        limits.RateLimitItemPerHour(limit),
        limits.RateLimitItemPerDay(limit),
    ]

    def hit() -> bool:
        # All three, as ours checks all three (ours stops at none: it checks before it adds).
        first = limiter.hit(items[0], "bench_agent", "call_api")
        second = limiter.hit(items[1], "bench_agent", "call_api")
        third = limiter.hit(items[2], "bench_agent", "call_api")
        return first and second and third

    return hit


def theirs_refused(strategy: type[MovingWindowRateLimiter | FixedWindowRateLimiter]) -> Any:
    hit = theirs(strategy, 100)
    while hit():
        pass
    return hit


def sqlite_floor(path: Path) -> Callable[[], object]:
    """What any durable admission pays: one write transaction inserting the two events
    (one per key) into a table with our index, and its commit; no reads, no checks."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE e (key TEXT, at INTEGER, units INTEGER, running INTEGER, ticket INTEGER)"
    )
    db.execute("CREATE INDEX e_key ON e(key, at, running)")
    insert = "INSERT INTO e VALUES (?, ?, ?, ?, ?)"

    def once() -> None:
        now = time.time_ns() // 1000
        db.execute("BEGIN IMMEDIATE")
        db.execute(insert, ("count:bench_agent:call_api", now, 1_000_000, now, 1))
        db.execute(insert, ("cost:bench_agent", now, 2_000, now, 1))
        db.execute("COMMIT")

    return once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    n = parser.parse_args().calls
    scratch = tempfile.TemporaryDirectory(prefix="bench-admission-")
    folder = Path(scratch.name)
    rows: list[tuple[str, list[float]]] = []

    def run(label: str, fn: Callable[[], object]) -> list[float]:
        samples = timed(fn, n)
        rows.append((label, samples))
        return samples

    like_for_like = run("ours, memory: 3 windows", ours(MemoryStore(), budget=False))
    run("ours, memory: 3 windows + budget", ours(MemoryStore(), budget=True))
    run(
        "ours, memory: 3 windows + budget, admit and settle",
        ours(MemoryStore(), budget=True, settle=True),
    )
    moving = run("limits, memory, moving window: 3 hits", theirs(MovingWindowRateLimiter, ROOMY))
    fixed = run("limits, memory, fixed window: 3 hits", theirs(FixedWindowRateLimiter, ROOMY))
    sqlite_store = SQLiteStore(folder / "admission.db")
    run("ours, SQLite: 3 windows + budget", ours(sqlite_store, budget=True))
    run(
        "ours, SQLite: 3 windows + budget, admit and settle",
        ours(SQLiteStore(folder / "settle.db"), budget=True, settle=True),
    )
    run("floor: SQLite insert of the two events + commit", sqlite_floor(folder / "floor.db"))
    run("ours, memory: refused (window full)", ours_refused(MemoryStore()))
    run("ours, SQLite: refused (window full)", ours_refused(SQLiteStore(folder / "full.db")))
    run("limits, moving window: refused (window full)", theirs_refused(MovingWindowRateLimiter))
    scratch.cleanup()

    print(
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()} {platform.processor() or ''}, "
        f"{platform.system()} {platform.release()}, CPython {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, limits {limits.__version__}; "
        f"{n} admissions per row after 1000 warm-up"
    )
    width = max(len(label) for label, _ in rows)
    print(f"{'what':<{width}}  {'p50 µs':>8}  {'p99 µs':>8}")
    for label, samples in rows:
        p50, p99 = percentiles(samples)
        print(f"{label:<{width}}  {p50:>8.1f}  {p99:>8.1f}")
    ours_p50 = percentiles(like_for_like)[0]
    for name, samples in (("moving", moving), ("fixed", fixed)):
        ratio = percentiles(samples)[0] / ours_p50
        print(f"limits {name} window / ours (memory, same 3 windows) at p50: {ratio:.2f}×")


if __name__ == "__main__":
    main()
