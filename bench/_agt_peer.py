"""Peer measurement: Microsoft's Agent Governance Toolkit (PyPI `agent-os-kernel`, 3.7.x).

Times one governed no-op action through `agent_os.stateless.StatelessKernel.execute`, in
process, optionally followed by a `GovernanceAuditLogger` record written to a
`JsonlFileBackend` and flushed per action (a plain JSONL line, no hash chain; `flush()` is a
`write(2)` to the page cache, not an fsync).

`execute` is `async def`, but for this request (no `state_ref`, no `intent_id`, tracing off)
every `await` inside it is on a coroutine that returns without suspending, so it finishes on
the first `coro.send(None)`. We drive it that way: it is what `await kernel.execute(...)`
costs inside an already running event loop (measured within ~0.5 µs of that), without
charging the peer for a loop round trip per call (`loop.run_until_complete` adds ~7 µs,
`asyncio.run` ~100 µs) that a real async agent would not pay. If a future version does
suspend, `_drive` raises instead of reporting a wrong figure.

Policy: the kernel's built-in `read_only` policy (blocks file_write, database_write,
send_email); the action `noop` is not blocked, so it is allowed. Note that unknown policy
names are skipped silently, and that `policies=[]` checks nothing at all.

agent-os-kernel 3.7.0 imports PyYAML at package import but does not declare it: without
`pyyaml` installed, `available()` is False.
"""

from __future__ import annotations

import gc
import importlib
import os
import tempfile
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

AGENT_ID = "bench_agent"
ACTION = "noop"
DEFAULT_POLICIES: tuple[str, ...] = ("read_only",)
WARMUP = 1000


def available() -> bool:
    """True when agent-os-kernel (and what its package import needs) can be imported."""
    try:
        importlib.import_module("agent_os.stateless")
        importlib.import_module("agent_os.audit_logger")
    except ImportError:
        return False
    return True


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends to completion and return its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("StatelessKernel.execute suspended: it needs an event loop now")


def measure_agt(
    n: int,
    with_audit: bool,
    tmpdir: str,
    *,
    policies: Sequence[str] = DEFAULT_POLICIES,
) -> list[float]:
    """Per-call latency in microseconds of `n` allowed no-op actions, after a warm-up.

    With `with_audit`, each timed call also records the decision through
    `GovernanceAuditLogger.log_decision` into a `JsonlFileBackend` under `tmpdir` and flushes
    it before returning.
    """
    stateless: Any = importlib.import_module("agent_os.stateless")
    audit_mod: Any = importlib.import_module("agent_os.audit_logger")

    kernel: Any = stateless.StatelessKernel()
    context: Any = stateless.ExecutionContext(agent_id=AGENT_ID, policies=list(policies))
    audit: Any = None
    backend: Any = None
    audit_path: Path | None = None
    if with_audit:
        fd, name = tempfile.mkstemp(prefix="agt-audit-", suffix=".jsonl", dir=tmpdir)
        os.close(fd)  # the backend reopens it in append mode (and chmods it 0o600)
        audit_path = Path(name)
        backend = audit_mod.JsonlFileBackend(audit_path)
        audit = audit_mod.GovernanceAuditLogger()
        audit.add_backend(backend)

    perf = time.perf_counter
    clock = time.perf_counter_ns

    def once() -> Any:
        result: Any = _drive(kernel.execute(ACTION, {"n": 1}, context))
        return result

    def once_audited() -> Any:
        start = perf()
        result: Any = _drive(kernel.execute(ACTION, {"n": 1}, context))
        audit.log_decision(
            agent_id=AGENT_ID,
            action=ACTION,
            decision="allow" if result.success else "deny",
            reason=result.error or "",
            latency_ms=(perf() - start) * 1000,
        )
        audit.flush()
        return result

    call = once_audited if with_audit else once
    samples: list[float] = []
    was_enabled = gc.isenabled()
    try:
        for _ in range(WARMUP):
            if not call().success:
                raise RuntimeError(f"AGT denied the no-op action under policies {list(policies)}")
        gc.collect()
        gc.disable()  # as bench_pipeline.timed() does for our own rows
        for _ in range(n):
            begin = clock()
            result = call()
            samples.append((clock() - begin) / 1000)
            if not result.success:
                raise RuntimeError(f"AGT denied the no-op action: {result.error}")
    finally:
        if was_enabled:
            gc.enable()
        if backend is not None:
            backend.close()

    if audit_path is not None:
        with audit_path.open(encoding="utf-8") as written:
            lines = sum(1 for _ in written)
        if lines != WARMUP + n:
            raise RuntimeError(f"AGT audit file has {lines} lines, expected {WARMUP + n}")
    return samples
