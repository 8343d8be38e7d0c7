"""Overhead of the content layers on one outbound action with a 1 KB body.

    make bench-content      # or: python bench/bench_content.py [--calls N]

A ``send_email`` whose 1 KB body is ordinary support prose (no finding) goes through
``guard.check`` on a SQLite store, with detector rules running every built-in family on the
outbound fields (pii, secrets, injection and tone when installed) and the A→B leak guard
active (the session has seen another customer's data, so the body is fingerprinted and
looked up in the store). Printed per action, in microseconds: the ``content`` layer alone,
the ``leaks`` layer alone, both, and the whole decision; then the same decision with no
``detectors:`` section for comparison. Aim: content layers p50 under 200 µs.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from agentguard import Guard
from agentguard.policy import parse_policy
from agentguard.scan import available_families

TOOLS = """
version: 1
tools:
  read_thread:
    input: {customer_id: {type: string}}
    owner: args.customer_id
  send_email:
    input: {to: {type: string}, subject: {type: string}, body: {type: string}}
    outbound: [subject, body]
    recipient: args.to
roles:
  support: {allow: [read_thread, send_email]}
agents:
  bot: {roles: [support]}
"""

PARAGRAPHS = [
    "Thank you for getting in touch about your order. I have looked into the delivery and "
    "can confirm that the parcel left our warehouse on Tuesday morning with the courier.",
    "The tracking page shows it is now at the regional sorting centre, which usually means "
    "it will reach you within one or two working days, depending on the route.",
    "If the parcel has not arrived by Friday, reply to this message and we will arrange a "
    "replacement at no cost, or a full refund to your original payment method.",
    "In the meantime, you can change the delivery slot or ask the courier to leave it with "
    "a neighbour from the link in your dispatch confirmation.",
    "We are sorry for the wait and appreciate your patience while the courier network "
    "catches up after the holiday weekend.",
]


def body_of(size: int) -> str:
    text = ""
    index = 0
    while len(text) < size:
        text += PARAGRAPHS[index % len(PARAGRAPHS)] + "\n\n"
        index += 1
    return text[:size]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def measure(guard: Guard, args: dict[str, str], n: int) -> dict[str, list[float]]:
    for _ in range(200):
        guard.check(agent="bot", tool="send_email", args=args, session="s1")
    out: dict[str, list[float]] = {"content": [], "leaks": [], "content+leaks": [], "decision": []}
    gc.collect()
    gc.disable()
    try:
        for _ in range(n):
            started = time.perf_counter_ns()
            decision = guard.check(agent="bot", tool="send_email", args=args, session="s1")
            total = (time.perf_counter_ns() - started) / 1000
            assert decision.allowed, decision.reasons
            layers = dict(decision.timings_ns)
            content = layers.get("content", 0) / 1000
            leaks = layers.get("leaks", 0) / 1000
            out["content"].append(content)
            out["leaks"].append(leaks)
            out["content+leaks"].append(content + leaks)
            out["decision"].append(total)
    finally:
        gc.enable()
    return out


def run(calls: int, size: int) -> tuple[list[str], dict[str, list[float]], list[float]]:
    """(families, samples per part with every family on, whole decisions without)."""
    families = [f for f in ("pii", "secrets", "injection", "tone") if f in available_families()]
    rules = "detectors:\n  rules:\n" + "".join(
        f"    - {{scan: outbound, detectors: [{f}], action: block}}\n" for f in families
    )
    args = {"to": "ben@pallet-co.test", "subject": "Your order", "body": body_of(size)}
    with tempfile.TemporaryDirectory() as folder:
        guarded = Guard(parse_policy(TOOLS + rules), f"sqlite:///{Path(folder) / 'c.db'}")
        guarded.register(lambda customer_id: "A's notes: " + body_of(600)[::-1], "read_thread")
        guarded.register(lambda to, subject, body: "sent", "send_email")
        guarded.agent("bot", session="s1").call("read_thread", customer_id="cust_A")
        plain = Guard(parse_policy(TOOLS), f"sqlite:///{Path(folder) / 'p.db'}")
        plain.register(lambda to, subject, body: "sent", "send_email")

        with_rules = measure(guarded, args, calls)
        without = measure(plain, args, calls)
    return families, with_rules, without["decision"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--size", type=int, default=1024, help="body size in characters")
    options = parser.parse_args()
    families, with_rules, without = run(options.calls, options.size)

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"agentguard content-layer benchmark — {now}")
    print(
        f"machine: {platform.machine()}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"{options.calls} decisions, body {options.size} characters"
    )
    print(f"outbound detector families: {', '.join(families)}; leak guard on")
    print(f"{'what':<52}{'p50 µs':>10}{'p99 µs':>10}")
    for name in ("content", "leaks", "content+leaks", "decision"):
        p50, p99 = percentiles(with_rules[name])
        print(
            f"{name + (' layer' if name in ('content', 'leaks') else ''):<52}{p50:>10.1f}{p99:>10.1f}"
        )
    p50, p99 = percentiles(without)
    print(f"{'decision with no detectors: section':<52}{p50:>10.1f}{p99:>10.1f}")
    content_p50 = percentiles(with_rules["content+leaks"])[0]
    print(f"content layers p50: {content_p50:.1f} µs (aim < 200 µs)")


if __name__ == "__main__":
    sys.exit(main())
