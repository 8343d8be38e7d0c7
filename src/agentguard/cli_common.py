"""What every ``agentguard`` subcommand shares: exit codes, consoles, the --policy and
--store options, and turning failures into one line and an exit code (never a traceback)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape

from agentguard.cli_table import unbounded_when_piped
from agentguard.errors import AgentGuardError, PolicyError, StoreUnavailable
from agentguard.policy import LoadedPolicy, load_policy
from agentguard.store import Store, open_store

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STORE = 3


out = unbounded_when_piped(Console(highlight=False, soft_wrap=True))
err = Console(stderr=True, highlight=False, soft_wrap=True)

PolicyOpt = Annotated[
    Path,
    typer.Option(
        "--policy", "-p", envvar="AGENTGUARD_POLICY", help="Policy file.", show_default=True
    ),
]
StoreOpt = Annotated[
    str,
    typer.Option(
        "--store", "-s", envvar="AGENTGUARD_STORE", help="Store URL (sqlite:///file.db, memory://)."
    ),
]
DEFAULT_POLICY = Path("policy.yaml")


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True)
    return typer.Exit(code)


def _policy(path: Path, *, load_plugins: bool = True) -> LoadedPolicy:
    try:
        return load_policy(path, load_plugins=load_plugins)
    except PolicyError as exc:
        for problem in exc.problems:
            err.print(problem, markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def _store(url: str) -> Store:
    try:
        return open_store(url)
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None


def _existing_store(url: str) -> Store:
    """Open a store that must exist already. Commands that read or change state never create
    one: a mistyped ``--store`` would otherwise verify, list or kill in a new, empty store
    and report success."""
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise _fail(
            f"no store at {str(path)!r}: the file does not exist (--store {url}). Check "
            "--store or AGENTGUARD_STORE; a new store is created by `agentguard init` or by "
            "the guard on its first call",
            EXIT_STORE,
        )
    return _store(url)


def _sqlite_path(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names (as :func:`open_store` reads it), else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite" or parts.netloc:
        return None  # not a file, or a malformed URL that open_store explains
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    return Path(path) if path else None


def _guarded(fn: Any) -> Any:
    """Run a command body, turning store failures into exit code 3 and other agentguard
    and OS errors into exit code 2, each with a one-line message."""
    try:
        return fn()
    except StoreUnavailable as exc:
        raise _fail(exc.message, EXIT_STORE) from None
    except AgentGuardError as exc:
        raise _fail(str(exc), EXIT_USAGE) from None
    except OSError as exc:
        raise _fail(_os_error(exc), EXIT_USAGE) from None


def _os_error(exc: OSError) -> str:
    what = exc.strerror or type(exc).__name__
    return f"{exc.filename}: {what}" if exc.filename else what


def _operator() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"
