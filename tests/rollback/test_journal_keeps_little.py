"""The journal keeps only the original arguments an undo reads: a sensitive argument the
undo does not need never reaches the store."""

from __future__ import annotations

from pathlib import Path

from agentguard import Guard
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  charge:
    input: {customer: {type: string}, card: {type: string}, amount: {type: number}}
    sensitive: [card]
    undo: {tool: refund, args: {charge_id: result.id, amount: args.amount}}
  refund: {input: {charge_id: {type: string}, amount: {type: number}}}
  tag:
    input: {post: {type: string}, token: {type: string}}
    sensitive: [token]
    undo: untag
  untag: {input: {post: {type: string}}}
roles:
  all: {allow: [charge, tag]}
agents:
  bot: {roles: [all]}
"""
CARD, TOKEN = "4000056655665556", "tok_live_9f8e7d6c5b4a39281706"


def test_only_what_the_undo_reads_is_journaled(tmp_path: Path) -> None:
    guard = Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'g.db'}")
    undone: list[tuple[str, object]] = []

    @guard.tool()
    def charge(customer: str, card: str, amount: float) -> dict[str, str]:
        return {"id": "ch_1"}

    @guard.tool()
    def refund(charge_id: str, amount: float) -> None:
        undone.append(("refund", (charge_id, amount)))

    @guard.tool()
    def tag(post: str, token: str) -> None:
        return None

    @guard.tool()
    def untag(post: str) -> None:
        undone.append(("untag", post))

    bot = guard.agent("bot", session="s")
    bot.call("charge", customer="c1", card=CARD, amount=12.5)
    bot.call("tag", post="p1", token=TOKEN)
    entries = guard.store.journal_list()
    assert [dict(e.args) for e in entries] == [{"amount": 12.5}, {"post": "p1"}]
    report = guard.rollback(session="s")
    assert report.ok and undone == [("untag", "p1"), ("refund", ("ch_1", 12.5))]
    guard.close()
    for path in tmp_path.glob("g.db*"):
        data = path.read_bytes()
        assert CARD.encode() not in data and TOKEN.encode() not in data, path


def test_a_result_is_not_kept_when_the_unregistered_undo_does_not_read_it(
    tmp_path: Path,
) -> None:
    policy = (
        POLICY.replace("  refund: {input:", "  refund_x: {input:").replace(
            "undo: {tool: refund, args: {charge_id: result.id, amount: args.amount}}",
            "undo: refund_by_customer",
        )
        + "\n"
    )
    policy = policy.replace(
        "  tag:\n", "  refund_by_customer: {input: {customer: {type: string}}}\n  tag:\n"
    )
    guard = Guard(parse_policy(policy), f"sqlite:///{tmp_path / 'g.db'}")

    @guard.tool()
    def charge(customer: str, card: str, amount: float) -> dict[str, str]:
        return {"id": "ch_1", "note": f"charged {CARD}"}

    guard.agent("bot").call("charge", customer="c1", card=CARD, amount=1.0)
    [entry] = guard.store.journal_list()
    assert entry.result is None and dict(entry.args) == {"customer": "c1"}
    guard.close()
    for path in tmp_path.glob("g.db*"):
        assert CARD.encode() not in path.read_bytes(), path
