"""`agentguard scan`: grep-like exit codes, JSON findings with offsets, batch, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

AGENTGUARD = str(Path(sys.executable).parent / "agentguard")
TEXT = "Contact ana.lopez@example.org or call +44 20 7946 0958 about order 1234.\n"


def scan(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AGENTGUARD, "scan", *args], input=stdin, capture_output=True, cwd=cwd, timeout=60
    )


def test_json_findings_have_offsets_into_the_input(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text(TEXT, encoding="utf-8")
    result = scan("--json", "--types", "pii", str(path))
    assert result.returncode == 1, result.stderr
    findings = [json.loads(line) for line in result.stdout.decode().splitlines()]
    emails = [f for f in findings if f["type"] == "EMAIL"]
    assert emails and TEXT[emails[0]["start"] : emails[0]["end"]] == "ana.lopez@example.org"
    for finding in findings:
        assert {"type", "start", "end", "score", "detector"} <= set(finding)


def test_stdin_with_nothing_found_exits_0() -> None:
    result = scan("--json", "-", stdin=b"The weather is nice today.\n")
    assert result.returncode == 0 and result.stdout == b""


def test_human_output_never_prints_the_value() -> None:
    result = scan("--types", "pii", stdin=TEXT.encode())
    assert result.returncode == 1
    assert b"ana.lopez" not in result.stdout and b"<stdin>:1:" in result.stdout


def test_redact_prints_text_without_the_values() -> None:
    result = scan("--redact", "--types", "pii", stdin=TEXT.encode())
    assert result.returncode == 1
    assert b"ana.lopez@example.org" not in result.stdout and b"[EMAIL]" in result.stdout


def test_batch_carries_ids_and_names_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(
        b'{"id": "a", "text": "mail bob@example.net"}\n'
        b"not json\n"
        b'{"id": "c", "text": "nothing here"}\n'
        b'{"id": "d"}\n'
        b'{"id": "e", "text": "\xff\xfe"}\n'
    )
    result = scan("--json", "--types", "pii", "--batch", str(path))
    assert result.returncode == 2
    lines = [json.loads(x) for x in result.stdout.decode().splitlines()]
    assert lines and all(x["id"] == "a" for x in lines)
    err = result.stderr.decode()
    assert f"{path}:2:" in err and f"{path}:4:" in err and f"{path}:5:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"abc\x00def", "binary data"), (b"ok\n\xc3\x28 bad", ":2: invalid UTF-8")],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    result = scan(str(path))
    assert result.returncode == 2
    assert message in result.stderr.decode() and b"Traceback" not in result.stderr


def test_unknown_family_and_missing_file_are_errors(tmp_path: Path) -> None:
    assert scan("--types", "nonsense", stdin=b"x").returncode == 2
    missing = scan(str(tmp_path / "nope.txt"))
    assert missing.returncode == 2 and b"cannot read" in missing.stderr
