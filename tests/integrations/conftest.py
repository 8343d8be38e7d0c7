"""Fixtures for the framework adapters: no network at all, a fresh store with an approver
key, and the audit log read back as JSON bodies."""

from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agentguard.control import issue_key
from agentguard.store import open_store


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The models are scripted and tracing is off: any connection attempt is a bug."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError("the framework adapters' tests must not reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.delenv("LANGSMITH_TRACING", raising=False)
    monkeypatch.delenv("LANGCHAIN_TRACING_V2", raising=False)


@pytest.fixture
def approver_key(db_url: str) -> str:
    """A key for the person ``alice`` (the examples' policies let her approve refunds)."""
    store = open_store(db_url)
    try:
        key, _ = issue_key(store, "alice", expires_in=None, tools=None, kind="approver")
    finally:
        store.close()
    return key


@pytest.fixture
def audit_bodies(tmp_path: Path) -> Any:
    """Reads the audit records of ``tmp_path/agentguard.db`` (the ``db_url`` file)."""

    def read() -> list[dict[str, Any]]:
        with sqlite3.connect(tmp_path / "agentguard.db") as conn:
            rows = conn.execute("SELECT body FROM audit ORDER BY seq").fetchall()
        return [json.loads(body) for (body,) in rows]

    return read
