"""Shared fixtures: the starter policy, real SQLite files in tmp_path, a manual clock."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import settings
from tests.receivers import Receiver, receivers

from agentguard import Guard
from agentguard.cli import starter_policy_text
from agentguard.clock import ManualClock
from agentguard.policy import LoadedPolicy, parse_policy

# CI (``.ci/run``) draws the same examples on every run, so a red build can be replayed
# exactly (``HYPOTHESIS_PROFILE=ci make test``); other runs draw new examples each time and
# keep the ones that failed, which is how new gaps are found.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def starter_text() -> str:
    return starter_policy_text()


@pytest.fixture
def starter(starter_text: str) -> LoadedPolicy:
    return parse_policy(starter_text, source="policy.yaml")


@pytest.fixture
def policy_file(tmp_path: Path, starter_text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(starter_text, encoding="utf-8")
    return path


@pytest.fixture
def policy(policy_file: Path) -> Path:
    """The starter policy as a file (alias used by the CLI and multi-process tests)."""
    return policy_file


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'agentguard.db'}"


@pytest.fixture
def store_url(db_url: str) -> str:
    """The same file as the CLI's relative ``sqlite:///agentguard.db``, by absolute path."""
    return db_url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def guard(starter: LoadedPolicy, db_url: str, clock: ManualClock) -> Iterator[Guard]:
    """The starter policy on a real SQLite file, with its tools implemented."""
    g = Guard(starter, db_url, clock=clock)
    calls: list[tuple[str, dict[str, Any]]] = []
    g.calls = calls  # type: ignore[attr-defined]

    @g.tool()
    def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
        calls.append(("read_inbox", {"folder": folder}))
        return ["hello"]

    @g.tool()
    def send_email(to: str, subject: str, body: str) -> dict[str, str]:
        calls.append(("send_email", {"to": to, "subject": subject, "body": body}))
        return {"message_id": "msg_1", "status": "sent"}

    @g.tool()
    def delete_email(message_id: str) -> None:
        calls.append(("delete_email", {"message_id": message_id}))

    @g.tool()
    def process_refund(order_id: str, amount: Decimal, card_number: str = "") -> dict[str, str]:
        calls.append(("process_refund", {"order_id": order_id, "amount": amount}))
        return {"refund_id": f"rf_{order_id}", "amount": str(amount)}

    yield g
    g.close()


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / name / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_example() -> Callable[[str], ModuleType]:
    """Imports ``examples/<name>/run.py`` (examples are scripts, not a package)."""
    return _load_example


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variables: a request to 127.0.0.1 must not go anywhere else."""
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver_factory(no_proxy: None) -> Iterator[Callable[[], Receiver]]:
    """Makes real HTTP receivers on 127.0.0.1 (see tests/receivers.py)."""
    with receivers() as make:
        yield make


@pytest.fixture
def receiver(receiver_factory: Callable[[], Receiver]) -> Receiver:
    return receiver_factory()
