"""Timing helpers shared by the benchmark scripts: per-call samples in microseconds."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``samples``."""
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(fn: Callable[[], object], n: int, warmup: int = 1000) -> list[float]:
    """Microseconds per call of ``fn``, ``n`` calls after ``warmup``, with the garbage
    collector paused so one collection does not land on a few samples."""
    for _ in range(warmup):
        fn()
    gc.collect()
    gc.disable()
    try:
        out = []
        clock = time.perf_counter_ns
        for _ in range(n):
            start = clock()
            fn()
            out.append((clock() - start) / 1000)
        return out
    finally:
        gc.enable()
