"""Metrics computed from the shared audit log (agentguard.activity, agentguard.metrics).

Two processes act on one SQLite file (this one and a child running a guard script); two
exporters on that file (a server in this process and ``agentguard metrics`` in a child) are
scraped over HTTP on 127.0.0.1 and must show the same, exact figures. Synchronisation is by
reading the child's output and waiting for it to end, never by sleeping.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agentguard import Denied, Guard
from agentguard.activity import OTHER, Activity, AuditFollower, Counts, matching
from agentguard.audit import AuditEntry, AuditRecord
from agentguard.clock import ManualClock, SystemClock
from agentguard.errors import StoreUnavailable
from agentguard.metrics import AuditCollector, serve_metrics
from agentguard.store import AuditQuery, MemoryStore, SQLiteStore, open_store

AGENTGUARD = Path(sys.executable).parent / "agentguard"
TIMEOUT = 60

POLICY = """\
version: 1
tools:
  lookup: {input: {q: {type: string}}, cost: 0.25}
  flaky: {input: {n: {type: integer}}}
roles:
  reader: {allow: [lookup]}
  worker: {allow: [lookup, flaky]}
agents:
  alpha: {roles: [reader]}
  beta: {roles: [worker]}
limits:
  alpha:
    - {tool: lookup, max: 3, per: 1h}
    - {cost: 10.00, per: 1h}
  "*":
    - {cost: 100.00, per: 1d}
breakers:
  errors: {errors: 2, within: 60s, cooldown: 1h}
detectors:
  rules:
    - {scan: inputs, detectors: [pii], types: [EMAIL], action: redact, tools: [lookup]}
"""

#: the second process: alpha takes the last of its 3 lookups an hour (the first two were
#: made by this process: the limit is shared), beta's lookup carries an address (redacted),
#: its flaky tool fails twice and opens its breaker
OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from datetime import datetime

    from agentguard import Denied, Guard
    from agentguard.clock import ManualClock

    policy, url, start = sys.argv[1:4]
    guard = Guard.from_file(policy, url, clock=ManualClock(datetime.fromisoformat(start)))

    @guard.tool()
    def lookup(q: str) -> str:
        return "found " + q

    @guard.tool()
    def flaky(n: int) -> int:
        raise RuntimeError("the service is down")

    alpha, beta = guard.agent("alpha"), guard.agent("beta")
    calls = [
        (alpha, "lookup", {"q": "b1"}),
        (alpha, "lookup", {"q": "b2"}),
        (beta, "lookup", {"q": "write to ana@rotterdam-shipping.nl"}),
        (beta, "flaky", {"n": 1}),
        (beta, "flaky", {"n": 2}),
        (beta, "lookup", {"q": "b3"}),
    ]
    for agent, tool, args in calls:
        try:
            agent.call(tool, **args)
            print(tool, "executed")
        except Denied as exc:
            print(tool, exc.code)
        except RuntimeError:
            print(tool, "failed")
    guard.close()
    """
)


def act(tmp_path: Path, url: str, start: datetime) -> list[str]:
    """Run the actions of both processes on ``url``; returns the other process's outcomes.

    This process: alpha's lookup 2.5 hours before ``start`` (in the last day, not the last
    hour), two more at ``start``; then the other process; then alpha tries a tool its role
    does not allow, and is stopped by its kill switch.
    """
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    clock = ManualClock(start - timedelta(hours=2, minutes=30))
    with Guard.from_file(policy, url, clock=clock) as guard:

        @guard.tool()
        def lookup(q: str) -> str:
            return "found " + q

        alpha = guard.agent("alpha")
        alpha.call("lookup", q="old")
        clock.advance(start - clock.now())
        alpha.call("lookup", q="a1")
        alpha.call("lookup", q="a2")
        script = tmp_path / "other_process.py"
        script.write_text(OTHER_PROCESS, encoding="utf-8")
        other = subprocess.run(
            [sys.executable, str(script), str(policy), url, start.isoformat()],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
        with pytest.raises(Denied) as refused:
            alpha.call("flaky", n=1)
        assert refused.value.code == "access.no_rule"
        guard.kill(agent="alpha", reason="runaway test")
    return other.stdout.splitlines()


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """``GET url`` and parse it: ``(sample name, labels) → value``."""
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def start() -> datetime:
    """Ten minutes ago: the records are in the last hour of the real clock, which the
    ``agentguard metrics`` child reads."""
    return SystemClock().now() - timedelta(minutes=10)


@pytest.fixture
def metrics_cli(tmp_path: Path) -> Iterator[Any]:
    """Start ``agentguard metrics --port 0`` on a store URL; yields (process, its URL)."""
    started: list[subprocess.Popen[str]] = []

    def start(url: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [str(AGENTGUARD), "metrics", "--port", "0", "--store", url, *extra],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once it listens: no sleep needed
        assert "serving the metrics of" in line, (line, process.stderr)
        address = next(word for word in line.split() if word.startswith("http://"))
        assert address.startswith("http://127.0.0.1:") and address.endswith("/metrics")
        return process, address

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)


# ------------------------------------------------------------------ end to end


def test_two_exporters_on_one_store_show_the_same_exact_figures_of_two_processes(
    tmp_path: Path, start: datetime, metrics_cli: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    outcomes = act(tmp_path, url, start)
    assert outcomes == [
        "lookup executed",
        "lookup limits.rate_exceeded",  # the third lookup of the hour was the other process's
        "lookup executed",
        "flaky failed",
        "flaky failed",
        "lookup breakers.open",
    ]
    store = open_store(url)
    server = serve_metrics(store, host="127.0.0.1", port=0, clock=ManualClock(start)).start()
    process, cli_url = metrics_cli(url)
    try:
        here, there = scrape(server.url), scrape(cli_url)
    finally:
        server.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(TIMEOUT) == 0  # Ctrl-C ends it cleanly
        store.close()
    assert here == there

    actions = "agentguard_actions_total"
    assert {
        (dict(labels)["agent"], dict(labels)["tool"], dict(labels)["status"]): count
        for (name, labels), count in here.items()
        if name == actions
    } == {
        ("alpha", "lookup", "executed"): 4,
        ("alpha", "lookup", "denied"): 1,
        ("alpha", "flaky", "denied"): 1,
        ("beta", "lookup", "executed"): 1,
        ("beta", "lookup", "denied"): 1,
        ("beta", "flaky", "failed"): 2,
    }
    denials = {
        (dict(labels)["agent"], dict(labels)["tool"], dict(labels)["code"]): count
        for (name, labels), count in here.items()
        if name == "agentguard_denials_total"
    }
    assert denials == {
        ("alpha", "lookup", "limits.rate_exceeded"): 1,
        ("alpha", "flaky", "access.no_rule"): 1,
        ("beta", "lookup", "breakers.open"): 1,
    }
    assert value(here, "agentguard_errors_total", agent="beta", tool="flaky") == 2
    assert value(here, "agentguard_errors_total", agent="alpha", tool="lookup") == 0
    assert value(here, "agentguard_error_rate", agent="beta", tool="flaky") == 1.0
    assert value(here, "agentguard_error_rate", agent="beta", tool="lookup") == 0.0
    # alpha's flaky call never ran: no rate
    assert value(here, "agentguard_error_rate", agent="alpha", tool="flaky") is None
    assert value(here, "agentguard_spend_dollars_total", agent="alpha", tool="lookup") == 1.0
    assert value(here, "agentguard_spend_dollars_total", agent="beta", tool="lookup") == 0.25
    assert value(here, "agentguard_spend_dollars_total", agent="beta", tool="flaky") == 0.0
    histogram = "agentguard_action_duration_seconds"
    for agent, tool, ran in (("alpha", "lookup", 4), ("beta", "lookup", 1), ("beta", "flaky", 2)):
        assert value(here, f"{histogram}_count", agent=agent, tool=tool) == ran
        assert value(here, f"{histogram}_bucket", agent=agent, tool=tool, le="+Inf") == ran
    assert value(here, f"{histogram}_count", agent="alpha", tool="flaky") == 0
    findings = "agentguard_detector_findings_total"
    assert value(here, findings, agent="beta", tool="lookup", code="content.redacted") == 1
    assert [key for key in here if key[0] == findings] == [
        (
            findings,
            frozenset({"agent": "beta", "tool": "lookup", "code": "content.redacted"}.items()),
        )
    ]
    # control records apart from actions: the kill, as a control and as a kill
    assert value(here, "agentguard_controls_total", control="kill") == 1
    assert value(here, "agentguard_kills_total", scope="agent", target="alpha") == 1
    assert value(here, "agentguard_kill_switch_active", scope="agent", target="alpha") == 1
    state = "agentguard_circuit_breaker_state"
    for breaker in ("agent:beta", "tool:flaky"):
        assert value(here, state, breaker=breaker, state="open") == 1
        assert value(here, state, breaker=breaker, state="closed") == 0
    # a breaker that never counted a failure has no state in the store, and no series
    assert {dict(labels)["breaker"] for name, labels in here if name == state} == {
        "agent:beta",
        "tool:flaky",
    }
    assert value(here, "agentguard_audit_last_seq") == 11  # 10 actions and the kill
    assert value(here, "agentguard_audit_unreadable_records_total") == 0


class CountingStore(SQLiteStore):
    """A SQLite store that remembers what each audit search asked and returned."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads: list[tuple[int | None, int]] = []  # (after_seq, records returned)

    def search(self, query: AuditQuery) -> Iterator[AuditRecord]:
        records = list(super().search(query))
        self.reads.append((query.after_seq, len(records)))
        return iter(records)


def test_each_scrape_reads_only_the_records_written_since_the_last(
    tmp_path: Path, start: datetime
) -> None:
    db = tmp_path / "agentguard.db"
    act(tmp_path, f"sqlite:///{db}", start)
    store = CountingStore(db)
    with serve_metrics(store, port=0, clock=ManualClock(start), batch=5) as server:
        server.start()
        first = scrape(server.url)
        assert store.reads == [(0, 5), (5, 5), (10, 1)]  # in batches, each record once
        store.reads.clear()
        # another process resumes alpha; it is still over its limit of the hour
        with Guard.from_file(tmp_path / "policy.yaml", f"sqlite:///{db}") as guard:

            @guard.tool()
            def lookup(q: str) -> str:
                return q

            guard.resume(agent="alpha", reason="checked")
            with pytest.raises(Denied):
                guard.agent("alpha").call("lookup", q="again")
        second = scrape(server.url)
        assert store.reads == [(11, 2)]
    store.close()
    actions = {"agent": "alpha", "tool": "lookup", "status": "denied"}
    assert value(first, "agentguard_actions_total", **actions) == 1
    assert value(second, "agentguard_actions_total", **actions) == 2
    assert value(second, "agentguard_controls_total", control="resume") == 1
    assert value(second, "agentguard_kills_total", scope="agent", target="alpha") == 1
    assert value(second, "agentguard_kill_switch_active", scope="agent", target="alpha") is None
    assert value(second, "agentguard_audit_last_seq") == 13


def test_a_scrape_of_a_deleted_store_answers_503_and_other_paths_404(tmp_path: Path) -> None:
    db = tmp_path / "agentguard.db"
    store = open_store(f"sqlite:///{db}")
    with serve_metrics(store, port=0) as server:
        server.start()
        assert value(scrape(server.url), "agentguard_audit_last_seq") == 0
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url.replace("/metrics", "/other"), timeout=TIMEOUT)
        assert missing.value.code == 404
        for path in tmp_path.glob("agentguard.db*"):
            path.unlink()
        with pytest.raises(urllib.error.HTTPError) as gone:
            urllib.request.urlopen(server.url, timeout=TIMEOUT)
        assert gone.value.code == 503
        assert b"deleted while in use" in gone.value.read()
    store.close()


def test_metrics_command_refuses_a_store_that_does_not_exist(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(AGENTGUARD), "metrics", "--port", "0", "--store", "sqlite:///missing.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 3
    assert "no store at 'missing.db'" in result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_metrics_command_names_a_port_it_cannot_take(tmp_path: Path, metrics_cli: Any) -> None:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    open_store(url).close()
    _, address = metrics_cli(url)
    port = address.split(":")[2].split("/")[0]
    result = subprocess.run(
        [str(AGENTGUARD), "metrics", "--port", port, "--store", url],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr


# ------------------------------------------------------------------ the tally


T0 = datetime.fromisoformat("2026-03-15T12:00:00+00:00")


def entry(
    at: datetime,
    agent: str | None = "a",
    tool: str = "t",
    status: str = "executed",
    cost: str | None = None,
    **extra: Any,
) -> AuditEntry:
    return AuditEntry(
        timestamp=at,
        kind="action",
        agent_id=agent,
        action=tool,
        decision="deny" if status == "denied" else "allow",
        status=status,
        cost=None if cost is None else Decimal(cost),
        duration_ms=12.5,
        **extra,
    )


def test_windows_count_the_last_hour_by_the_second_and_the_day_by_the_minute() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    activity = Activity(clock=clock)
    follower = AuditFollower(store, activity)
    for age, status, cost in (
        (timedelta(hours=25), "executed", "9"),  # older than a day: totals only
        (timedelta(hours=23, minutes=30), "executed", "1"),
        (timedelta(minutes=61), "failed", None),
        (timedelta(minutes=59), "executed", "0.5"),
        (timedelta(seconds=30), "denied", None),
        (timedelta(seconds=-5), "executed", "0.25"),  # a writer whose clock is ahead
    ):
        store.append(entry(T0 - age, status=status, cost=cost))
    assert follower.poll() == 6 and follower.poll() == 0
    hour = activity.window(timedelta(hours=1))
    assert hour == Counts(actions=3, executed=2, denied=1, spend=Decimal("0.75"))
    assert hour.error_rate == 0.0
    day = activity.window(timedelta(days=1))
    assert day == Counts(actions=5, executed=3, failed=1, denied=1, spend=Decimal("1.75"))
    assert day.error_rate == 1 / 4
    assert activity.totals[("a", "t")].spend == Decimal("10.75")
    # an hour later, the last hour has only what came since
    clock.advance(timedelta(hours=1))
    store.append(entry(clock.now(), status="failed"))
    follower.poll()
    assert activity.window(timedelta(hours=1)) == Counts(actions=2, executed=1, failed=1,
                                                         spend=Decimal("0.25"))  # fmt: skip
    assert activity.window(timedelta(days=1)).actions == 5  # the 23.5h-old one is gone
    with pytest.raises(ValueError, match="further back"):
        activity.window(timedelta(days=2))


def test_window_by_agent_and_tool_glob() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    activity = Activity(clock=clock)
    for agent, tool, cost in (
        ("a", "send_email", "1"),
        ("a", "send_sms", "2"),
        ("b", "send_email", "4"),
    ):
        store.append(entry(T0, agent, tool, cost=cost))
    AuditFollower(store, activity).poll()
    spend = {
        (agent, tool): activity.window(timedelta(hours=1), match=matching(agent, tool)).spend
        for agent, tool in (("a", None), ("a", "send_*"), ("*", "send_email"), (None, None))
    }
    assert spend == {
        ("a", None): Decimal(3),
        ("a", "send_*"): Decimal(3),
        ("*", "send_email"): Decimal(5),
        (None, None): Decimal(7),
    }
    assert {a: c.actions for a, c in activity.by_agent(timedelta(hours=1)).items()} == {
        "a": 2,
        "b": 1,
    }


def test_label_values_are_bounded_and_the_policys_names_keep_theirs() -> None:
    store = MemoryStore()
    activity = Activity(clock=ManualClock(T0), max_names=2, names=["declared"])
    for agent in ("x1", "x2", "x3", "x4", "declared", None):
        store.append(
            entry(
                T0,
                agent,
                "t",
                status="denied",
                reasons=[{"layer": "l", "code": f"c.{agent}", "message": "m"}],
            )
        )
    AuditFollower(store, activity).poll()
    assert sorted(activity.totals) == [
        ("(none)", "t"), ("(other)", "t"), ("declared", "t"), ("x1", "t"), ("x2", "t"),
    ]  # fmt: skip
    assert activity.totals[(OTHER, "t")].statuses["denied"] == 2
    codes = {code for totals in activity.totals.values() for code in totals.denials}
    assert codes == {"c.x1", "c.x2", OTHER}


def test_records_that_are_not_actions_are_tallied_apart() -> None:
    store = MemoryStore()
    activity = Activity(clock=ManualClock(T0))
    store.append(entry(T0))
    store.append(
        AuditEntry(
            timestamp=T0, kind="control", agent_id=None, action="agentguard.kill",
            decision="kill", status="done", metadata={"scope": "all", "target": "*"},
        )
    )  # fmt: skip
    AuditFollower(store, activity).poll()
    activity.add(AuditRecord(3, "not json", "", ""))
    activity.add(AuditRecord(4, "[1, 2]", "", ""))
    assert sum(t.statuses.total() for t in activity.totals.values()) == 1
    assert activity.controls == {"kill": 1}
    assert activity.kills == {("all", "*"): 1}
    assert activity.unreadable == 2


def test_collector_reports_a_store_it_cannot_read_as_an_error(tmp_path: Path) -> None:
    db = tmp_path / "agentguard.db"
    store = open_store(f"sqlite:///{db}")
    collector = AuditCollector(store)
    assert collector.refresh() == 0
    for path in tmp_path.glob("agentguard.db*"):
        path.unlink()
    with pytest.raises(StoreUnavailable):
        list(collector.collect())
    store.close()
