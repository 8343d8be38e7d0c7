"""`agentguard scan`: grep-like exit codes, JSON findings with offsets, batch, bad input, keyed
hash tags."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
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


# ------------------------------------------------------------------ bad batch lines

DEEP = b"[" * 100_000 + b"]" * 100_000


def _batch(tmp_path: Path, *lines: bytes) -> Path:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_batch_reports_bad_lines_skips_them_and_scans_the_rest(tmp_path: Path) -> None:
    path = _batch(
        tmp_path,
        b'{"id": "a", "text": "mail bob@example.net"}',
        b'{"id": "deep", "text": ' + DEEP + b"}",
        DEEP,
        b'{"id": "s", "text": "mail ana@example.org \\ud800 here"}',
        b'{"id": "z", "text": "call me: carol@example.com"}',
    )
    result = scan("--redact", "--types", "pii", "--batch", str(path))
    err = result.stderr.decode()
    assert result.returncode == 2, err  # bad lines, even though other lines had findings
    assert "Traceback" not in err
    assert f"{path}:2: JSON nested too deeply" in err
    assert f"{path}:3: JSON nested too deeply" in err
    assert f"{path}:4: " in err and "lone surrogate (U+D800)" in err
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [item["id"] for item in out] == ["a", "z"]
    assert all("@" not in item["text"] for item in out)


def test_batch_scans_a_lone_surrogate_when_nothing_of_it_is_printed(tmp_path: Path) -> None:
    path = _batch(tmp_path, b'{"id": "s", "text": "mail ana@example.org \\ud800"}', DEEP)
    result = scan("--json", "--types", "pii", "--batch", str(path))
    assert result.returncode == 2
    assert [json.loads(x)["id"] for x in result.stdout.decode().splitlines()] == ["s"]
    assert f"{path}:2: JSON nested too deeply" in result.stderr.decode()


def test_batch_with_only_good_lines_exits_by_findings(tmp_path: Path) -> None:
    path = _batch(tmp_path, b'{"id": 1, "text": "nothing here"}', b'{"id": 2, "text": "ok"}')
    assert scan("--json", "--types", "pii", "--batch", str(path)).returncode == 0


def test_input_that_cannot_be_text_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    surrogate = scan(
        "--redact", stdin="mail ana@example.org \ud800".encode("utf-8", "surrogatepass")
    )
    assert surrogate.returncode == 2 and b"invalid UTF-8" in surrogate.stderr
    assert b"Traceback" not in surrogate.stderr
    deep = scan("--json", stdin=DEEP)  # deep JSON on standard input is only text
    assert deep.returncode in (0, 1) and b"Traceback" not in deep.stderr
    huge = scan("--types", "pii", stdin=b"a" * (16 * 1024 * 1024 + 1))
    assert huge.returncode == 2 and b"over the limit" in huge.stderr
    assert b"Traceback" not in huge.stderr


# ------------------------------------------------------------------ --min-score


@pytest.mark.parametrize("value", ["5", "-0.1", "1.5", "nan"])
def test_min_score_outside_0_to_1_is_refused(value: str) -> None:
    result = scan("--min-score", value, stdin=TEXT.encode())
    assert result.returncode == 2 and result.stdout == b""
    assert b"--min-score must be from 0 to 1" in result.stderr
    assert b"Traceback" not in result.stderr


def test_min_score_bounds_are_accepted() -> None:
    assert scan("--min-score", "0", "--types", "pii", stdin=TEXT.encode()).returncode == 1
    assert scan("--min-score", "1", "--types", "pii", stdin=TEXT.encode()).returncode == 0


# ------------------------------------------------------------------ --style hash

SSN = "512-44-3290"
SSN_TEXT = f"SSN: {SSN}, again {SSN}.\n"
TAG = re.compile(r"\[US_SSN:([0-9a-f]{12})\]")


def _unkeyed_prefixes(value: str) -> set[str]:
    raw = value.encode()
    return {
        hashlib.new(name, raw).hexdigest()[:12]
        for name in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "sha3_256")
    }


def _tags(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    assert result.returncode == 1, result.stderr
    out = result.stdout.decode()
    assert SSN not in out
    return TAG.findall(out)


def test_hash_tags_are_keyed_and_random_per_run_by_default() -> None:
    args = ("--redact", "--style", "hash", "--types", "pii")
    first = _tags(scan(*args, stdin=SSN_TEXT.encode()))
    second = _tags(scan(*args, stdin=SSN_TEXT.encode()))
    assert len(first) == 2 and first[0] == first[1]  # equal values correlate within a run
    assert not set(first) & _unkeyed_prefixes(SSN)  # no hash of the value alone
    assert first[0] != second[0]  # a new key each run: nothing to look up across runs


def test_key_file_makes_hash_tags_stable_across_runs(tmp_path: Path) -> None:
    key = bytes(range(32))
    key_file = tmp_path / "tag.key"
    key_file.write_bytes(key)
    args = ("--redact", "--style", "hash", "--types", "pii", "--key-file", str(key_file))
    first = _tags(scan(*args, stdin=SSN_TEXT.encode()))
    second = _tags(scan(*args, stdin=SSN_TEXT.encode()))
    assert first == second
    assert first[0] == hmac.new(key, SSN.encode(), hashlib.sha256).hexdigest()[:12]


def test_batch_hash_tags_correlate_across_lines(tmp_path: Path) -> None:
    path = _batch(
        tmp_path,
        json.dumps({"id": 1, "text": f"SSN {SSN}"}).encode(),
        json.dumps({"id": 2, "text": f"ssn: {SSN}"}).encode(),
    )
    result = scan("--redact", "--style", "hash", "--types", "pii", "--batch", str(path))
    tags = _tags(result)
    assert len(tags) == 2 and tags[0] == tags[1]


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"short", ("--redact", "--style", "hash"), b"fewer than 16"),
        (bytes(32), ("--redact",), b"use it with both"),
        (None, ("--redact", "--style", "hash"), b"cannot read"),
    ],
)
def test_bad_key_file_is_a_clear_error(
    tmp_path: Path, content: bytes | None, extra: tuple[str, ...], message: bytes
) -> None:
    key_file = tmp_path / "tag.key"
    if content is not None:
        key_file.write_bytes(content)
    result = scan(*extra, "--key-file", str(key_file), stdin=SSN_TEXT.encode())
    assert result.returncode == 2 and message in result.stderr
    assert b"Traceback" not in result.stderr
