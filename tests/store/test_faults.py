"""Fault injection on the real SQLite store: made read-only, deleted, replaced, or out of
disk space while a guard uses it. In every case no tool runs, every call raises
StoreUnavailable, and the kill switch says so too; nothing is allowed by accident.

Read-only uses ``chattr +i`` when running as root (root ignores file modes) and file modes
otherwise; the full disk is a real 1 MiB tmpfs, which needs the right to mount: where that
is refused the test is skipped and says why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard import Guard, StoreUnavailable
from agentguard.policy import LoadedPolicy
from agentguard.store import open_store
from agentguard.store.base import Kill, KillScope
from agentguard.store.sqlite import SQLiteStore


class Refunds:
    """The starter policy's refund tool, counting how often it really ran."""

    def __init__(self, guard: Guard) -> None:
        self.ran = 0

        @guard.tool()
        def process_refund(order_id: str, amount: Decimal, card_number: str = "") -> dict[str, Any]:
            self.ran += 1
            return {"refund_id": f"rf_{order_id}"}

    @staticmethod
    def call(guard: Guard) -> Any:
        return guard.agent("financial_agent").call(
            "process_refund", order_id="o1", amount=Decimal("12")
        )


AGENTGUARD = Path(sys.executable).with_name("agentguard")


def cli_kill(path: Path) -> subprocess.CompletedProcess[str]:
    """``agentguard kill --all`` from another process, against the same store file."""
    return subprocess.run(
        [str(AGENTGUARD), "kill", "--all", "--reason", "incident", "--store", f"sqlite:///{path}"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=path.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")},
    )


def assert_refused(guard: Guard, refunds: Refunds, path: Path | None, calls: int = 3) -> None:
    """No call runs its tool, the kill switch refuses, and (given the path) so does the CLI."""
    for _ in range(calls):
        with pytest.raises(StoreUnavailable):
            refunds.call(guard)
    assert refunds.ran == 0
    with pytest.raises(StoreUnavailable):
        guard.kill(everything=True, reason="incident")
    if path is None:
        return
    done = cli_kill(path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert str(path.name) in done.stderr


@pytest.fixture
def guarded(tmp_path: Path, starter: LoadedPolicy) -> Iterator[tuple[Guard, Refunds, Path]]:
    path = tmp_path / "ag.db"
    guard = Guard(starter, f"sqlite:///{path}")
    refunds = Refunds(guard)
    refunds.call(guard)  # the store works, and the WAL exists
    refunds.ran = 0
    yield guard, refunds, path
    guard.close()


def _chattr(flag: str, *paths: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    result = subprocess.run([chattr, flag, *map(str, paths)], capture_output=True, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    if os.geteuid() == 0:
        if not _chattr("+i", *paths):
            pytest.skip("running as root, and chattr +i is refused on this file system")
        try:
            yield
        finally:
            _chattr("-i", *paths)
    else:
        modes = [p.stat().st_mode for p in paths]
        for p in paths:
            p.chmod(0o444)
        try:
            yield
        finally:
            for p, mode in zip(paths, modes, strict=True):
                p.chmod(mode)


def test_a_read_only_store_runs_no_tool(guarded: tuple[Guard, Refunds, Path]) -> None:
    guard, refunds, path = guarded
    # the database and its WAL; not the -shm file, which SQLite maps into memory (a write
    # to an immutable mapping is a SIGBUS that would end the whole process)
    files = [p for p in (path, path.with_name("ag.db-wal")) if p.exists()]
    with read_only(*files):
        assert_refused(guard, refunds, path)
    refunds.call(guard)  # writable again: back to work, nothing lost
    assert refunds.ran == 1
    assert guard.verify_audit().ok


def test_a_deleted_store_runs_no_tool(guarded: tuple[Guard, Refunds, Path]) -> None:
    guard, refunds, path = guarded
    for p in path.parent.glob("ag.db*"):
        p.unlink()
    assert_refused(guard, refunds, path)
    assert not path.exists(), "the guard must not recreate the store behind the operator's back"


def test_a_replaced_store_runs_no_tool(
    guarded: tuple[Guard, Refunds, Path], tmp_path: Path
) -> None:
    guard, refunds, path = guarded
    other = tmp_path / "other" / "ag.db"
    other.parent.mkdir()
    SQLiteStore(other).close()
    for p in path.parent.glob("ag.db-*"):
        p.unlink()
    os.replace(other, path)
    # the CLI on the new file works on the new file: that is right, and this guard still
    # refuses everything
    assert_refused(guard, refunds, None)


def test_a_reservation_without_a_record_names_the_interrupted_action(
    tmp_path: Path, starter: LoadedPolicy
) -> None:
    # The process dies while the tool runs: the reservation written before it ran stays.
    path = tmp_path / "ag.db"
    with Guard(starter, f"sqlite:///{path}") as guard:

        @guard.tool()
        def process_refund(order_id: str, amount: Decimal, card_number: str = "") -> None:
            raise SystemExit("the process is going down")

        with pytest.raises(SystemExit):
            Refunds.call(guard)
        assert guard.store.interrupted() == []  # the failure itself was recorded
        assert guard.store.count() == 1
    store = SQLiteStore(path)
    try:
        store.reserve("a-1", 100, store_now(), agent="financial_agent", tool="process_refund")
        (found,) = store.interrupted()
        assert found[0] == "a-1" and found[2:] == ("financial_agent", "process_refund")
    finally:
        store.close()


def store_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("mounting a small tmpfs is not permitted here (needs CAP_SYS_ADMIN)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def test_a_full_disk_runs_no_tool(small_disk: Path, starter: LoadedPolicy) -> None:
    path = small_disk / "ag.db"
    guard = Guard(starter, f"sqlite:///{path}")
    try:
        refunds = Refunds(guard)
        refunds.call(guard)
        refunds.ran = 0
        # fill the rest of the disk
        with contextlib.suppress(OSError), (small_disk / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        big = "a description that takes room " * 200
        refused = 0
        for _ in range(50):
            try:
                guard.agent("financial_agent").invoke(
                    "process_refund",
                    {"order_id": "o2", "amount": Decimal("1")},
                    metadata={"note": big},
                )
            except StoreUnavailable:
                refused += 1
        # Every call either ran with its record committed, or ran nothing at all.
        assert refunds.ran + refused == 50
        assert refused > 0
        assert refunds.ran == guard.store.count() - 1 - refused_records(guard)
        assert guard.store.interrupted() == []
    finally:
        guard.close()


def refused_records(guard: Guard) -> int:
    from agentguard.store.base import AuditQuery

    return sum(1 for r in guard.store.search(AuditQuery()) if r.data["status"] != "executed")


def test_an_unexpected_error_inside_a_write_releases_the_lock(tmp_path: Path) -> None:
    """A bug (or Ctrl-C) in the middle of a transaction must not keep SQLite's write lock:
    every other process on the file would block behind it."""
    url = f"sqlite:///{tmp_path / 'ag.db'}"
    store = open_store(url)
    assert isinstance(store, SQLiteStore)

    def broken(db: Any) -> None:
        db.execute("INSERT INTO meta (name, value) VALUES ('x', 'y')")
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            store._write(broken)
        other = open_store(url)
        try:  # another connection can write at once: the lock was released
            other.set_kill(Kill(KillScope.ALL, "*", "test", datetime.now(UTC), None))
        finally:
            other.close()
        assert store.find_kill("a", "t") is not None
    finally:
        store.close()
