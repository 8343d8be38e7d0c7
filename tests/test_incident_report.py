"""Incident response from the audit log alone: the research loop of the runaway incident
(examples/research_loop) opens an incident through its alert rule, and the report names the
first looping call, the alert, the stop and the spend; incidents opened and closed by a
person through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from agentguard import AgentStopped, Guard
from agentguard.incident import IncidentNotFound, build_report, list_incidents
from agentguard.store import open_store

AGENTGUARD = Path(sys.executable).parent / "agentguard"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(AGENTGUARD), *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def research(load_example: Callable[[str], ModuleType]) -> ModuleType:
    return load_example("research_loop")


def test_the_report_of_the_research_loop_names_the_loop_the_alert_the_stop_and_the_spend(
    research: ModuleType, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'agentguard.db'}"
    outcome = research.run(url, say=lambda _: None)
    assert outcome.executed == 27
    store = open_store(url)
    try:
        [incident] = list_incidents(store)
        assert incident["agent"] == "research_agent" and incident["state"] == "open"
        report = build_report(store, incident["incident"])
    finally:
        store.close()
    # the loop repeated the first query: its first call is the first record of the log
    assert report.first_looping_call is not None and report.first_looping_call.seq == 1
    assert report.first_anomaly is not None
    assert "breakers.loop_detected" in report.first_anomaly.detail
    [alert] = report.alerts
    assert alert.detail.startswith("loop_detected (critical)")
    [stop] = report.stops
    assert "breakers.loop_detected" in stop.detail
    assert report.spend == Decimal("0.085") * 27  # measured from the records' costs
    assert report.actions["executed"] == 27
    # detection and stop are measured: the loop was caught on the call it was detected on
    assert report.detect_seconds == 0.0 and report.stop_seconds == 0.0
    markdown = report.to_markdown()
    assert f"# Incident {incident['incident']}" in markdown
    assert "first looping call" in markdown and "$2.295" in markdown


def test_a_person_opens_reports_and_closes_an_incident(tmp_path: Path, policy: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ag.db'}"
    guard = Guard.from_file(policy, url)
    try:

        @guard.tool()
        def read_inbox(folder: str = "inbox", limit: int = 20) -> list[str]:
            return ["hello"]

        agent = guard.agent("email_agent", subject="cust_42")
        agent.call("read_inbox", folder="inbox")
        with pytest.raises(Exception):
            agent.call("modify_pricing", sku="A", price=1)
        opened = cli("incident", "open", "--agent", "email_agent", "--reason",
                     "customer says it priced items", "--store", url)  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        ident = opened.stdout.strip()
        assert ident.startswith("inc_")
        with pytest.raises(AgentStopped):  # open stops the agent
            agent.call("read_inbox", folder="inbox")
    finally:
        guard.close()
    listed = cli("incident", "list", "--json", "--store", url)
    assert [json.loads(line)["incident"] for line in listed.stdout.splitlines()] == [ident]
    report = cli("incident", "report", ident, "--json", "--store", url)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert data["agent"] == "email_agent" and data["state"] == "open"
    assert data["first_anomaly"]["detail"].startswith("modify_pricing: denied")
    assert data["actions"] == {"executed": 1, "denied": 2}
    assert data["subjects"] == ["cust_42"]
    assert [s["what"] for s in data["stops"]] == ["stopped"]
    closed = cli("incident", "close", ident, "--summary", "role fixed", "--store", url)
    assert closed.returncode == 0, closed.stderr
    again = cli("incident", "close", ident, "--summary", "twice", "--store", url)
    assert again.returncode == 2 and "closed already" in again.stderr
    final = json.loads(cli("incident", "report", ident, "--json", "--store", url).stdout)
    assert final["state"] == "closed" and final["summary"] == "role fixed"


def test_unknown_incidents_and_bad_input_are_clear_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ag.db'}"
    open_store(url).close()
    missing = cli("incident", "report", "inc_0000000000000000", "--store", url)
    assert missing.returncode == 2 and "no incident" in missing.stderr
    assert "Traceback" not in missing.stderr
    nostore = cli("incident", "list", "--store", f"sqlite:///{tmp_path / 'nope.db'}")
    assert nostore.returncode == 3
    bad = cli("incident", "open", "--agent", "a", "--reason", " ", "--store", url)
    assert bad.returncode == 2
    store = open_store(url)
    try:
        with pytest.raises(IncidentNotFound):
            build_report(store, "inc_ffffffffffffffff")
    finally:
        store.close()
