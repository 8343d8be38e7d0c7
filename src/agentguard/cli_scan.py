"""``agentguard scan``: find PII, secrets and injection in text, like grep for sensitive data.

Exit status: 0 nothing found, 1 something found, 2 error (as grep). Matched values are never
printed: findings carry offsets, types and scores; ``--redact`` prints the text redacted.

``--batch`` scans a JSONL file line by line: a line that cannot be scanned (not JSON, nested
too deeply, no string ``"text"``, a lone surrogate that cannot be written back as UTF-8, too
long) is reported on standard error as ``FILE:LINE: what was wrong`` and skipped, the other
lines are scanned, and the run ends with status 2.

``--redact --style hash`` tags each value with a keyed hash (see
:mod:`agentguard.detect.redact`): under a random key made for the run by default (equal
values share a tag within the run, and nothing can be reversed), or under the bytes of
``--key-file`` for tags that stay the same from one run to the next.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from agentguard.detect.base import DetectorRegistry, Finding
from agentguard.detect.redact import STYLES, Style, redact
from agentguard.scan import MAX_TEXT_CHARS, available_families, default_registry, scan_text

EXIT_FOUND = 1
EXIT_ERROR = 2
MAX_INPUT_BYTES = 4 * MAX_TEXT_CHARS
#: the longest ``--batch`` line read; a longer one is skipped as an error, unread
MAX_LINE_BYTES = MAX_INPUT_BYTES
#: the fewest bytes a ``--key-file`` may hold (a short key is a guessable key)
MIN_KEY_BYTES = 16


class InputError(Exception):
    """Input that cannot be scanned; the message names where."""


def _shown(name: str) -> str:
    """A file name as it can be printed (bytes that are not UTF-8 as escapes)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def _read(source: str) -> tuple[bytes, str]:
    if source == "-":
        stream: BinaryIO = sys.stdin.buffer
        data = stream.read(MAX_INPUT_BYTES + 1)
        name = "<stdin>"
    else:
        name = _shown(source)
        try:
            with Path(source).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: larger than {MAX_INPUT_BYTES} bytes; split it or use --batch")
    return data, name


def _decode(data: bytes, name: str, line_offset: int = 0) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1 + line_offset
        raise InputError(f"{name}:{line}: binary data (NUL byte at offset {nul}); scan text only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 + line_offset
        raise InputError(
            f"{name}:{line}: invalid UTF-8 at byte offset {exc.start}; convert the input to UTF-8"
        ) from None


def _key(key_file: Path | None, do_redact: bool, style: str) -> bytes | None:
    """The key of ``hash`` tags: the bytes of ``key_file``, else random for this run."""
    if key_file is None:
        return secrets.token_bytes(32) if do_redact and style == "hash" else None
    if not (do_redact and style == "hash"):
        raise _fail("--key-file keys the tags of --redact --style hash; use it with both")
    shown = _shown(str(key_file))
    try:
        key = key_file.read_bytes()
    except OSError as exc:
        raise _fail(f"--key-file {shown}: cannot read ({exc.strerror or exc})") from None
    if len(key) < MIN_KEY_BYTES:
        raise _fail(
            f"--key-file {shown}: holds {len(key)} bytes, fewer than {MIN_KEY_BYTES}; "
            "use a random key (for example: head -c 32 /dev/urandom > FILE)"
        )
    return key


def _emit(findings: list[Finding], min_score: float, extra: dict[str, Any]) -> int:
    count = 0
    for finding in findings:
        if finding.score < min_score:
            continue
        sys.stdout.write(json.dumps({**extra, **finding.as_dict()}, ensure_ascii=False) + "\n")
        count += 1
    return count


def _human(text: str, findings: list[Finding], min_score: float, name: str) -> int:
    count = 0
    for finding in findings:
        if finding.score < min_score:
            continue
        line = text.count("\n", 0, finding.start) + 1
        column = finding.start - (text.rfind("\n", 0, finding.start) + 1) + 1
        kind = finding.type + (f"/{finding.subtype}" if finding.subtype else "")
        sys.stdout.write(
            f"{name}:{line}:{column}: {kind} (score {finding.score:.2f}, "
            f"{finding.end - finding.start} chars, {finding.detector})\n"
        )
        count += 1
    return count


def scan(
    source: Annotated[str, typer.Argument(help="A file to scan, or - for standard input.")] = "-",
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per finding per line.")
    ] = False,
    types: Annotated[
        str | None,
        typer.Option("--types", help="Comma-separated families: pii, secrets, injection, tone."),
    ] = None,
    do_redact: Annotated[
        bool, typer.Option("--redact", help="Print the text with findings redacted instead.")
    ] = False,
    style: Annotated[
        str, typer.Option("--style", help="Redaction: mask, hash or type_tag.")
    ] = "type_tag",
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help='A JSONL file of {"id": …, "text": …} lines to scan.'),
    ] = None,
    min_score: Annotated[
        float,
        typer.Option("--min-score", help="Report findings scoring at least this (0 to 1)."),
    ] = 0.5,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Key the tags of --style hash with the bytes of this file (stable across "
            "runs); by default a random key is made for each run.",
        ),
    ] = None,
) -> None:
    """Scan text for PII, secrets, prompt injection and inappropriate tone. Exit 0: none, 1: found, 2: error."""
    if not 0.0 <= min_score <= 1.0:  # NaN too
        raise _fail(f"--min-score must be from 0 to 1, as scores are (got {min_score})")
    try:
        families = [t.strip() for t in types.split(",") if t.strip()] if types else None
        registry = default_registry(families)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if style not in STYLES:
        raise _fail(f"--style must be one of {', '.join(STYLES)}")
    if not available_families():
        raise _fail("no detector family is available")
    key = _key(key_file, do_redact, style)
    try:
        if batch is not None:
            output = _Output(as_json, do_redact, style, min_score, key)
            found, errors = _scan_batch(batch, registry, output)
            if errors:
                raise typer.Exit(EXIT_ERROR)
        else:
            data, name = _read(source)
            text = _decode(data, name)
            findings = scan_text(text, registry)
            reportable = [f for f in findings if f.score >= min_score]
            if do_redact:
                sys.stdout.write(redact(text, reportable, style=style, key=key))
                found = len(reportable)
            elif as_json:
                found = _emit(findings, min_score, {})
            else:
                found = _human(text, findings, min_score, name)
    except (InputError, ValueError) as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(EXIT_FOUND if found else 0)


def _lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """``(number, line)`` of each line; ``None`` for a line over :data:`MAX_LINE_BYTES`,
    whose rest is skipped without being kept."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := handle.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, raw


def _writable(value: str, what: str) -> str:
    """``value``, when it can be written as UTF-8 (a JSON ``\\ud800`` escape decodes to a
    lone surrogate, which cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{what} holds a lone surrogate (U+{ord(value[exc.start]):04X}) at character "
            f"{exc.start}, which cannot be written as UTF-8"
        ) from None
    return value


@dataclass(frozen=True, slots=True)
class _Output:
    """How findings are printed."""

    as_json: bool
    do_redact: bool
    style: Style
    min_score: float
    key: bytes | None


def _scan_batch(path: Path, registry: DetectorRegistry, output: _Output) -> tuple[int, int]:
    """Scan every line; a line that cannot be scanned is reported with its number and
    skipped, and the others are scanned all the same. ``(findings, bad lines)``."""
    found = errors = 0
    name = _shown(str(path))
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    with handle:
        for number, raw in _lines(handle):
            if raw is not None and not raw.strip():
                continue
            try:
                count, lines = _scan_line(raw, name, number, registry, output)
            except (InputError, ValueError) as exc:
                message = str(exc) if str(exc).startswith(name) else f"{name}:{number}: {exc}"
                typer.echo(f"error: {message}", err=True)
                errors += 1
                continue
            except RecursionError:  # json.loads of thousands of nested brackets
                typer.echo(f"error: {name}:{number}: JSON nested too deeply to read", err=True)
                errors += 1
                continue
            found += count
            sys.stdout.writelines(lines)
    return found, errors


def _scan_line(
    raw: bytes | None, name: str, number: int, registry: DetectorRegistry, output: _Output
) -> tuple[int, list[str]]:
    """How many findings one batch line has, and the lines to print for it (all made, and
    checked, before any is printed)."""
    if raw is None:
        raise InputError(f"{name}:{number}: line longer than {MAX_LINE_BYTES} bytes; split it")
    line = _decode(raw, name, number - 1)
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}:{number}: not valid JSON ({exc.msg})") from None
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise InputError(f'{name}:{number}: expected an object with a string "text" (and an "id")')
    ident = item.get("id", number)
    if not isinstance(ident, str | int):
        raise InputError(f'{name}:{number}: "id" must be a string or a number')
    if isinstance(ident, str):
        _writable(ident, '"id"')
    text: str = item["text"]
    reportable = [f for f in scan_text(text, registry) if f.score >= output.min_score]
    if output.do_redact:
        redacted = redact(text, reportable, style=output.style, key=output.key)
        _writable(redacted, 'the redacted "text"')
        return len(reportable), [
            json.dumps({"id": ident, "text": redacted}, ensure_ascii=False) + "\n"
        ]
    if output.as_json:
        return len(reportable), [
            json.dumps({"id": ident, **f.as_dict()}, ensure_ascii=False) + "\n" for f in reportable
        ]
    lines = []
    for finding in reportable:
        kind = finding.type + (f"/{finding.subtype}" if finding.subtype else "")
        lines.append(
            f"{name}:{number} id={ident}: {kind} at {finding.start}-{finding.end} "
            f"(score {finding.score:.2f}, {finding.detector})\n"
        )
    return len(reportable), lines
