"""Incident 1 end to end (examples/draft_flood): the content agent's 50 publishes → 5
published, 45 held as approval requests; an editor releases two of them from the CLI (one
edited); ``agentguard rollback --session`` takes every published post down through the
blog's own SQLite state; the audit log and ``audit verify`` show every step."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentguard import Guard

AGENTGUARD = Path(sys.executable).parent / "agentguard"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "draft_flood"


def _cli(folder: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update(
        {
            "AGENTGUARD_POLICY": str(EXAMPLE / "policy.yaml"),
            "AGENTGUARD_STORE": f"sqlite:///{folder / 'agentguard.db'}",
            "DRAFT_FLOOD_BLOG": str(folder / "blog.db"),
            "PYTHONPATH": str(EXAMPLE),  # the policy's call: entries name draft_flood_tools
            "NO_COLOR": "1",
            "COLUMNS": "200",
        }
    )
    if key is not None:
        env["AGENTGUARD_KEY"] = key
    return subprocess.run(
        [str(AGENTGUARD), *args], cwd=folder, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=120,
    )  # fmt: skip


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _records(db: Path) -> list[dict[str, Any]]:
    rows = sqlite3.connect(db).execute("SELECT body FROM audit ORDER BY seq")
    return [json.loads(body) for (body,) in rows]


def test_the_draft_flood_is_held_two_are_released_and_everything_published_is_rolled_back(
    load_example: Callable[[str], ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts = load_example("draft_flood")
    monkeypatch.setenv("DRAFT_FLOOD_BLOG", str(tmp_path / "blog.db"))
    import draft_flood_tools as blog

    db = tmp_path / "agentguard.db"
    guard = Guard.from_file(EXAMPLE / "policy.yaml", f"sqlite:///{db}")
    try:
        outcome = drafts.run("", say=lambda _: None, guard=guard)
        assert outcome.published == drafts.DRAFTS[:5]
        assert len(outcome.tickets) == 45 and outcome.refused == []
        assert blog.published() == drafts.DRAFTS[:5]

        # an editor reads the queue and releases two posts, fixing the second
        made = _ok(_cli(tmp_path, "keys", "create", "--approver", "editor")).stdout
        [key] = [word for word in made.split() if word.startswith("agp_")]
        listed = _ok(_cli(tmp_path, "approvals", "list", "--json")).stdout.splitlines()
        assert len(listed) == 45
        first, second = outcome.tickets[0], outcome.tickets[1]
        _ok(_cli(tmp_path, "approvals", "approve", first.id, key=key))
        edited = "Spring release notes (edited by a person)."
        _ok(_cli(tmp_path, "approvals", "approve", second.id, "--edit", f"text={edited}",
                 "--comment", "rewrote the draft", key=key))  # fmt: skip
        agent = guard.agent("content_agent", session=drafts.SESSION)
        agent.await_approval(first, timeout=10)
        agent.await_approval(second, timeout=10)
        released = [drafts.DRAFTS[5], edited]
        assert blog.published() == drafts.DRAFTS[:5] + released
    finally:
        guard.close()

    # the on-call person opens an incident (the agent stops), then takes down everything the
    # session published, from the CLI, newest first
    incident = _ok(_cli(tmp_path, "incident", "open", "--agent", "content_agent",
                        "--reason", "drafts published")).stdout.strip()  # fmt: skip
    dry = _ok(_cli(tmp_path, "rollback", "--session", drafts.SESSION, "--dry-run", "--json"))
    assert len(json.loads(dry.stdout)["would_undo"]) == 7
    assert blog.published() == drafts.DRAFTS[:5] + released  # a dry run changes nothing
    done = _ok(_cli(tmp_path, "rollback", "--session", drafts.SESSION, "--by", "oncall"))
    assert done.stdout.count("undone publish_post") == 7, done.stdout
    assert blog.published() == []
    again = _ok(_cli(tmp_path, "rollback", "--session", drafts.SESSION))  # nothing twice
    assert "undone publish_post" not in again.stdout

    # every step is in the chain, and the chain holds
    records = _records(db)
    publishes = [r["status"] for r in records if r["action"] == "publish_post"]
    assert publishes == ["executed"] * 5 + ["held"] * 45 + ["executed"] * 2
    approval_steps = [r["action"] for r in records if r["action"].startswith("agentguard.approval")]
    assert approval_steps == [
        "agentguard.approval.approved", "agentguard.approval.edited",
        "agentguard.approval.claimed", "agentguard.approval.executed",
        "agentguard.approval.claimed", "agentguard.approval.executed",
    ]  # fmt: skip
    [edit] = [r for r in records if r["action"] == "agentguard.approval.edited"]
    assert edit["metadata"]["edit"] == {"text": edited} and edit["metadata"]["by"] == "editor"
    undos = [r for r in records if r["action"] == "agentguard.rollback.undo"]
    assert [u["status"] for u in undos] == ["undone"] * 7
    assert all(u["metadata"]["by"] == "oncall" for u in undos)
    verified = _ok(_cli(tmp_path, "audit", "verify"))
    assert "ok" in verified.stdout.lower()
    report = json.loads(_ok(_cli(tmp_path, "incident", "report", incident, "--json")).stdout)
    rolled = [e for e in report["rollbacks"] if e["what"] == "rolled back"]
    assert len(rolled) == 7 and all("publish_post" in e["detail"] for e in rolled)
