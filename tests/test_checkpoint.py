"""Signed checkpoints (``checkpoint``, ``checkpointer``): keys, signatures, sinks, the
guard's checkpointer, and verification of a real SQLite log against them (truncation that
the hash chain alone cannot see)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentguard.audit import AuditEntry
from agentguard.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    generate_key,
    key_id,
    load_public_key,
    log_identity,
    public_pem,
    verify_checkpoints,
)
from agentguard.checkpointer import Checkpointer, FileSink, WebhookSink, open_sink
from agentguard.clock import ManualClock
from agentguard.policy import parse_policy
from agentguard.store import AuditQuery, SQLiteStore


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.key"
    generate_key(path)
    return path


@pytest.fixture
def signer(key_file: Path) -> Signer:
    return Signer.from_file(key_file)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    db = SQLiteStore(tmp_path / "agentguard.db")
    yield db
    db.close()


def _append(store: SQLiteStore, clock: ManualClock, tool: str = "read_inbox") -> tuple[int, str]:
    record = store.append(
        AuditEntry(
            timestamp=clock.now(),
            kind="action",
            agent_id="email_agent",
            action=tool,
            decision="allow",
            status="executed",
        )
    )
    return record.seq, record.hash


def _sql(store: SQLiteStore, *statements: str) -> None:
    db = sqlite3.connect(store.path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _verify(store: SQLiteStore, lines: list[str], signer: Signer) -> tuple[bool, list[str]]:
    report = verify_checkpoints(lines, store.search(AuditQuery()), signer.public_key)
    return report.ok, list(report.problems)


# ------------------------------------------------------------------------------- keys


def test_a_new_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    public = generate_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_id(Signer.from_file(path).public_key) == key_id(public)
    with pytest.raises(CheckpointError, match="never overwritten"):
        generate_key(path)


def test_a_key_file_others_can_read_is_refused(key_file: Path) -> None:
    key_file.chmod(0o640)
    with pytest.raises(CheckpointError, match="chmod 600"):
        Signer.from_file(key_file)


@pytest.mark.parametrize("content", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nxx\n"])
def test_a_file_that_is_no_ed25519_key_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(CheckpointError, match="Ed25519"):
        Signer.from_file(path)


def test_a_missing_key_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="audit keygen"):
        Signer.from_file(tmp_path / "nope.key")


def test_the_public_key_loads_from_pem_or_from_the_private_key(
    signer: Signer, key_file: Path, tmp_path: Path
) -> None:
    pem = tmp_path / "audit.pub"
    pem.write_text(public_pem(signer.public_key), encoding="ascii")
    assert key_id(load_public_key(pem)) == signer.key_id
    assert key_id(load_public_key(key_file)) == signer.key_id


# ------------------------------------------------------------------------- signatures


def test_a_checkpoint_round_trips_and_its_signature_holds(signer: Signer) -> None:
    clock = ManualClock()
    checkpoint = signer.sign(log="a" * 64, seq=7, hash="b" * 64, time=clock.now())
    again = Checkpoint.from_json(checkpoint.to_json())
    assert again == checkpoint
    assert again.signed_by(signer.public_key)
    assert again.time == "2026-01-01T00:00:00.000000Z"


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 6},
        {"hash": "c" * 64},
        {"log": "d" * 64},
        {"time": "2027-01-01T00:00:00.000000Z"},
        {"sig": "AAAA"},
        {"sig": "not base64!"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_change_to_a_checkpoint_breaks_its_signature(
    signer: Signer, change: dict[str, object]
) -> None:
    checkpoint = signer.sign(log="a" * 64, seq=7, hash="b" * 64, time=ManualClock().now())
    document = {**json.loads(checkpoint.to_json()), **change}
    assert not Checkpoint.from_json(json.dumps(document)).signed_by(signer.public_key)


def test_another_keys_signature_does_not_hold(signer: Signer, tmp_path: Path) -> None:
    other = Signer.from_file(_new_key(tmp_path / "other.key"))
    checkpoint = other.sign(log="a" * 64, seq=1, hash="b" * 64, time=ManualClock().now())
    assert not checkpoint.signed_by(signer.public_key)


def _new_key(path: Path) -> Path:
    generate_key(path)
    return path


@pytest.mark.parametrize(
    "line", ["", "[]", "{}", '{"v": 2}', '{"v": 1, "seq": 0}', '{"v": 1, "seq": "1"}', "{"]
)
def test_a_malformed_checkpoint_line_is_refused(line: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.from_json(line)


def test_an_empty_log_cannot_be_checkpointed(signer: Signer) -> None:
    with pytest.raises(CheckpointError, match="empty"):
        signer.sign(log="", seq=0, hash="0" * 64, time=ManualClock().now())


# ------------------------------------------------------------------- the checkpointer


def test_a_checkpoint_is_written_every_n_records(
    signer: Signer, store: SQLiteStore, tmp_path: Path
) -> None:
    clock = ManualClock()
    out = tmp_path / "cp.jsonl"
    checkpointer = Checkpointer(signer, FileSink(out), store, every=3, clock=clock)
    written = [checkpointer.after_append(*_append(store, clock)) for _ in range(7)]
    assert [c.seq if c else None for c in written] == [None, None, 3, None, None, 6, None]
    assert [Checkpoint.from_json(line).seq for line in _lines(out)] == [3, 6]
    assert checkpointer.written == 2 and checkpointer.failures == 0
    assert _verify(store, _lines(out), signer) == (True, [])
    # On shutdown the last record gets its checkpoint; then there is nothing left to cover.
    last = checkpointer.flush()
    assert last is not None and last.seq == 7
    assert checkpointer.flush() is None
    assert Checkpoint.from_json(_lines(out)[-1]).log == log_identity(store)


def test_a_checkpoint_is_written_at_the_first_record_after_the_interval(
    signer: Signer, store: SQLiteStore, tmp_path: Path
) -> None:
    clock = ManualClock()
    out = tmp_path / "cp.jsonl"
    checkpointer = Checkpointer(
        signer, FileSink(out), store, interval=timedelta(seconds=60), clock=clock
    )
    assert checkpointer.after_append(*_append(store, clock)) is None
    clock.advance(59)
    assert checkpointer.after_append(*_append(store, clock)) is None
    clock.advance(1)
    third = checkpointer.after_append(*_append(store, clock))
    assert third is not None and third.seq == 3
    assert checkpointer.after_append(*_append(store, clock)) is None
    assert [Checkpoint.from_json(line).seq for line in _lines(out)] == [3]


def test_a_failing_sink_is_reported_but_never_raises_into_the_append(
    signer: Signer, store: SQLiteStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    out = tmp_path / "later" / "cp.jsonl"  # its folder does not exist yet
    checkpointer = Checkpointer(signer, FileSink(out), store, every=2, clock=clock)
    with caplog.at_level(logging.WARNING, logger="agentguard.checkpoint"):
        results = [checkpointer.after_append(*_append(store, clock)) for _ in range(2)]
    assert results == [None, None]
    assert checkpointer.failures == 1
    assert "checkpoint of record 2 not written" in caplog.text
    with pytest.raises(CheckpointError, match="cannot append"):
        checkpointer.check()
    checkpointer.check()  # reported once
    assert store.count() == 2 and store.verify().ok  # no record lost
    # Once the sink works again, the next checkpoint covers what the failed one would have.
    out.parent.mkdir()
    results = [checkpointer.after_append(*_append(store, clock)) for _ in range(2)]
    assert results[1] is not None and results[1].seq == 4
    assert _verify(store, _lines(out), signer) == (True, [])


def test_flush_raises_when_its_checkpoint_cannot_be_written(
    signer: Signer, store: SQLiteStore, tmp_path: Path
) -> None:
    clock = ManualClock()
    checkpointer = Checkpointer(
        signer, FileSink(tmp_path / "missing" / "cp.jsonl"), store, every=100, clock=clock
    )
    checkpointer.after_append(*_append(store, clock))
    with pytest.raises(CheckpointError):
        checkpointer.flush()


def test_a_checkpointer_needs_to_know_when(signer: Signer, store: SQLiteStore) -> None:
    sink = FileSink(Path("unused"))
    with pytest.raises(ValueError, match="every, interval"):
        Checkpointer(signer, sink, store)
    with pytest.raises(ValueError):
        Checkpointer(signer, sink, store, every=0)


def test_a_checkpointer_is_built_from_the_policy_settings(
    signer: Signer, store: SQLiteStore, tmp_path: Path, starter_text: str
) -> None:
    text = starter_text + (
        "\naudit_checkpoints:\n  every: 2\n  interval: 10m\n  key: audit.key\n  to: cp.jsonl\n"
    )
    settings = parse_policy(text, source="policy.yaml").model.audit_checkpoints
    assert settings is not None
    checkpointer = Checkpointer.from_settings(settings, store, base=tmp_path, clock=ManualClock())
    assert checkpointer.signer.key_id == signer.key_id
    clock = ManualClock()
    for _ in range(2):
        checkpointer.after_append(*_append(store, clock))
    assert [Checkpoint.from_json(line).seq for line in _lines(tmp_path / "cp.jsonl")] == [2]


def test_policy_checkpoint_settings_must_say_when(starter_text: str) -> None:
    from agentguard.errors import PolicyError

    with pytest.raises(PolicyError, match="every, interval"):
        parse_policy(
            starter_text + "\naudit_checkpoints:\n  key: k\n  to: cp.jsonl\n", source="p.yaml"
        )


# --------------------------------------------------------------------------- webhook


class _Receiver(BaseHTTPRequestHandler):
    status = 204
    received: list[dict[str, object]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.append(  # type: ignore[attr-defined]
            {
                "type": self.headers["Content-Type"],
                "body": json.loads(self.rfile.read(length)),
                "path": self.path,
            }
        )
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        if self.server.status in (301, 302, 307):  # type: ignore[attr-defined]
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    """An HTTP server on loopback that records what is POSTed to it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    server.status = 204  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _url(server: ThreadingHTTPServer, path: str = "/checkpoints?token=s3cret") -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{path}"


def test_the_webhook_sink_posts_each_checkpoint_as_json(
    signer: Signer, store: SQLiteStore, receiver: ThreadingHTTPServer
) -> None:
    clock = ManualClock()
    checkpointer = Checkpointer(signer, open_sink(_url(receiver)), store, every=2, clock=clock)
    for _ in range(4):
        checkpointer.after_append(*_append(store, clock))
    received = receiver.received  # type: ignore[attr-defined]
    assert [r["body"]["seq"] for r in received] == [2, 4]
    assert received[0]["type"] == "application/json"
    lines = [json.dumps(r["body"]) for r in received]
    assert _verify(store, lines, signer) == (True, [])


@pytest.mark.parametrize("status", [500, 302])
def test_a_webhook_that_refuses_is_a_reported_failure(
    signer: Signer, store: SQLiteStore, receiver: ThreadingHTTPServer, status: int
) -> None:
    receiver.status = status  # type: ignore[attr-defined]
    clock = ManualClock()
    sink = open_sink(_url(receiver))
    checkpointer = Checkpointer(signer, sink, store, every=1, clock=clock)
    assert checkpointer.after_append(*_append(store, clock)) is None
    with pytest.raises(CheckpointError, match=f"HTTP {status}") as failure:
        checkpointer.check()
    assert "s3cret" not in failure.value.message  # the URL's query is never echoed
    assert len(receiver.received) == 1  # type: ignore[attr-defined]  # a redirect is not followed


def test_an_unreachable_webhook_is_a_reported_failure(
    signer: Signer, store: SQLiteStore, receiver: ThreadingHTTPServer
) -> None:
    url = _url(receiver)
    receiver.shutdown()
    receiver.server_close()
    with pytest.raises(CheckpointError, match="cannot POST"):
        WebhookSink(url, timeout=2).write(
            signer.sign(log="a" * 64, seq=1, hash="b" * 64, time=ManualClock().now())
        )


@pytest.mark.parametrize("target", ["ftp://example.com/cp", "file:///tmp/cp.jsonl"])
def test_only_files_and_http_urls_take_checkpoints(target: str) -> None:
    with pytest.raises(CheckpointError, match="http"):
        open_sink(target)


def test_a_folder_takes_no_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="folder"):
        open_sink(str(tmp_path))


# ---------------------------------------------------------------------- verification


@pytest.fixture
def checkpointed(signer: Signer, store: SQLiteStore, tmp_path: Path) -> list[str]:
    """Six records and checkpoints of records 3 and 6."""
    clock = ManualClock()
    checkpointer = Checkpointer(
        signer, FileSink(tmp_path / "cp.jsonl"), store, every=3, clock=clock
    )
    for _ in range(6):
        checkpointer.after_append(*_append(store, clock))
    return _lines(tmp_path / "cp.jsonl")


def test_an_intact_log_reaches_its_checkpoints(
    signer: Signer, store: SQLiteStore, checkpointed: list[str]
) -> None:
    report = verify_checkpoints(checkpointed, store.search(AuditQuery()), signer.public_key)
    assert report.ok and report.checked == 2 and report.newest == 6


def test_the_newest_record_deleted_and_the_sequence_wound_back_is_found(
    signer: Signer, store: SQLiteStore, checkpointed: list[str]
) -> None:
    _sql(
        store,
        "DELETE FROM audit WHERE seq = 6",
        "UPDATE sqlite_sequence SET seq = 5 WHERE name = 'audit'",
    )
    assert store.verify().ok  # the chain alone cannot see it
    ok, problems = _verify(store, checkpointed, signer)
    assert not ok
    assert problems == [
        "checkpoint of record 6 (line 2, 2026-01-01T00:00:00.000000Z): the log ends at "
        "record 5, but the checkpoint shows the log reached record 6: records were deleted"
    ]


def test_every_record_deleted_is_found(
    signer: Signer, store: SQLiteStore, checkpointed: list[str]
) -> None:
    _sql(store, "DELETE FROM audit", "DELETE FROM sqlite_sequence")
    assert store.verify().ok and store.verify().checked == 0
    ok, problems = _verify(store, checkpointed, signer)
    assert not ok and len(problems) == 2
    assert all("the log is empty" in problem for problem in problems)


def test_a_rewritten_log_is_found(
    signer: Signer, store: SQLiteStore, checkpointed: list[str]
) -> None:
    # Someone rewrites records 5 and 6 and re-chains them: the chain verifies again...
    from agentguard.audit import chain_hash

    db = sqlite3.connect(store.path)
    for seq in (5, 6):
        body, prev = db.execute(
            "SELECT body, prev_hash FROM audit WHERE seq = ?", (seq,)
        ).fetchone()
        if seq == 6:
            prev = db.execute("SELECT hash FROM audit WHERE seq = 5").fetchone()[0]
        body = body.replace("read_inbox", "send_email")
        db.execute(
            "UPDATE audit SET body = ?, tool = 'send_email', prev_hash = ?, hash = ? WHERE seq = ?",
            (body, prev, chain_hash(prev, seq, body), seq),
        )
    db.commit()
    db.close()
    assert store.verify().ok
    # ...but not against the checkpoint of record 6.
    ok, problems = _verify(store, checkpointed, signer)
    assert not ok and len(problems) == 1
    assert "checkpoint of record 6" in problems[0] and "rewritten" in problems[0]


def test_a_checkpoint_of_another_log_is_found(
    signer: Signer, checkpointed: list[str], tmp_path: Path
) -> None:
    clock = ManualClock()
    clock.advance(1)
    other = SQLiteStore(tmp_path / "other.db")
    try:
        for _ in range(6):
            _append(other, clock, tool="send_email")
        ok, problems = _verify(other, checkpointed, signer)  # type: ignore[arg-type]
    finally:
        other.close()
    assert not ok and len(problems) == 2


def test_forged_and_malformed_checkpoints_are_refused(
    signer: Signer, store: SQLiteStore, checkpointed: list[str]
) -> None:
    document = json.loads(checkpointed[1])
    document["seq"] = 5  # moved back to hide the last record
    lines = [checkpointed[0], json.dumps(document), "", "garbage"]
    ok, problems = _verify(store, lines, signer)
    assert not ok
    assert problems[0].startswith("checkpoint of record 5 (line 2,")
    assert "bad signature" in problems[0]
    assert problems[1].startswith("line 4 is not a checkpoint")


def test_no_checkpoint_at_all_is_a_problem(signer: Signer, store: SQLiteStore) -> None:
    ok, problems = _verify(store, ["", "  "], signer)
    assert not ok and "no checkpoint" in problems[0]


def test_the_index_columns_are_checked_too(store: SQLiteStore) -> None:
    clock = ManualClock()
    for _ in range(3):
        _append(store, clock)
    _sql(store, "UPDATE audit SET ts = '1999-01-01T00:00:00.000000Z' WHERE seq = 2")
    result = store.verify()
    assert (result.ok, result.bad_seq) == (False, 2)
    assert "'ts'" in (result.problem or "")


def test_a_guard_writes_checkpoints_as_configured_and_verify_sees_truncation(
    tmp_path: Path,
) -> None:
    from decimal import Decimal

    from agentguard import Guard

    generate_key(tmp_path / "audit.key")
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        """
version: 1
tools:
  read_balance: {input: {account: {type: string}}}
roles:
  reader: {allow: [read_balance]}
agents:
  bot: {roles: [reader]}
audit_checkpoints: {every: 3, key: audit.key, to: checkpoints.jsonl}
""",
        encoding="utf-8",
    )
    db = tmp_path / "ag.db"
    with Guard.from_file(policy, f"sqlite:///{db}") as guard:

        @guard.tool()
        def read_balance(account: str) -> Decimal:
            return Decimal("12.50")

        for n in range(7):
            guard.agent("bot").call("read_balance", account=f"acct-{n}")
    lines = _lines(tmp_path / "checkpoints.jsonl")
    # every 3 records, and one more for the head when the guard closed
    assert [json.loads(line)["seq"] for line in lines] == [3, 6, 7]
    public = load_public_key(tmp_path / "audit.key")
    reopened = SQLiteStore(db)
    try:
        assert verify_checkpoints(lines, reopened.search(AuditQuery()), public).ok
        _sql(
            reopened,
            "DELETE FROM audit WHERE seq = 7",
            "UPDATE sqlite_sequence SET seq = 6 WHERE name = 'audit'",
        )
        assert reopened.verify().ok  # the chain alone cannot see it
        report = verify_checkpoints(lines, reopened.search(AuditQuery()), public)
    finally:
        reopened.close()
    assert not report.ok
    assert "record 7" in " ".join(report.problems)
