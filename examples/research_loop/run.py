"""The research incident, replayed: an agent that would make 10,000 API calls in an hour.

    python examples/research_loop/run.py          # on a fresh SQLite file in a temp folder

A research agent keeps re-asking the same handful of queries (the loop that cost $847).
The guard detects the loop, stops the agent (its kill switch, in every process on the
store) and keeps spend far inside the hourly budget; nothing runs again until a person
resumes the agent, and the on-call person is alerted (a log line; with ``webhook=``, also
a signed POST). Time is simulated: one call every 0.36 s, the pace of 10,000 an hour.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from agentguard import AgentStopped, Denied, Guard
from agentguard.clock import ManualClock
from agentguard.policy import parse_policy

HERE = Path(__file__).resolve().parent
PRICE = Decimal("0.085")
QUERIES = ["llm safety survey 2026", "agent guardrails benchmark", "prompt injection datasets"]


@dataclass
class Outcome:
    """What happened, for the end-to-end test."""

    executed: int = 0
    attempts: int = 0
    stopped_by: str | None = None
    stays_stopped: bool = False

    @property
    def spent(self) -> Decimal:
        return PRICE * self.executed


def run(
    store: str,
    say: Any = print,
    calls: int = 10_000,
    *,
    webhook: str | None = None,
    clock: ManualClock | None = None,
) -> Outcome:
    """Replay the incident on ``store``. ``webhook``: also POST alerts there, signed with
    the secret in ``$AGENTGUARD_WEBHOOK_SECRET``."""
    clock = clock or ManualClock()
    text = (HERE / "policy.yaml").read_text(encoding="utf-8")
    if webhook is not None:
        entry = f'  - {{webhook: "{webhook}", secret_env: AGENTGUARD_WEBHOOK_SECRET}}\n'
        text = text.replace("notify:\n", "notify:\n" + entry, 1)
    policy = parse_policy(text, source=str(HERE / "policy.yaml"))
    guard = Guard(policy, store, clock=clock)
    outcome = Outcome()

    @guard.tool()
    def call_api(query: str) -> dict[str, Any]:
        outcome.executed += 1
        return {"results": [f"{query}: result {outcome.executed}"]}

    agent = guard.agent("research_agent", session="literature-review")
    for n in range(calls):
        outcome.attempts += 1
        try:
            agent.call("call_api", query=QUERIES[n % len(QUERIES)])
        except Denied as exc:
            outcome.stopped_by = exc.code
            say(f"STOPPED after {outcome.executed} calls (${outcome.spent}): {exc.message}")
            break
        clock.advance(timedelta(seconds=0.36))
    clock.advance(timedelta(hours=1))
    try:
        agent.call("call_api", query="one more, an hour later")
    except AgentStopped:
        outcome.stays_stopped = True
    guard.close()  # delivers the alerts still queued
    return outcome


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="agentguard-research-"))
    url = f"sqlite:///{folder / 'agentguard.db'}"
    result = run(url)
    print(
        f"\n{result.executed} calls executed of {result.attempts} attempted, "
        f"${result.spent} spent; still stopped an hour later: {result.stays_stopped}; "
        f"audit log: {url}"
    )
    sys.exit(0 if result.stopped_by and result.stays_stopped else 1)
