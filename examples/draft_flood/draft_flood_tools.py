"""The blog the content agent publishes to: real state in a SQLite file, so that what was
published and what a rollback unpublished can be checked afterwards.

The file is ``$DRAFT_FLOOD_BLOG`` (default ``blog.db`` in the current folder). The policy
names these functions with ``call:``, so ``agentguard rollback`` can run
``unpublish_post`` without the agent's process.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def blog_path() -> Path:
    return Path(os.environ.get("DRAFT_FLOOD_BLOG", "blog.db"))


def _blog() -> sqlite3.Connection:
    db = sqlite3.connect(blog_path(), timeout=30)
    db.execute(
        "CREATE TABLE IF NOT EXISTS posts ("
        " id INTEGER PRIMARY KEY, text TEXT NOT NULL, state TEXT NOT NULL)"
    )
    return db


def save_draft(text: str) -> dict[str, object]:
    """Save a draft (not public)."""
    with _blog() as db:
        cursor = db.execute("INSERT INTO posts (text, state) VALUES (?, 'draft')", (text,))
    return {"post_id": cursor.lastrowid, "status": "saved"}


def publish_post(text: str) -> dict[str, object]:
    """Publish a post on the blog."""
    with _blog() as db:
        cursor = db.execute("INSERT INTO posts (text, state) VALUES (?, 'published')", (text,))
    return {"post_id": cursor.lastrowid, "status": "published"}


def unpublish_post(post_id: int) -> dict[str, object]:
    """Take a published post down (undoing publish_post); taking it down twice is harmless."""
    with _blog() as db:
        db.execute("UPDATE posts SET state = 'unpublished' WHERE id = ?", (post_id,))
    return {"post_id": post_id, "status": "unpublished"}


def published() -> list[str]:
    """The texts now public, oldest first."""
    with _blog() as db:
        rows = db.execute("SELECT text FROM posts WHERE state = 'published' ORDER BY id")
        return [text for (text,) in rows]
