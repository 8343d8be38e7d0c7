"""``agentguard status`` and ``agentguard metrics``: what the agents on a store are doing.

Both read the store that every guarded process writes, never counters of their own: the
figures are the same from any machine that can open the store.

``status`` prints a table per agent (actions in the last hour and day, failures, error
rate, spend against the policy's cost budgets, its circuit breaker and kill switch), then
the breakers that are not closed and the kill switches in force; ``--json`` prints the same
as one JSON object (:meth:`agentguard.status.StatusReport.as_json`); ``--watch`` refreshes
until Ctrl-C. ``metrics`` serves them to Prometheus (:mod:`agentguard.metrics`).

Both refuse a store that does not exist (exit 3), as every reading command does.
"""

from __future__ import annotations

import io
import json
import signal
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from agentguard.activity import DEFAULT_MAX_NAMES
from agentguard.cli_common import StoreOpt
from agentguard.metrics import DEFAULT_PORT
from agentguard.policy.units import format_duration, parse_duration
from agentguard.status import AgentStatus, BudgetUse, StatusBoard, StatusReport, money
from agentguard.store import DEFAULT_URL

#: the pause between refreshes of ``status --watch`` unless --interval says otherwise
DEFAULT_INTERVAL = 2.0
_SHORTEST_INTERVAL = 0.1
_TENTH = Decimal("0.1")

MaxNamesOpt = Annotated[
    int,
    typer.Option(
        "--max-names",
        min=1,
        help="Distinct agents (and tools, reason codes) shown by name; later ones are counted "
        "as (other).",
    ),
]


def status(
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            "-p",
            envvar="AGENTGUARD_POLICY",
            help="Policy file: its agents are listed and its cost budgets shown against spend.",
        ),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval",
            metavar="DURATION",
            help=f"Time between refreshes: 5s, 500ms or seconds (default {DEFAULT_INTERVAL:g}s); "
            "implies --watch.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="One JSON object (with --watch: one line per refresh)."),
    ] = False,
    count: Annotated[
        int | None, typer.Option("--count", min=1, hidden=True, help="Stop after N refreshes.")
    ] = None,
    max_names: MaxNamesOpt = DEFAULT_MAX_NAMES,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Show each agent's actions, failures, spend against its budgets, circuit breakers and
    kill switches, from the store every process shares."""
    from agentguard import cli_common as cli

    pause = _interval(interval)
    watch = watch or interval is not None or count is not None
    loaded = cli._policy(policy, load_plugins=False) if policy is not None else None
    db = cli._existing_store(store)
    board = StatusBoard(db, policy=loaded, max_names=max_names)
    where = store + (f" with {policy}" if policy is not None else "")
    try:
        if not watch:
            _show(cli.out, cli._guarded(board.report), where, as_json)
        elif as_json or not cli.out.is_terminal:
            for _ in _refreshes(count, pause):  # one after the other, as a log
                _show(cli.out, cli._guarded(board.report), where, as_json)
        else:
            with Live(console=cli.out, auto_refresh=False) as live:
                for _ in _refreshes(count, pause):
                    report = cli._guarded(board.report)
                    live.update(_rendered(cli.out, report, where), refresh=True)
    except KeyboardInterrupt:
        pass
    finally:
        db.close()


def _interval(value: str | None) -> float:
    from agentguard import cli_common as cli

    if value is None:
        return DEFAULT_INTERVAL
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parse_duration(value).total_seconds()
        except (ValueError, OverflowError) as exc:
            raise cli._fail(f"--interval: {exc}", cli.EXIT_USAGE) from None
    if not _SHORTEST_INTERVAL <= seconds <= 86_400:
        raise cli._fail(
            f"--interval {value}: give between {_SHORTEST_INTERVAL:g} seconds and a day",
            cli.EXIT_USAGE,
        )
    return seconds


def _refreshes(count: int | None, pause: float) -> Iterator[int]:
    """Yield once per refresh, sleeping ``pause`` seconds in between; ``count`` at most."""
    done = 0
    while True:
        yield done
        done += 1
        if count is not None and done >= count:
            return
        time.sleep(pause)


def _rendered(console: Console, report: StatusReport, where: str) -> Text:
    """The report as :func:`_show` prints it on ``console``, for a live display (drawn on a
    console of its own: printing on one that shows a live display would draw that too)."""
    drawn = io.StringIO()
    canvas = Console(
        file=drawn,
        width=console.width,
        color_system=cast(Any, console.color_system),  # the same, by its name
        force_terminal=console.is_terminal,
        highlight=False,
        soft_wrap=True,
    )
    _show(canvas, report, where, as_json=False)
    return Text.from_ansi(drawn.getvalue())


def _show(console: Console, report: StatusReport, where: str, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    from agentguard.cli_table import ColumnKind, print_table

    stamp = report.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    columns: list[tuple[str, ColumnKind]] = [
        ("agent", "id"),
        ("actions 1h", "id"),
        ("actions 24h", "id"),
        ("failed 1h", "id"),
        ("error rate 1h", "id"),
        ("spend 1h", "id"),
        ("spend 24h", "id"),
        ("budgets", "text"),
        ("breaker", "id"),
        ("kill switch", "text"),
    ]
    print_table(console, columns, [_row(a) for a in report.agents], title=f"{where} at {stamp}")
    if not report.agents:
        console.print("no agent has acted in the last day", markup=False)
    if report.shared_budgets:
        shared = "; ".join(_budget(b) for b in report.shared_budgets)
        console.print(f"all agents together: {shared}", markup=False)
    if report.breakers:
        rows = [(b.key, str(b.state), _time(b.since), _time(b.until)) for b in report.breakers]
        breaker_columns: list[tuple[str, ColumnKind]] = [
            ("breaker", "id"), ("state", "id"), ("since (UTC)", "words"), ("until (UTC)", "words"),
        ]  # fmt: skip
        print_table(console, breaker_columns, rows, title="circuit breakers not closed")
    else:
        console.print("circuit breakers: all closed", markup=False)
    if report.kills:
        kills = [
            (str(k.scope), k.target, k.reason, _time(k.set_at), k.set_by or "")
            for k in report.kills
        ]
        kill_columns: list[tuple[str, ColumnKind]] = [
            ("scope", "id"), ("target", "id"), ("reason", "text"), ("set at (UTC)", "words"),
            ("by", "id"),
        ]  # fmt: skip
        print_table(console, kill_columns, kills, title="kill switches in force")
    else:
        console.print("kill switches: none set", markup=False)


def _row(agent: AgentStatus) -> tuple[str, ...]:
    hour, day = agent.last_hour, agent.last_day
    rate = hour.error_rate
    kill = ""
    if agent.kill is not None:
        everyone = " (every agent)" if agent.kill.target == "*" else ""
        kill = f"stopped{everyone}: {agent.kill.reason}"
    return (
        agent.agent,
        str(hour.actions),
        str(day.actions),
        str(hour.failed),
        "-" if rate is None else f"{rate:.1%}",
        f"${money(hour.spend)}",
        f"${money(day.spend)}",
        "; ".join(_budget(b) for b in agent.budgets),
        str(agent.breaker),
        kill,
    )


def _budget(budget: BudgetUse) -> str:
    what = f" on {budget.tool}" if budget.tool else ""
    per = format_duration(budget.per)
    if budget.spent is None:
        return f"${money(budget.budget)} per {per}{what} per subject (not summed)"
    share = (budget.spent * 100 / budget.budget).quantize(_TENTH)  # exact: 7.5%, not 8%
    percent = f"{share:f}".removesuffix(".0")
    return f"${money(budget.spent)} of ${money(budget.budget)} per {per}{what} ({percent}%)"


def _time(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------------ metrics


def metrics(
    port: Annotated[
        int,
        typer.Option(
            "--port", min=0, max=65535, help="Port to listen on (0: any free port, printed)."
        ),
    ] = DEFAULT_PORT,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to listen on (0.0.0.0 or :: opens it to the network)."
        ),
    ] = "127.0.0.1",
    max_names: MaxNamesOpt = DEFAULT_MAX_NAMES,
    store: StoreOpt = DEFAULT_URL,
) -> None:
    """Serve Prometheus metrics at http://HOST:PORT/metrics until Ctrl-C: actions, denials,
    errors, spend, latency and detector findings per agent and tool, computed from the
    audit log every process shares; kill switches and circuit breakers as they stand."""
    from prometheus_client import CollectorRegistry

    from agentguard import cli_common as cli
    from agentguard.metrics import AuditCollector, MetricsServer, metrics_app

    db = cli._existing_store(store)
    collector = AuditCollector(db, max_names=max_names)
    registry = CollectorRegistry()
    registry.register(collector)
    try:
        server = MetricsServer(metrics_app(registry), host, port)
    except OSError as exc:
        db.close()
        raise cli._fail(
            f"cannot listen on {host} port {port}: {exc.strerror or exc}", cli.EXIT_USAGE
        ) from None
    # a service manager stops it with SIGTERM: end as cleanly as on Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        read = cli._guarded(collector.refresh)  # the first scrape then reads only what is new
        cli.out.print(
            f"serving the metrics of {store} at {server.url} ({read} audit records read); "
            "Ctrl-C stops",
            markup=False,
        )
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        db.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
