"""The financial example end to end (examples/refund_approval): a $120 refund runs at once;
an $800 refund waits for a person, runs exactly once when approved, and
``agentguard rollback --action`` reverses it through the ledger's own SQLite state."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agentguard.control import issue_key
from agentguard.store import open_store

AGENTGUARD = Path(sys.executable).parent / "agentguard"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "refund_approval"


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update(
        {
            "AGENTGUARD_POLICY": str(EXAMPLE / "policy.yaml"),
            "AGENTGUARD_STORE": f"sqlite:///{folder / 'agentguard.db'}",
            "REFUND_LEDGER": str(folder / "ledger.db"),
            "PYTHONPATH": str(EXAMPLE),  # the policy's call: entries name refund_tools
            "NO_COLOR": "1",
        }
    )
    return subprocess.run(
        [str(AGENTGUARD), *args], cwd=folder, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=120,
    )  # fmt: skip


def _records(db: Path) -> list[dict[str, Any]]:
    rows = sqlite3.connect(db).execute("SELECT body FROM audit ORDER BY seq")
    return [json.loads(body) for (body,) in rows]


def test_a_large_refund_waits_runs_once_when_approved_and_is_reversed(
    load_example: Callable[[str], ModuleType], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = load_example("refund_approval")
    monkeypatch.setenv("REFUND_LEDGER", str(tmp_path / "ledger.db"))
    import refund_tools as ledger

    db = tmp_path / "agentguard.db"
    store = open_store(f"sqlite:///{db}")
    key, _ = issue_key(store, "maria", expires_in=None, tools=None, kind="approver")
    store.close()

    outcome = example.run(f"sqlite:///{db}", key, say=lambda _: None)
    assert outcome["approved"]
    assert ledger.refunds() == [
        ("A-1001", Decimal("120"), "refunded"),
        ("A-1002", Decimal("800"), "refunded"),  # once
    ]
    records = _records(db)
    refunds = [r for r in records if r["action"] == "process_refund"]
    assert [r["status"] for r in refunds] == ["executed", "held", "executed"]
    held_codes = [reason["code"] for reason in refunds[1]["reasons"]]
    assert "approval.required" in held_codes and "approval.requested" in held_codes
    large = refunds[2]
    assert "approval.granted" in [reason["code"] for reason in large["reasons"]]
    [approved] = [r for r in records if r["action"] == "agentguard.approval.approved"]
    assert approved["metadata"]["by"] == "maria"

    dry = _cli(tmp_path, "rollback", "--action", large["id"], "--dry-run")
    assert dry.returncode == 0 and "reverse_refund" in dry.stdout, dry.stdout + dry.stderr
    done = _cli(tmp_path, "rollback", "--action", large["id"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert ledger.refunds() == [
        ("A-1001", Decimal("120"), "refunded"),
        ("A-1002", Decimal("800"), "reversed"),
    ]
    again = _cli(tmp_path, "rollback", "--action", large["id"])  # idempotent
    assert again.returncode == 0 and ledger.refunds()[1][2] == "reversed"
    [undo] = [r for r in _records(db) if r["action"] == "agentguard.rollback.undo"]
    assert undo["status"] == "undone" and undo["metadata"]["undo_tool"] == "reverse_refund"
    verified = _cli(tmp_path, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
