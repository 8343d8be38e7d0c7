"""Latency and throughput of ``POST /v1/check`` over loopback, beside a bare FastAPI
endpoint that does nothing, in the same run, on the same uvicorn.

    make bench-gateway     # or: python bench/bench_gateway.py [--requests N] [--clients C]

A bounded load generator (C client threads, each with its own keep-alive connection,
N requests in all) posts the same body to both apps, one after the other. Printed per app:
median, p90, p99 (milliseconds) and requests per second. The peer figure to beat on
overhead is LiteLLM's published median proxy overhead of about 12 ms (their docs'
benchmark, not measured here). Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from agentguard import Guard

POLICY = """
version: 1
tools:
  lookup:
    risk: low
    input: {q: {type: string, maxLength: 200}}
roles:
  worker:
    allow:
      - tool: lookup
        when: size(args.q) < 100
agents:
  bot: {roles: [worker]}
"""
BODY = {"tool": "lookup", "args": {"q": "order status for 4411"}}


BARE = """
from typing import Any
from fastapi import FastAPI

app = FastAPI()


@app.post("/v1/check")
async def nothing(body: dict[str, Any]) -> dict[str, str]:
    return {"decision": "allow"}


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(command: list[str], cwd: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A server in its own process (so the load generator never shares its interpreter),
    once its /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)], cwd=cwd, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", trust_env=False, timeout=1).status_code == 200:
                return url, process
        except httpx.TransportError:
            time.sleep(0.1)  # a benchmark's start-up wait, not a test's synchronisation
    process.kill()
    raise SystemExit(f"the server did not start: {' '.join(command)}")


def load(url: str, headers: dict[str, str], requests: int, clients: int) -> dict[str, float]:
    per_client = max(requests // clients, 1)
    latencies: list[float] = []
    lock = threading.Lock()
    failures = [0]

    def client() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=30) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                response = http.post("/v1/check", json=BODY)
                mine.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures[0] += 1
        with lock:
            latencies.extend(mine)

    # warm up: connections, imports, the first compile of every path
    with httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=30) as http:
        for _ in range(50):
            http.post("/v1/check", json=BODY)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000

    return {
        "p50": statistics.median(ordered) * 1000,
        "p90": at(0.90),
        "p99": at(0.99),
        "rps": len(ordered) / elapsed,
        "failures": failures[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=8)
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="agentguard-bench-gateway-"))
    (folder / "bare_app.py").write_text(BARE)
    (folder / "policy.yaml").write_text(POLICY)
    store = f"sqlite:///{folder / 'bench.db'}"
    guard = Guard.from_file(folder / "policy.yaml", store)
    key = guard.create_key("bot")
    guard.close()
    python = sys.executable
    servers = (
        ("bare FastAPI endpoint", [python, "-m", "uvicorn", "bare_app:app", "--log-level",
                                   "error", "--no-access-log"], {}),
        ("agentguard /v1/check", [python, "-m", "agentguard", "serve", "--policy",
                                  "policy.yaml", "--store", store],
         {"Authorization": f"Bearer {key}"}),
    )  # fmt: skip
    results = {}
    for name, command, headers in servers:
        url, process = start(command, folder)
        try:
            results[name] = load(url, headers, options.requests, options.clients)
        finally:
            process.terminate()
            process.wait(30)

    print(f"POST /v1/check over loopback: {options.requests} requests, {options.clients} "
          f"clients; Python {platform.python_version()}, {platform.machine()}")  # fmt: skip
    print(f"{'':24} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'req/s':>8} {'failed':>7}")
    for name, r in results.items():
        print(f"{name:24} {r['p50']:8.2f} {r['p90']:8.2f} {r['p99']:8.2f} {r['rps']:8.0f} "
              f"{int(r['failures']):7d}")  # fmt: skip
    ours, base = results["agentguard /v1/check"], results["bare FastAPI endpoint"]
    print(f"\nratio of medians: {ours['p50'] / base['p50']:.2f}x the bare endpoint (aim ≤ 1.5x); "
          f"overhead {ours['p50'] - base['p50']:.2f} ms per check (LiteLLM publishes ~12 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
