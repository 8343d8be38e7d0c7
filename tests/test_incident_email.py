"""The email incident end to end (examples/email_leak): customer B never receives customer
A's data, the audit log says why, and none of A's sensitive values is stored in clear."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "email_leak" / "run.py"


@pytest.fixture(scope="module")
def example(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("email_leak")


def test_reply_to_b_carrying_a_thread_is_blocked_before_it_is_sent(
    example: ModuleType, tmp_path: Path
) -> None:
    db = tmp_path / "agentguard.db"
    outcome = example.run(f"sqlite:///{db}", say=lambda _: None)

    # the leaking draft never reached the outbox; the two proper replies did
    assert outcome.refused == [("bob@okafor-retail.co.uk", "leaks.other_owner")]
    assert [m["to"] for m in outcome.sent] == [
        "bob@okafor-retail.co.uk",
        "alice.moreau@moreau-logistics.fr",
    ]
    assert all("Leeds" not in m["body"] for m in outcome.sent if m["to"].startswith("bob"))

    rows = sqlite3.connect(db).execute("SELECT body FROM audit ORDER BY seq").fetchall()
    records = [json.loads(body) for (body,) in rows]
    [blocked] = [r for r in records if r["decision"] == "deny"]
    assert blocked["action"] == "send_email" and blocked["status"] == "denied"
    [why] = [r for r in blocked["reasons"] if r["layer"] == "leaks"]
    assert why["code"] == "leaks.other_owner"
    assert "'cust_A'" in why["message"] and "blocked before it was sent" in why["message"]
    # the blocked record keeps the rest of the draft but none of A's data
    assert "order 88412" in blocked["input"]["body"]
    for value in example.SENSITIVE:
        assert value not in json.dumps(blocked)


def test_a_phone_number_and_address_never_reach_the_database_in_clear(
    example: ModuleType, tmp_path: Path
) -> None:
    db = tmp_path / "agentguard.db"
    example.run(f"sqlite:///{db}", say=lambda _: None)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(db.name))
    for value in ("+1 312 847 2290", "alice.moreau@moreau-logistics.fr"):
        assert value.encode() not in raw
    # a non-sensitive part of the same records is there: the check can fail
    assert b"order 88412" in raw


def test_the_same_leak_with_redact_sends_the_reply_without_a_data(
    example: ModuleType, tmp_path: Path
) -> None:
    policy = (EXAMPLE.parent / "policy.yaml").read_text(encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(
        re.sub(r"action: block +# or redact.*", "action: redact", policy),
        encoding="utf-8",
    )
    example.HERE = tmp_path
    try:
        outcome = example.run(f"sqlite:///{tmp_path / 'ag.db'}", say=lambda _: None)
    finally:
        example.HERE = EXAMPLE.parent
    assert outcome.refused == []
    first = outcome.sent[0]
    assert first["to"] == "bob@okafor-retail.co.uk"
    assert "[WITHHELD: another owner's data]" in first["body"]
    assert "Leeds" not in first["body"] and "847 2290" not in first["body"]
    assert first["body"].startswith("Hi Bob, sorry about order 88412")
