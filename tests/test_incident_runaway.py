"""The two runaway incidents end to end (examples/draft_flood, examples/research_loop): at
most the configured number of drafts publish and the rest are held; the looping research
agent is stopped early, inside its budget, and stays stopped until a person resumes it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from tests.receivers import Receiver

from agentguard import Guard
from agentguard.clock import ManualClock
from agentguard.monitor import verify_signature
from agentguard.monitor.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER

SECRET = "whsec-oncall-0123456789abcdef"
AGENTGUARD = Path(sys.executable).parent / "agentguard"


@pytest.fixture(scope="module")
def drafts(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("draft_flood")


@pytest.fixture(scope="module")
def research(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("research_loop")


def records(db: Path) -> list[dict[str, object]]:
    rows = sqlite3.connect(db).execute("SELECT body FROM audit ORDER BY seq").fetchall()
    return [json.loads(body) for (body,) in rows]


def test_fifty_drafts_publish_five_and_the_rest_are_held(
    drafts: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRAFT_FLOOD_BLOG", str(tmp_path / "blog.db"))
    db = tmp_path / "agentguard.db"
    outcome = drafts.run(f"sqlite:///{db}", say=lambda _: None)
    assert outcome.published == drafts.DRAFTS[:5]
    assert [text for text, _ in outcome.held] == drafts.DRAFTS[5:]
    assert {code for _, code in outcome.held} == {"limits.approval_required"}
    assert len({t.id for t in outcome.tickets}) == 45 and outcome.refused == []
    import draft_flood_tools  # the blog: what is public is what was published, nothing more

    assert draft_flood_tools.published() == drafts.DRAFTS[:5]
    statuses = [r["status"] for r in records(db) if r["action"] == "publish_post"]
    assert statuses == ["executed"] * 5 + ["held"] * 45


def test_the_looping_research_agent_is_stopped_within_budget_and_stays_stopped(
    research: ModuleType,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTGUARD_WEBHOOK_SECRET", SECRET)
    db = tmp_path / "agentguard.db"
    clock = ManualClock()
    outcome = research.run(
        f"sqlite:///{db}", say=lambda _: None, webhook=f"{receiver.url}/oncall", clock=clock
    )
    assert outcome.stopped_by == "breakers.loop_detected"
    # the same query the 10th time within a minute, three queries in turn: the 28th call
    assert outcome.executed == 27
    assert outcome.spent <= Decimal("10.00")
    assert outcome.stays_stopped
    # the on-call webhook got the alert (delivered before run() returned), signed
    [got] = receiver.taken()
    assert got.path == "/oncall"
    assert verify_signature(
        SECRET,
        got.headers[TIMESTAMP_HEADER],
        got.body,
        got.headers[SIGNATURE_HEADER],
        now=clock.now(),
        tolerance=timedelta(hours=2),  # the replay's clock ran on an hour after the alert
    )
    alert = got.json()
    assert (alert["rule"], alert["severity"], alert["agent"]) == (
        "loop_detected",
        "critical",
        "research_agent",
    )
    assert verify_signature("not-the-secret", got.headers[TIMESTAMP_HEADER], got.body,
                            got.headers[SIGNATURE_HEADER], now=clock.now(),
                            tolerance=timedelta(hours=2)) is False  # fmt: skip
    logged = records(db)
    kills = [r for r in logged if r["kind"] == "control" and r["decision"] == "kill"]
    assert len(kills) == 1
    assert sum(1 for r in logged if r.get("status") == "executed") == 27
    assert [r["metadata"]["rule"] for r in logged if r["action"] == "agentguard.alert"] == [
        "loop_detected"
    ]
    assert len([r for r in logged if r["action"] == "agentguard.incident.open"]) == 1
    # until a person resumes it with `agentguard resume`
    resumed = subprocess.run(
        [str(AGENTGUARD), "resume", "--agent", "research_agent", "--store", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    guard = Guard.from_file(research.HERE / "policy.yaml", f"sqlite:///{db}")
    try:
        guard.register(lambda query: ["fresh"], "call_api")
        assert guard.agent("research_agent").call("call_api", query="a new question") == ["fresh"]
    finally:
        guard.close()
