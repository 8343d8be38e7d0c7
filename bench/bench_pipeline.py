"""Latency of one fully governed no-op tool call, side by side with the bare call and with
Microsoft's Agent Governance Toolkit (PyPI `agent-os-kernel`, installed by the `bench` extra).

    make bench            # or: python bench/bench_pipeline.py [--calls N]

Ours: identity, kill switch (a read of the SQLite store), input validation, access control
with a CEL condition, and a durable hash-chained audit record committed to SQLite (WAL,
synchronous=NORMAL) before the call returns. Figures are per call, in microseconds.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sqlite3
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import percentiles, timed
from agentguard import Guard
from agentguard.cli import starter_policy_text
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  noop:
    risk: low
    input: {n: {type: integer}}
roles:
  worker:
    allow:
      - tool: noop
        when: args.n < 1000
agents:
  bench_agent: {roles: [worker]}
"""


#: the same call with runaway protection on: two count windows, a budget, breakers, loops
LIMITED = (
    POLICY.replace("    risk: low\n", "    risk: low\n    cost: 0.000001\n")
    + """
limits:
  bench_agent:
    - {tool: noop, max: 1000000000, per: 1m}
    - {tool: noop, max: 1000000000, per: 1h}
    - {cost: 1000000, per: 1d}
breakers:
  errors: {errors: 5, within: 60s, cooldown: 5m}
"""
)


def bare_sqlite_floor(folder: Path, n: int) -> list[float]:
    """One WAL insert + commit + SHA-256: the floor for a durable chained record."""
    db = sqlite3.connect(folder / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT, hash TEXT)")
    state = {"prev": "0" * 64}
    body = '{"agent_id":"bench_agent","action":"noop","decision":"allow"}'

    def once() -> None:
        digest = hashlib.sha256((state["prev"] + body).encode()).hexdigest()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (body, hash) VALUES (?, ?)", (body, digest))
        db.execute("COMMIT")
        state["prev"] = digest

    return timed(once, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    options = parser.parse_args()
    n = options.calls
    folder = Path(tempfile.mkdtemp(prefix="agentguard-bench-"))

    def noop(n: int) -> int:
        return n

    guard = Guard(parse_policy(POLICY), f"sqlite:///{folder / 'bench.db'}")
    guard.register(noop)
    agent = guard.agent("bench_agent")
    rows: list[tuple[str, list[float]]] = []
    rows.append(("bare function call", timed(lambda: noop(n=1), n)))
    rows.append(
        ("agentguard decision only (check, no audit)", timed(lambda: agent.check("noop", n=1), n))
    )
    rows.append(
        (
            "agentguard governed call + durable chained audit",
            timed(lambda: agent.call("noop", n=1), n),
        )
    )
    limited = Guard(parse_policy(LIMITED), f"sqlite:///{folder / 'limited.db'}")
    limited.register(noop)
    limited_agent = limited.agent("bench_agent")
    rows.append(
        (
            "  … with limits, a budget and breakers on",
            timed(lambda: limited_agent.call("noop", n=1), n),
        )
    )
    starter = Guard(parse_policy(starter_policy_text()), f"sqlite:///{folder / 'starter.db'}")

    def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        return []

    starter.register(read_inbox)
    support = starter.agent("email_agent")
    rows.append(
        (
            "starter policy: read_inbox call + durable audit",
            timed(lambda: support.call("read_inbox", folder="inbox", limit=5), n),
        )
    )
    rows.append(("floor: SQLite WAL insert+commit+SHA-256", bare_sqlite_floor(folder, n)))
    assert guard.verify_audit().ok and limited.verify_audit().ok and starter.verify_audit().ok

    peer_note = ""
    try:
        import _agt_peer

        if _agt_peer.available():
            rows.append(
                ("AGT StatelessKernel.execute", _agt_peer.measure_agt(n, False, str(folder)))
            )
            rows.append(
                (
                    "AGT execute + JSONL audit flushed per action",
                    _agt_peer.measure_agt(n, True, str(folder)),
                )
            )
        else:
            peer_note = "agent-os-kernel is not installed: pip install -e '.[bench]'"
    except ImportError as exc:
        peer_note = f"peer unavailable ({exc})"

    print(f"agentguard pipeline benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; {n} calls each"
    )
    print(f"{'what':52} {'p50 µs':>9} {'p99 µs':>9} {'mean µs':>9}")
    figures: dict[str, float] = {}
    for name, samples in rows:
        p50, p99 = percentiles(samples)
        figures[name] = p50
        print(f"{name:52} {p50:9.1f} {p99:9.1f} {statistics.fmean(samples):9.1f}")
    ours = figures["agentguard governed call + durable chained audit"]
    peer = figures.get("AGT execute + JSONL audit flushed per action")
    if peer:
        print(f"ratio ours / AGT-with-audit (p50): {ours / peer:.2f}× (aim ≤ 0.8×, and ≤ 20 µs)")
    if peer_note:
        print(peer_note)
    guard.close()


if __name__ == "__main__":
    main()
