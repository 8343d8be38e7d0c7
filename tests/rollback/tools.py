"""Tools with real state, for the rollback tests: every tool takes ``db``, the path of a
SQLite file holding posts, refunds, charges, prices and an outbox, and changes it for real.
The policy in ``conftest.py`` names them with ``call: tests.rollback.tools:<name>``, so
the ``agentguard`` command in a subprocess runs these same functions.

Each undo also appends a row to ``undo_log``: how many times a thing was undone is a fact
in the file, whichever process undid it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL, amount TEXT NOT NULL, reversed TEXT
);
CREATE TABLE IF NOT EXISTS charges (
    order_id TEXT PRIMARY KEY, amount TEXT NOT NULL, card TEXT NOT NULL, refunded INTEGER
);
CREATE TABLE IF NOT EXISTS closed_cards (card TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS prices (sku TEXT PRIMARY KEY, price TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT);
CREATE TABLE IF NOT EXISTS undo_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tool TEXT NOT NULL, target TEXT NOT NULL
);
"""


@contextlib.contextmanager
def connect(db: str) -> Iterator[sqlite3.Connection]:
    """The state file, with its tables (autocommit: each statement is committed)."""
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        conn.executescript(SCHEMA)
        yield conn
    finally:
        conn.close()


def _log(conn: sqlite3.Connection, tool: str, target: str) -> None:
    conn.execute("INSERT INTO undo_log (tool, target) VALUES (?, ?)", (tool, target))


# posts: create/delete (undo shorthand with result=), publish/unpublish (shorthand)


def create_post(db: str, post_id: str, title: str) -> dict[str, str]:
    with connect(db) as conn:
        conn.execute("INSERT INTO posts (id, title) VALUES (?, ?)", (post_id, title))
    return {"post_id": post_id}


def delete_post(db: str, post_id: str, title: str, result: dict[str, str]) -> None:
    with connect(db) as conn:
        gone = conn.execute("DELETE FROM posts WHERE id = ?", (result["post_id"],)).rowcount
        if gone != 1:
            raise LookupError("no such post")
        _log(conn, "delete_post", result["post_id"])


def publish_post(db: str, post_id: str) -> None:
    with connect(db) as conn:
        conn.execute("UPDATE posts SET published = 1 WHERE id = ?", (post_id,))


def unpublish_post(db: str, post_id: str) -> None:
    with connect(db) as conn:
        (locked,) = conn.execute("SELECT locked FROM posts WHERE id = ?", (post_id,)).fetchone()
        if locked:
            raise PermissionError("the post is locked by an editor")
        conn.execute("UPDATE posts SET published = 0 WHERE id = ?", (post_id,))
        _log(conn, "unpublish_post", post_id)


# refunds: undo with an args mapping (refund_id from the result, the exact amount)


def process_refund(db: str, order_id: str, amount: Decimal) -> dict[str, str]:
    refund_id = f"rf_{order_id}"
    with connect(db) as conn:
        conn.execute(
            "INSERT INTO refunds (id, order_id, amount) VALUES (?, ?, ?)",
            (refund_id, order_id, str(amount)),
        )
    return {"refund_id": refund_id, "status": "refunded"}


def reverse_refund(db: str, refund_id: str, amount: Decimal) -> None:
    if type(amount) is not Decimal:
        raise TypeError("amount must be a Decimal")
    with connect(db) as conn:
        changed = conn.execute(
            "UPDATE refunds SET reversed = ? WHERE id = ? AND reversed IS NULL",
            (str(amount), refund_id),
        ).rowcount
        if changed != 1:
            raise LookupError("no such refund to reverse")
        _log(conn, "reverse_refund", refund_id)


# charges: the undo fails on a closed card, with the card number in its message


def charge_card(db: str, order_id: str, amount: Decimal, card_number: str) -> dict[str, str]:
    with connect(db) as conn:
        conn.execute(
            "INSERT INTO charges (order_id, amount, card) VALUES (?, ?, ?)",
            (order_id, str(amount), card_number),
        )
    return {"charge": f"ch_{order_id}"}


def refund_charge(db: str, order_id: str, amount: Decimal, card_number: str) -> None:
    with connect(db) as conn:
        closed = conn.execute("SELECT 1 FROM closed_cards WHERE card = ?", (card_number,))
        if closed.fetchone():
            raise ValueError(f"card {card_number} is closed; refund {amount} by cheque")
        conn.execute("UPDATE charges SET refunded = 1 WHERE order_id = ?", (order_id,))
        _log(conn, "refund_charge", order_id)


# prices: snapshot / restore


def set_price(db: str, sku: str, price: Decimal) -> None:
    with connect(db) as conn:
        conn.execute(
            "INSERT INTO prices (sku, price) VALUES (?, ?) "
            "ON CONFLICT (sku) DO UPDATE SET price = excluded.price",
            (sku, str(price)),
        )


def price_snapshot(db: str, sku: str, **_: Any) -> dict[str, Any]:
    with connect(db) as conn:
        row = conn.execute("SELECT price FROM prices WHERE sku = ?", (sku,)).fetchone()
    return {"price": None if row is None else Decimal(row[0])}


def restore_price(db: str, sku: str, price: Decimal, snapshot: dict[str, Any]) -> None:
    with connect(db) as conn:
        if snapshot["price"] is None:
            conn.execute("DELETE FROM prices WHERE sku = ?", (sku,))
        else:
            conn.execute("UPDATE prices SET price = ? WHERE sku = ?", (str(snapshot["price"]), sku))
        _log(conn, "restore_price", sku)


# labels: an async undo


def add_label(db: str, post_id: str, label: str) -> None:
    with connect(db) as conn:
        conn.execute("UPDATE posts SET title = title || ? WHERE id = ?", (f" [{label}]", post_id))


async def remove_label(db: str, post_id: str, label: str) -> None:
    await asyncio.sleep(0)
    with connect(db) as conn:
        conn.execute(
            "UPDATE posts SET title = replace(title, ?, '') WHERE id = ?", (f" [{label}]", post_id)
        )
        _log(conn, "remove_label", post_id)


# irreversible, and no undo at all


def send_email(db: str, to: str, body: str) -> None:
    with connect(db) as conn:
        conn.execute("INSERT INTO outbox (recipient) VALUES (?)", (to,))


def count_posts(db: str) -> int:
    with connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM posts").fetchone()[0])
