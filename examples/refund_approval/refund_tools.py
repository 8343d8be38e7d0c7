"""The payments ledger the financial agent refunds through: real state in a SQLite file
(``$REFUND_LEDGER``, default ``ledger.db``), amounts kept as exact decimal text. The policy
names these functions with ``call:``, so ``agentguard rollback`` can reverse a refund
without the agent's process."""

from __future__ import annotations

import os
import sqlite3
from decimal import Decimal
from pathlib import Path


def ledger_path() -> Path:
    return Path(os.environ.get("REFUND_LEDGER", "ledger.db"))


def _ledger() -> sqlite3.Connection:
    db = sqlite3.connect(ledger_path(), timeout=30)
    db.execute(
        "CREATE TABLE IF NOT EXISTS refunds (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL,"
        " amount TEXT NOT NULL, state TEXT NOT NULL)"
    )
    return db


def process_refund(order_id: str, amount: Decimal) -> dict[str, object]:
    """Refund ``amount`` on ``order_id``."""
    with _ledger() as db:
        cursor = db.execute(
            "INSERT INTO refunds (order_id, amount, state) VALUES (?, ?, 'refunded')",
            (order_id, str(amount)),
        )
    return {"refund_id": cursor.lastrowid, "order_id": order_id, "amount": str(amount)}


def reverse_refund(refund_id: int, amount: Decimal) -> dict[str, object]:
    """Reverse a refund (the compensating action of process_refund)."""
    with _ledger() as db:
        row = db.execute("SELECT amount FROM refunds WHERE id = ?", (refund_id,)).fetchone()
        if row is None or Decimal(row[0]) != amount:
            raise LookupError(f"no refund {refund_id} of that amount")
        db.execute("UPDATE refunds SET state = 'reversed' WHERE id = ?", (refund_id,))
    return {"refund_id": refund_id, "status": "reversed"}


def refunds() -> list[tuple[str, Decimal, str]]:
    """(order, amount, state) of every refund, oldest first."""
    with _ledger() as db:
        rows = db.execute("SELECT order_id, amount, state FROM refunds ORDER BY id")
        return [(order, Decimal(amount), state) for order, amount, state in rows]
