"""``agentguard status``: each agent's actions, failures, spend against its budgets, circuit
breakers and kill switches, read from a store that two guards wrote (agentguard.status and
the command, run as the installed console script)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentguard import Denied, Guard
from agentguard.breaker import BreakerState
from agentguard.clock import ManualClock, SystemClock
from agentguard.policy import load_policy
from agentguard.status import StatusBoard
from agentguard.store import open_store

AGENTGUARD = Path(sys.executable).parent / "agentguard"
TIMEOUT = 60
#: a name longer than a narrow terminal's column: never cut in the table
LONG = "quarterly_revenue_reconciliation_agent_for_the_emea_region"

POLICY = f"""\
version: 1
tools:
  lookup: {{input: {{q: {{type: string}}}}, cost: 0.25}}
  flaky: {{input: {{n: {{type: integer}}}}}}
roles:
  reader: {{allow: [lookup]}}
  worker: {{allow: [lookup, flaky]}}
agents:
  alpha: {{roles: [reader]}}
  beta: {{roles: [worker]}}
  {LONG}: {{roles: [reader]}}
  idle: {{roles: [reader]}}
limits:
  alpha:
    - {{tool: lookup, max: 3, per: 1h}}
    - {{cost: 10.00, per: 1h}}
  beta:
    - {{tool: "look*", cost: 2.00, per: 30m}}
    - {{cost: 5.00, per: 1d, per_subject: true}}
  "*":
    - {{cost: 100.00, per: 1d}}
breakers:
  errors: {{errors: 2, within: 60s, cooldown: 1h}}
"""


def act(tmp_path: Path, url: str, start: datetime) -> Path:
    """Two guards on one store: alpha's lookup 2.5 hours before ``start`` and four at it
    (the fourth over its limit of 3 an hour, counted across both guards); beta's lookup,
    two failures that open its breaker, and a lookup refused by it; one lookup of the
    long-named agent; then alpha is stopped. Returns the policy file."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    first_clock = ManualClock(start - timedelta(hours=2, minutes=30))
    second_clock = ManualClock(start)
    with (
        Guard.from_file(policy, url, clock=first_clock) as first,
        Guard.from_file(policy, url, clock=second_clock) as second,
    ):
        for guard in (first, second):
            guard.register(lambda q: "found " + q, "lookup")
            guard.register(_flaky, "flaky")
        first.agent("alpha").call("lookup", q="old")
        first_clock.advance(start - first_clock.now())
        first.agent("alpha").call("lookup", q="a1")
        first.agent("alpha").call("lookup", q="a2")
        second.agent("alpha").call("lookup", q="b1")
        with pytest.raises(Denied, match="at most 3 times"):
            second.agent("alpha").call("lookup", q="b2")
        beta = second.agent("beta", subject="cust_1")
        beta.call("lookup", q="c1")
        for n in (1, 2):
            with pytest.raises(RuntimeError):
                beta.call("flaky", n=n)
        with pytest.raises(Denied, match="circuit breaker"):
            beta.call("lookup", q="c2")
        first.agent(LONG).call("lookup", q="d1")
        first.kill(agent="alpha", reason="runaway test", by="ops")
    return policy


def _flaky(n: int) -> int:
    raise RuntimeError("the service is down")


def zeros(**counts: Any) -> dict[str, Any]:
    base = {"actions": 0, "executed": 0, "failed": 0, "denied": 0, "held": 0, "withheld": 0}
    return {**base, "error_rate": None, "spend": "0.00", **counts}


def expected_agents(kill_at: str) -> dict[str, Any]:
    alpha_hour = zeros(actions=4, executed=3, denied=1, error_rate=0.0, spend="0.75")
    beta = zeros(actions=4, executed=1, failed=2, denied=1, error_rate=2 / 3, spend="0.25")
    long = zeros(actions=1, executed=1, error_rate=0.0, spend="0.25")
    return {
        "alpha": {
            "last_hour": alpha_hour,
            "last_day": {**alpha_hour, "actions": 5, "executed": 4, "spend": "1.00"},
            "budgets": [
                {"scope": "alpha", "tool": None, "budget": "10.00", "per": "1h",
                 "spent": "0.75", "used": 0.075, "per_subject": False},
            ],
            "breaker": "closed",
            "kill": {"scope": "agent", "target": "alpha", "reason": "runaway test",
                     "set_at": kill_at, "set_by": "ops"},
        },
        "beta": {
            "last_hour": beta,
            "last_day": beta,
            "budgets": [
                {"scope": "beta", "tool": "look*", "budget": "2.00", "per": "30m",
                 "spent": "0.25", "used": 0.125, "per_subject": False},
                {"scope": "beta", "tool": None, "budget": "5.00", "per": "1d",
                 "spent": None, "used": None, "per_subject": True},
            ],
            "breaker": "open",
            "kill": None,
        },
        "idle": {"last_hour": zeros(), "last_day": zeros(), "budgets": [], "breaker": "closed",
                 "kill": None},
        LONG: {"last_hour": long, "last_day": long, "budgets": [], "breaker": "closed",
               "kill": None},
    }  # fmt: skip


SHARED = [
    {"scope": "*", "tool": None, "budget": "100.00", "per": "1d", "spent": "1.50",
     "used": 0.015, "per_subject": False},
]  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGUARD_")}
    env.update({"COLUMNS": "80", "NO_COLOR": "1", "PYTHONUTF8": "1"})
    return subprocess.run(
        [str(AGENTGUARD), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
    )


@pytest.fixture
def start() -> datetime:
    """Ten minutes ago: the command reads the real clock, and this is in its last hour."""
    return SystemClock().now() - timedelta(minutes=10)


@pytest.fixture
def acted(tmp_path: Path, start: datetime) -> str:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    act(tmp_path, url, start)
    return url


# --------------------------------------------------------------------------- JSON


def test_status_json_has_each_agents_exact_figures(
    tmp_path: Path, start: datetime, acted: str
) -> None:
    result = run(tmp_path, "status", "--json", "--store", acted, "--policy", "policy.yaml")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    report = json.loads(line)
    assert report["agents"] == expected_agents(kill_at=iso(start))
    assert report["shared_budgets"] == SHARED
    until = iso(start + timedelta(hours=1))
    assert report["breakers"] == [
        {"breaker": key, "state": "open", "since": iso(start), "until": until,
         "failures": 0, "trials": 0}
        for key in ("agent:beta", "tool:flaky")
    ]  # fmt: skip
    assert report["kills"] == [expected_agents(iso(start))["alpha"]["kill"]]
    assert datetime.fromisoformat(report["at"]) > start


def test_status_without_a_policy_lists_the_agents_that_acted(tmp_path: Path, acted: str) -> None:
    result = run(tmp_path, "status", "--json", "--store", acted)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["agents"]) == ["alpha", "beta", LONG]  # not idle: no policy
    assert all(agent["budgets"] == [] for agent in report["agents"].values())
    assert report["agents"]["beta"]["last_hour"]["failed"] == 2
    assert report["shared_budgets"] == []


def test_status_json_watch_prints_one_line_per_refresh(tmp_path: Path, acted: str) -> None:
    result = run(
        tmp_path, "status", "--json", "--watch", "--interval", "100ms", "--count", "2",
        "--store", acted,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["agents"] == second["agents"]
    assert first["at"] < second["at"]


# -------------------------------------------------------------------------- table


def test_status_table_shows_full_names_figures_breakers_and_kill_switches(
    tmp_path: Path, acted: str
) -> None:
    result = run(tmp_path, "status", "--store", acted, "--policy", "policy.yaml")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert LONG in text  # whole, though COLUMNS is 80
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    alpha = [cell.strip() for cell in rows["alpha"].split("│")[1:-1]]
    assert alpha == [
        "alpha", "4", "5", "0", "0.0%", "$0.75", "$1.00", "$0.75 of $10.00 per 1h (7.5%)",
        "closed", "stopped: runaway test",
    ]  # fmt: skip
    beta = [cell.strip() for cell in rows["beta"].split("│")[1:-1]]
    assert beta[:7] == ["beta", "4", "4", "2", "66.7%", "$0.25", "$0.25"]
    assert beta[7] == (
        "$0.25 of $2.00 per 30m on look* (12.5%); $5.00 per 1d per subject (not summed)"
    )
    assert beta[8] == "open"
    assert "all agents together: $1.50 of $100.00 per 1d (1.5%)" in text
    assert "circuit breakers not closed" in text
    assert [rows[key].split("│")[2].strip() for key in ("agent:beta", "tool:flaky")] == [
        "open",
        "open",
    ]
    assert "kill switches in force" in text
    assert rows["agent"].split("│")[2].strip() == "alpha"  # the kill switch row: scope, target


def test_status_watch_refreshes_the_table_a_bounded_number_of_times(
    tmp_path: Path, acted: str
) -> None:
    result = run(tmp_path, "status", "--interval", "0.1", "--count", "3", "--store", acted)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(f"{acted} at ") == 3  # once per refresh, as a log when piped


def test_status_of_an_empty_store_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    open_store(url).close()
    result = run(tmp_path, "status", "--store", url)
    assert result.returncode == 0, result.stderr
    assert "no agent has acted in the last day" in result.stdout
    assert "circuit breakers: all closed" in result.stdout
    assert "kill switches: none set" in result.stdout


# ----------------------------------------------------------------------- refusals


def test_status_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    result = run(tmp_path, "status", "--store", "sqlite:///missing.db")
    assert result.returncode == 3
    assert "no store at 'missing.db'" in result.stderr
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--policy", "absent.yaml"), "absent.yaml"),
        (("--policy", "broken.yaml"), "broken.yaml"),
        (("--interval", "soon"), "--interval"),
        (("--interval", "0"), "--interval 0: give between 0.1 seconds and a day"),
    ],
)
def test_status_refuses_bad_input_with_exit_2(
    tmp_path: Path, acted: str, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "broken.yaml").write_text("version: 1\nagents: [not, a, mapping]\n")
    result = run(tmp_path, "status", "--store", acted, *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert result.stdout == ""


# ------------------------------------------------------------------ the library


def test_status_board_windows_move_with_the_clock_and_read_only_whats_new(
    tmp_path: Path,
) -> None:
    start = datetime.fromisoformat("2026-03-15T12:00:00+00:00")
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    policy = act(tmp_path, url, start)
    store = open_store(url)
    clock = ManualClock(start)
    board = StatusBoard(store, policy=load_policy(policy), clock=clock)
    report = board.report()
    assert {a.agent: a.as_json() for a in report.agents} == expected_agents(iso(start))
    assert board.follower.last_seq == 11  # 10 actions and the kill
    # an hour later: nothing in the last hour, the same day; beta's breaker is half-open
    clock.advance(timedelta(hours=1))
    later = board.report()
    alpha = later.agent("alpha")
    assert alpha is not None and alpha.last_hour.actions == 0
    assert alpha.last_day.actions == 5 and alpha.budgets[0].spent == 0
    beta = later.agent("beta")
    assert beta is not None and beta.breaker is BreakerState.HALF_OPEN
    assert [b.state for b in later.breakers] == [BreakerState.HALF_OPEN] * 2
    assert later.shared_budgets[0].spent == report.shared_budgets[0].spent
    # a day later, only what is new is read, and the old day has gone
    clock.advance(timedelta(hours=23, minutes=2))  # the day is counted to the minute
    with Guard.from_file(policy, url, clock=clock) as guard:
        guard.register(lambda q: q, "lookup")
        guard.agent("beta", subject="cust_2").call("lookup", q="new")
    final = board.report()
    assert board.follower.last_seq == 12
    beta = final.agent("beta")
    assert beta is not None and beta.last_day.actions == 1 and beta.last_hour.executed == 1
    assert final.agent("alpha") is not None and final.agent("alpha").last_day.actions == 0  # type: ignore[union-attr]
    store.close()
