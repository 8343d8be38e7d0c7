"""``agentguard scan``: find PII, secrets and injection in text, like grep for sensitive data.

Exit status: 0 nothing found, 1 something found, 2 error (as grep). Matched values are never
printed: findings carry offsets, types and scores; ``--redact`` prints the text redacted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from agentguard.detect.base import Finding
from agentguard.detect.redact import STYLES, Style, redact
from agentguard.scan import MAX_TEXT_CHARS, available_families, default_registry, scan_text

EXIT_FOUND = 1
EXIT_ERROR = 2
MAX_INPUT_BYTES = 4 * MAX_TEXT_CHARS


class InputError(Exception):
    """Input that cannot be scanned; the message names where."""


def _read(source: str) -> tuple[bytes, str]:
    if source == "-":
        stream: BinaryIO = sys.stdin.buffer
        data = stream.read(MAX_INPUT_BYTES + 1)
        name = "<stdin>"
    else:
        path = Path(source)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{source}: cannot read ({exc.strerror or exc})") from None
        name = source
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
        float, typer.Option("--min-score", help="Report findings scoring at least this.")
    ] = 0.5,
) -> None:
    """Scan text for PII, secrets, prompt injection and inappropriate tone. Exit 0: none, 1: found, 2: error."""
    try:
        families = [t.strip() for t in types.split(",") if t.strip()] if types else None
        registry = default_registry(families)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    if style not in STYLES:
        typer.echo(f"error: --style must be one of {', '.join(STYLES)}", err=True)
        raise typer.Exit(EXIT_ERROR)
    if not available_families():
        typer.echo("error: no detector family is available", err=True)
        raise typer.Exit(EXIT_ERROR)
    try:
        if batch is not None:
            found, errors = _scan_batch(batch, registry, as_json, do_redact, style, min_score)
            if errors:
                raise typer.Exit(EXIT_ERROR)
        else:
            data, name = _read(source)
            text = _decode(data, name)
            findings = scan_text(text, registry)
            reportable = [f for f in findings if f.score >= min_score]
            if do_redact:
                sys.stdout.write(redact(text, reportable, style=style))
                found = len(reportable)
            elif as_json:
                found = _emit(findings, min_score, {})
            else:
                found = _human(text, findings, min_score, name)
    except (InputError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    raise typer.Exit(EXIT_FOUND if found else 0)


def _scan_batch(
    path: Path, registry: Any, as_json: bool, do_redact: bool, style: Style, min_score: float
) -> tuple[int, int]:
    """Scan every line; a malformed line is reported with its number and skipped."""
    found = errors = 0
    name = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                line = _decode(raw, name, number - 1)
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{name}:{number}: not valid JSON ({exc.msg})") from None
                if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                    raise InputError(
                        f'{name}:{number}: expected an object with a string "text" (and an "id")'
                    )
                ident = item.get("id", number)
                if not isinstance(ident, str | int):
                    raise InputError(f'{name}:{number}: "id" must be a string or a number')
                findings = scan_text(item["text"], registry)
            except (InputError, ValueError) as exc:
                message = str(exc) if str(exc).startswith(name) else f"{name}:{number}: {exc}"
                typer.echo(f"error: {message}", err=True)
                errors += 1
                continue
            reportable = [f for f in findings if f.score >= min_score]
            found += len(reportable)
            if do_redact:
                text = redact(item["text"], reportable, style=style)
                sys.stdout.write(json.dumps({"id": ident, "text": text}, ensure_ascii=False) + "\n")
            elif as_json:
                _emit(findings, min_score, {"id": ident})
            else:
                for finding in reportable:
                    kind = finding.type + (f"/{finding.subtype}" if finding.subtype else "")
                    sys.stdout.write(
                        f"{name}:{number} id={ident}: {kind} at {finding.start}-{finding.end} "
                        f"(score {finding.score:.2f}, {finding.detector})\n"
                    )
    return found, errors
