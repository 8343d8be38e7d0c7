"""``agentguard rollback``, run as a real subprocess (the installed console script) in
``tmp_path``: the policy's ``call:`` entries name ``tests.rollback.tools``, found through
``PYTHONPATH``. The actions to roll back are made in this process, on the same SQLite
store, with a clock that starts ten minutes ago (``--since`` counts back from now)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.rollback.conftest import Act

from agentguard import Guard
from agentguard.clock import ManualClock
from agentguard.store.base import AuditQuery

AGENTGUARD = Path(sys.executable).parent / "agentguard"
ROOT = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """The CLI's ``sqlite:///agentguard.db`` in tmp_path, by absolute path."""
    return f"sqlite:///{tmp_path / 'agentguard.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC) - timedelta(minutes=10))


@pytest.fixture
def run(tmp_path: Path) -> Run:
    assert AGENTGUARD.exists(), f"console script not installed next to {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update(
        {
            "AGENTGUARD_POLICY": "policy.yaml",
            "AGENTGUARD_STORE": "sqlite:///agentguard.db",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
            "PYTHONUTF8": "1",
        }
    )

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AGENTGUARD), "rollback", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )

    return _run


def rows(state: str, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(state) as conn:
        return conn.execute(sql).fetchall()


def exited(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (
        f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert "Traceback" not in result.stderr
    return result.stdout


def test_a_dry_run_lists_what_would_be_undone_and_what_cannot_be(
    act: Act, run: Run, state: str
) -> None:
    created = act("create_post", post_id="p1", title="One", session="s1")
    mailed = act("send_email", to="ana@example.com", body="hello", session="s1")
    published = act("publish_post", post_id="p1", session="s1")

    out = exited(run("--session", "s1", "--dry-run"), 0)

    assert out.splitlines() == [
        f"would undo publish_post (action {published.id}) by unpublish_post",
        f"would undo create_post (action {created.id}) by delete_post",
        f"cannot undo: send_email (action {mailed.id}): irreversible",
    ]
    assert rows(state, "SELECT id, published FROM posts") == [("p1", 1)]
    assert "ana@example.com" not in out


def test_one_action_is_undone_and_recorded_with_who_did_it(
    act: Act, run: Run, guard: Guard, state: str
) -> None:
    act("create_post", post_id="p1", title="One")
    published = act("publish_post", post_id="p1")

    out = exited(run("--action", published.id, "--by", "alice"), 0)

    assert out.splitlines() == [f"undone publish_post (action {published.id}) by unpublish_post"]
    assert rows(state, "SELECT id, published FROM posts") == [("p1", 0)]
    (record,) = [
        json.loads(r.body) for r in guard.store.search(AuditQuery(decision="rollback.undo"))
    ]
    assert (record["status"], record["metadata"]["by"]) == ("undone", "alice")
    assert guard.store.verify().ok
    again = exited(run("--action", published.id), 0)
    assert again.startswith(f"nothing to undo (action {published.id}; 1 undone before)")


def test_a_session_is_undone_newest_first_as_json(act: Act, run: Run, state: str) -> None:
    created = act("create_post", post_id="p1", title="One", session="s1")
    refund = act("process_refund", order_id="o1", amount=Decimal("19.90"), session="s1")
    act("create_post", post_id="other", title="Other session", session="s2")

    document = json.loads(exited(run("--session", "s1", "--json"), 0))

    assert document["ok"] is True and document["scope"] == "session 's1'"
    assert [e["action"] for e in document["undone"]] == [refund.id, created.id]
    assert document["undone"][0]["undo_tool"] == "reverse_refund"
    assert rows(state, "SELECT id FROM posts") == [("other",)]
    assert rows(state, "SELECT amount, reversed FROM refunds") == [("19.90", "19.90")]
    assert "19.90" not in json.dumps(document)  # no argument values in the report


def test_an_agent_is_undone_since_a_duration(act: Act, run: Run, state: str) -> None:
    mine = act("create_post", post_id="mine", title="Mine")
    act("create_post", post_id="theirs", title="Theirs", agent="helper")

    out = exited(run("--agent", "bot", "--since", "1h"), 0)

    assert out.splitlines() == [f"undone create_post (action {mine.id}) by delete_post"]
    assert rows(state, "SELECT id FROM posts") == [("theirs",)]


def test_a_failing_undo_exits_1_and_says_what_remains(act: Act, run: Run, state: str) -> None:
    created = act("create_post", post_id="p1", title="One", session="s1")
    published = act("publish_post", post_id="p1", session="s1")
    rows(state, "UPDATE posts SET locked = 1")

    out = exited(run("--session", "s1"), 1)

    assert out.splitlines() == [
        f"failed: publish_post (action {published.id}) by unpublish_post: "
        "PermissionError: the post is locked by an editor",
        f"not undone: create_post (action {created.id}) (the rollback stopped)",
    ]
    assert rows(state, "SELECT id, published FROM posts") == [("p1", 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one of --action ID, --session S or --agent A --since 1h"),
        (("--action", "a1", "--session", "s1"), "got --action and --session"),
        (("--agent", "bot"), "--agent needs --since"),
        (("--agent", "bot", "--since", "soon"), "--since: 'soon' is not a duration"),
        (("--action", "a1", "--since", "1h"), "--since does not apply to --action"),
        (("--session", "s1", "--bogus"), "No such option"),
    ],
)
def test_bad_arguments_exit_2(act: Act, run: Run, args: tuple[str, ...], message: str) -> None:
    act("create_post", post_id="p1", title="One")  # a store and policy that would work
    result = run(*args)
    exited(result, 2)
    assert message in " ".join(result.stderr.split())


def test_a_missing_store_is_refused_not_created(
    run: Run, policy_path: Path, tmp_path: Path
) -> None:
    result = run("--session", "s1", "--store", "sqlite:///nowhere.db")
    exited(result, 3)
    assert not (tmp_path / "nowhere.db").exists()
