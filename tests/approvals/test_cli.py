"""``agentguard keys create --approver`` and ``agentguard approvals …`` as real subprocesses
against the SQLite file an agent's guard uses; two people approving at once from two
processes, and two agent processes racing to run one approval: it runs once."""

from __future__ import annotations

import json
import multiprocessing
import os
import runpy
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentguard import ApprovalPending, Guard

AGENTGUARD = Path(sys.executable).parent / "agentguard"
POLICY = """
version: 1
tools:
  publish_post:
    risk: medium
    input: {post_id: {type: string}, title: {type: string}, body: {type: string}}
  process_refund:
    risk: high
    input: {order_id: {type: string}, amount: {type: number}}
roles:
  worker: {allow: [publish_post, process_refund]}
agents:
  bot: {roles: [worker]}
approvals:
  low: {mode: none}
  medium: {mode: review, within: 2h, on_expiry: deny}
  high: {mode: required, timeout: 10m}
approvers:
  alice: {tools: ["*"]}
  bob: {tiers: [medium]}
"""


def _cli(tmp_path: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update(
        {"AGENTGUARD_POLICY": "policy.yaml", "AGENTGUARD_STORE": "sqlite:///guard.db",
         "NO_COLOR": "1", "PYTHONUTF8": "1", "COLUMNS": "200"}
    )  # fmt: skip
    if key is not None:
        env["AGENTGUARD_KEY"] = key
    return subprocess.run(
        [str(AGENTGUARD), *args], cwd=tmp_path, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=120,
    )  # fmt: skip


def _posts(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS posts (post_id TEXT, title TEXT)")
        return list(conn.execute("SELECT post_id, title FROM posts ORDER BY rowid"))


def _guard(tmp_path: Path) -> Guard:
    guard = Guard.from_file(tmp_path / "policy.yaml", f"sqlite:///{tmp_path / 'guard.db'}")
    posts = tmp_path / "posts.db"

    @guard.tool()
    def publish_post(post_id: str, title: str, body: str) -> dict[str, str]:
        with sqlite3.connect(posts) as conn:  # real state: the published rows
            conn.execute("CREATE TABLE IF NOT EXISTS posts (post_id TEXT, title TEXT)")
            conn.execute("INSERT INTO posts VALUES (?, ?)", (post_id, title))
        return {"published": post_id}

    return guard


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    return tmp_path


def _key(folder: Path, person: str) -> str:
    made = _cli(folder, "keys", "create", "--approver", person)
    assert made.returncode == 0, made.stderr
    [key] = [w for w in made.stdout.split() if w.startswith("agp_")]
    return key


def test_list_show_approve_with_an_edit_and_the_agent_runs_it(folder: Path) -> None:
    guard = _guard(folder)
    try:
        with pytest.raises(ApprovalPending) as caught:
            guard.agent("bot").call(
                "publish_post", post_id="p1", title="Draft", body="mail jane.doe@example.com"
            )
        ticket = caught.value.ticket
        listing = _cli(folder, "approvals", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        [row] = [json.loads(line) for line in listing.stdout.splitlines()]
        assert {k: row[k] for k in ("id", "agent", "tool", "state")} == {
            "id": ticket.id, "agent": "bot", "tool": "publish_post", "state": "pending",
        }  # fmt: skip
        assert row["deadline"].endswith("Z")

        shown = _cli(folder, "approvals", "show", ticket.id)
        assert shown.returncode == 0, shown.stderr
        assert "publish_post" in shown.stdout and "jane.doe@example.com" not in shown.stdout
        assert "[EMAIL:" in shown.stdout  # redacted as the audit log has it

        no_key = _cli(folder, "approvals", "approve", ticket.id)
        assert no_key.returncode == 2 and "approver key" in no_key.stderr
        agent_key = _cli(folder, "keys", "create", "--agent", "bot").stdout.split()
        [agent_key_text] = [w for w in agent_key if w.startswith("ag_")]
        refused = _cli(folder, "approvals", "approve", ticket.id, key=agent_key_text)
        assert refused.returncode == 1 and "approver key" in refused.stderr

        approved = _cli(
            folder, "approvals", "approve", ticket.id, "--edit", "title=Final title",
            "--comment", "fixed the title", key=_key(folder, "bob"),
        )  # fmt: skip
        assert approved.returncode == 0, approved.stderr
        diff = _cli(folder, "approvals", "show", ticket.id).stdout
        assert '- title: "Draft"' in diff and '+ title: "Final title"' in diff

        assert guard.agent("bot").await_approval(ticket, timeout=10) == {"published": "p1"}
        assert _posts(folder / "posts.db") == [("p1", "Final title")]
        verified = _cli(folder, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        guard.close()


def test_reject_with_a_comment_and_refusals_exit_1(folder: Path) -> None:
    guard = _guard(folder)
    try:
        with pytest.raises(ApprovalPending) as caught:
            guard.agent("bot").call("publish_post", post_id="p1", title="T", body="b")
        ticket = caught.value.ticket
        bob = _key(folder, "bob")
        rejected = _cli(folder, "approvals", "reject", ticket.id, "--comment", "no", key=bob)
        assert rejected.returncode == 0, rejected.stderr
        again = _cli(folder, "approvals", "approve", ticket.id, key=bob)
        assert again.returncode == 1 and "rejected" in again.stderr
        missing = _cli(folder, "approvals", "show", "f" * 32)
        assert missing.returncode == 1
        listed = _cli(folder, "approvals", "list", "--all", "--json").stdout.splitlines()
        assert [json.loads(x)["state"] for x in listed] == ["rejected"]
    finally:
        guard.close()


def test_two_people_approving_at_once_from_two_processes_run_it_once(folder: Path) -> None:
    guard = _guard(folder)
    try:
        with pytest.raises(ApprovalPending) as caught:
            guard.agent("bot").call("publish_post", post_id="p1", title="T", body="b")
        ticket = caught.value.ticket
        keys = [_key(folder, "alice"), _key(folder, "bob")]
        env_base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
        procs = []
        for key in keys:
            env = {**env_base, "AGENTGUARD_POLICY": "policy.yaml",
                   "AGENTGUARD_STORE": "sqlite:///guard.db", "AGENTGUARD_KEY": key}  # fmt: skip
            procs.append(
                subprocess.Popen(
                    [str(AGENTGUARD), "approvals", "approve", ticket.id],
                    cwd=folder,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        codes = sorted(p.wait(120) for p in procs)
        assert codes == [0, 1]  # one approval counts; the second finds it decided
        assert guard.agent("bot").await_approval(ticket, timeout=10) == {"published": "p1"}
        assert _posts(folder / "posts.db") == [("p1", "T")]
    finally:
        guard.close()


AGENT_WORKER = """
import sqlite3
from pathlib import Path

from agentguard import Guard

folder = Path(FOLDER)
guard = Guard.from_file(folder / "policy.yaml", f"sqlite:///{folder / 'guard.db'}")


@guard.tool()
def publish_post(post_id: str, title: str, body: str) -> dict:
    with sqlite3.connect(folder / "posts.db") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS posts (post_id TEXT, title TEXT)")
        conn.execute("INSERT INTO posts VALUES (?, ?)", (post_id, title))
    return {"published": post_id}


START.wait(60)
try:
    RESULTS.put(("ran", guard.agent("bot").call("publish_post", post_id="p1", title="T", body="b")))
except Exception as exc:
    RESULTS.put(("refused", getattr(exc, "code", type(exc).__name__)))
finally:
    guard.close()
"""


def test_two_agent_processes_racing_for_one_approval_run_it_once(folder: Path) -> None:
    guard = _guard(folder)
    try:
        with pytest.raises(ApprovalPending) as caught:
            guard.agent("bot").call("publish_post", post_id="p1", title="T", body="b")
        ticket = caught.value.ticket
        assert (
            _cli(folder, "approvals", "approve", ticket.id, key=_key(folder, "alice")).returncode
            == 0
        )
    finally:
        guard.close()
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    script = folder / "agent_worker.py"
    script.write_text(AGENT_WORKER)
    shared = {"FOLDER": str(folder), "START": start, "RESULTS": results}
    workers = [
        context.Process(
            target=runpy.run_path,
            args=(str(script),),
            kwargs={"init_globals": shared, "run_name": "__agentguard_worker__"},
            daemon=True,
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(60)
    ran = [o for o in outcomes if o[0] == "ran"]
    assert len(ran) == 1, outcomes
    # the others asked too late: the approval was spent, so each asked anew (held)
    assert all(o == ("refused", "approval.review") or o[1] == "approval.used"
               for o in outcomes if o[0] != "ran"), outcomes  # fmt: skip
    assert _posts(folder / "posts.db") == [("p1", "T")]
