"""Alert rules end to end: a real guard on a real SQLite file, a ManualClock for the
windows (no sleeps), and a real HTTP receiver on 127.0.0.1 for the signed webhook."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.receivers import Receiver

from agentguard import AgentStopped, Guard
from agentguard.clock import ManualClock
from agentguard.errors import PolicyError
from agentguard.monitor import verify_signature
from agentguard.monitor.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from agentguard.policy import parse_policy
from agentguard.policy.alerts import Event, Signal, Threshold, parse_condition

SECRET = "whsec-alerts-0123456789abcdef"

BASE = """
version: 1
tools:
  call_api:
    input: {q: {type: string}}
    cost: 1.25
  flaky:
    input: {n: {type: integer}}
  send_email:
    input: {to: {type: string}, body: {type: string}}
    outbound: [body]
roles:
  worker: {allow: [call_api, flaky, send_email]}
agents:
  research_agent: {roles: [worker]}
  other_agent: {roles: [worker]}
"""


def policy_text(alerts: str, url: str | None = None, extra: str = "") -> str:
    notify = f'notify:\n  - {{webhook: "{url}/hook", secret_env: AG_TEST_SECRET}}\n' if url else ""
    return BASE + textwrap.dedent(alerts) + notify + textwrap.dedent(extra)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AG_TEST_SECRET", SECRET)


@pytest.fixture
def make_guard(tmp_path: Path, clock: ManualClock) -> Iterator[Callable[..., Guard]]:
    guards: list[Guard] = []

    def make(text: str, db: str = "ag.db") -> Guard:
        guard = Guard(parse_policy(text, source="policy.yaml"), f"sqlite:///{tmp_path / db}",
                      clock=clock)  # fmt: skip

        @guard.tool()
        def call_api(q: str) -> str:
            return "ok"

        @guard.tool()
        def flaky(n: int) -> int:
            if n < 0:
                raise RuntimeError("upstream failed")
            return n

        @guard.tool()
        def send_email(to: str, body: str) -> str:
            return "sent"

        guards.append(guard)
        return guard

    yield make
    for guard in guards:
        guard.close()


def records(guard: Guard) -> list[dict[str, Any]]:
    path = guard.store.path  # type: ignore[attr-defined]
    rows = sqlite3.connect(path).execute("SELECT body FROM audit ORDER BY seq").fetchall()
    return [json.loads(body) for (body,) in rows]


def fired(guard: Guard) -> list[dict[str, Any]]:
    return [r for r in records(guard) if r["action"] == "agentguard.alert"]


def signed_alerts(receiver: Receiver, clock: ManualClock) -> list[dict[str, Any]]:
    """Every alert the receiver got, each checked against its HMAC signature."""
    out = []
    for got in receiver.taken():
        assert verify_signature(
            SECRET, got.headers[TIMESTAMP_HEADER], got.body, got.headers[SIGNATURE_HEADER],
            now=clock.now(),
        ), "the webhook's signature does not verify"  # fmt: skip
        out.append(got.json())
    return out


# ------------------------------------------------------------------ the policy


def test_the_seed_examples_load_as_written(receiver: Receiver) -> None:
    policy = parse_policy(
        policy_text(
            """
            alerts:
              - {when: "error_rate > 10%", severity: critical, then: [notify]}
              - {when: "spend > $100/hour", severity: critical, then: [stop_agent, notify]}
              - {when: "spend > $5 within 10m", severity: warning, then: [notify]}
              - {when: "sensitive_data_detected", severity: critical, then: [stop_agent, notify]}
              - {when: "signal customer_complaint", severity: warning, then: [notify]}
            """,
            receiver.url,
        )
    )
    rules = policy.model.alerts
    assert rules is not None
    assert [type(r.when) for r in rules] == [Threshold, Threshold, Threshold, Event, Signal]
    assert [r.label for r in rules][:3] == [
        "error_rate > 10%",
        "spend > $100/hour",
        "spend > $5 within 10m",
    ]
    assert rules[1].when == Threshold("spend", ">", parse_condition("spend > $100/hour").value,  # type: ignore[union-attr]
                                      timedelta(hours=1))  # fmt: skip


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ('- {when: "spend > 5", then: [log]}', "say over what time"),
        ('- {when: "eror_rate > 10%"}', "is not a condition"),
        ('- {when: "error_rate > 150%"}', "from 0% to under 100%"),
        ('- {when: "calls > $5/hour"}', "is a count, not dollars"),
        ('- {when: "signal"}', "a signal's name"),
        ('- {when: "loop_detected", then: [page_someone]}', "then"),
        ('- {when: "loop_detected", then: []}', "`then` is empty"),
        ('- {when: "loop_detected", severity: fatal}', "severity"),
        ('- {when: "loop_detected", agents: [reserch_agent]}', "did you mean 'research_agent'"),
        ('- {when: "loop_detected", then: [notify], repeat_after: 0s}', "longer than zero"),
    ],
)
def test_a_bad_rule_is_refused_with_its_line(alerts: str, message: str) -> None:
    text = BASE + "alerts:\n  " + alerts + "\nnotify:\n  - {log: true}\n"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="policy.yaml")
    assert message in str(caught.value)
    assert "policy.yaml:" in str(caught.value)


def test_notify_without_targets_and_bad_targets_are_refused() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(BASE + 'alerts:\n  - {when: "loop_detected"}\n', source="p.yaml")
    assert "there is no 'notify:' section" in str(caught.value)
    bad = BASE + 'alerts:\n  - {when: "loop_detected"}\nnotify:\n  - {webhok: "http://x"}\n'
    with pytest.raises(PolicyError) as caught:
        parse_policy(bad, source="p.yaml")
    assert "needs exactly one of" in str(caught.value) and "p.yaml:" in str(caught.value)
    creds = (
        BASE + 'alerts:\n  - {when: "loop_detected"}\nnotify:\n  - {webhook: "http://u:pw@h/x"}\n'
    )
    with pytest.raises(PolicyError) as caught:
        parse_policy(creds, source="p.yaml")
    assert "not in the URL" in str(caught.value) and "pw" not in str(caught.value)


def test_a_missing_webhook_secret_refuses_to_start(
    make_guard: Callable[..., Guard], monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    monkeypatch.delenv("AG_TEST_SECRET")
    text = policy_text('alerts:\n  - {when: "loop_detected"}\n', receiver.url)
    parse_policy(text)  # `check` does not need the secret
    with pytest.raises(Exception, match="AG_TEST_SECRET, which is not set"):
        make_guard(text)


# ------------------------------------------------------------------ thresholds


def test_error_rate_fires_once_signed_and_again_after_repeat_after(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    guard = make_guard(
        policy_text(
            """
            alerts:
              - {when: "error_rate > 10% within 5m", severity: critical, then: [notify],
                 repeat_after: 10m}
            """,
            receiver.url,
        )
    )
    agent = guard.agent("research_agent")
    for n in range(9):
        agent.call("flaky", n=n)
    with pytest.raises(RuntimeError):
        agent.call("flaky", n=-1)
    # 1 of 10 is 10%: not over
    assert fired(guard) == []
    with pytest.raises(RuntimeError):
        agent.call("flaky", n=-1)  # 2 of 11
    [record] = fired(guard)
    assert record["metadata"]["details"]["errors"] == 2
    assert record["metadata"]["details"]["calls"] == 11
    assert guard.flush_alerts(timeout=10)
    [alert] = signed_alerts(receiver, clock)
    assert alert["rule"] == "error_rate > 10% within 5m"
    assert alert["severity"] == "critical" and alert["agent"] == "research_agent"
    assert "2 of 11 calls failed" in alert["summary"]
    for _ in range(5):  # still over, within repeat_after: not repeated, in any process
        with pytest.raises(RuntimeError):
            agent.call("flaky", n=-1)
    assert len(fired(guard)) == 1
    clock.advance(timedelta(minutes=10))
    for _ in range(10):
        with pytest.raises(RuntimeError):
            agent.call("flaky", n=-1)
    assert len(fired(guard)) == 2
    assert guard.flush_alerts(timeout=10)
    assert len(signed_alerts(receiver, clock)) == 1


def test_error_rate_needs_min_calls(make_guard: Callable[..., Guard]) -> None:
    guard = make_guard(
        policy_text(
            """
            alerts:
              - {when: "error_rate > 10%", then: [open_incident], min_calls: 4}
            """
        )
    )
    agent = guard.agent("research_agent")
    for _ in range(3):
        with pytest.raises(RuntimeError):
            agent.call("flaky", n=-1)
    assert fired(guard) == []
    with pytest.raises(RuntimeError):
        agent.call("flaky", n=-1)
    [record] = fired(guard)
    assert record["metadata"]["details"]["error_rate"] == 1.0
    incidents = [r for r in records(guard) if r["action"] == "agentguard.incident.open"]
    assert len(incidents) == 1 and incidents[0]["agent_id"] == "research_agent"


def test_spend_over_a_window_stops_the_agent_and_notifies(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    guard = make_guard(
        policy_text(
            """
            alerts:
              - {when: "spend > $5 within 10m", severity: critical, then: [stop_agent, notify]}
            """,
            receiver.url,
        )
    )
    agent = guard.agent("research_agent")
    for _ in range(4):  # $5.00: not over
        agent.call("call_api", q="x")
    assert fired(guard) == []
    clock.advance(timedelta(minutes=11))  # the first four leave the window
    for _ in range(4):
        agent.call("call_api", q="x")
    assert fired(guard) == []
    agent.call("call_api", q="x")  # $6.25 within 10m
    [record] = fired(guard)
    assert record["metadata"]["details"]["spend"] == "6.25"
    with pytest.raises(AgentStopped):
        agent.call("call_api", q="x")
    guard.agent("other_agent").call("call_api", q="x")  # only that agent is stopped
    assert guard.flush_alerts(timeout=10)
    [alert] = signed_alerts(receiver, clock)
    assert alert["details"]["spend"] == "6.25"
    assert alert["details"]["actions"] == "stop_agent, notify"
    assert "spent $6.25 in the last 10m, over $5" in alert["summary"]
    kills = [r for r in records(guard) if r["action"] == "agentguard.kill"]
    assert len(kills) == 1 and "spend > $5 within 10m" in kills[0]["metadata"]["reason"]
    assert guard.resume(agent="research_agent")
    agent.call("call_api", q="x")  # resumed by a person


def test_figures_are_shared_by_guards_on_one_store(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    text = policy_text('alerts:\n  - {when: "calls > 5 within 1h", then: [notify]}\n', receiver.url)
    first, second = make_guard(text), make_guard(text)
    for n in range(2):
        first.agent("research_agent").call("flaky", n=n)
        second.agent("research_agent").call("flaky", n=n)
    second.agent("research_agent").call("flaky", n=5)
    assert fired(first) == []  # 5 calls across both guards: not over 5
    first.agent("research_agent").call("flaky", n=6)  # the 6th, counted across both
    second.agent("research_agent").call("flaky", n=7)  # the 7th: fired already
    assert len(fired(first)) == 1
    assert first.flush_alerts(10) and second.flush_alerts(10)
    assert len(signed_alerts(receiver, clock)) == 1


def test_undeclared_agents_and_dry_runs_are_not_counted(make_guard: Callable[..., Guard]) -> None:
    guard = make_guard(
        policy_text('alerts:\n  - {when: "denials >= 2 within 1h", then: [open_incident]}\n')
    )
    for _ in range(3):
        with pytest.raises(Exception):
            guard.agent("ghp_" + "x" * 36).call("call_api", q="x")
        guard.agent("research_agent").check("nope")
    assert fired(guard) == []
    for _ in range(2):
        with pytest.raises(Exception):
            guard.agent("research_agent").call("nope")
    [record] = fired(guard)
    assert record["agent_id"] == "research_agent"


# ------------------------------------------------------------------ events and signals


def test_sensitive_data_detected_stops_the_agent(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    ssn = "536-22-8841"
    guard = make_guard(
        policy_text(
            """
            alerts:
              - {when: "sensitive_data_detected", severity: critical, then: [stop_agent, notify]}
            """,
            receiver.url,
            """
            detectors:
              rules:
                - {scan: outbound, detectors: [pii], types: [US_SSN], action: redact}
            """,
        )
    )
    agent = guard.agent("research_agent")
    agent.call("send_email", to="ops@corp.test", body="weekly numbers attached")
    assert fired(guard) == []
    agent.call("send_email", to="ops@corp.test", body=f"customer ssn {ssn}")  # redacted, sent
    [record] = fired(guard)
    assert "content.redacted" in record["metadata"]["details"]["codes"]
    with pytest.raises(AgentStopped):
        agent.call("call_api", q="x")
    assert guard.flush_alerts(timeout=10)
    [alert] = signed_alerts(receiver, clock)
    assert ssn not in json.dumps(alert) and ssn not in json.dumps(records(guard))
    assert alert["summary"].startswith("agent 'research_agent': sensitive data was detected")


def test_a_signal_fires_its_rules_and_never_shows_the_subject(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    guard = make_guard(
        policy_text(
            """
            alerts:
              - {when: "signal customer_complaint", severity: warning,
                 then: [notify, open_incident]}
              - {when: "signal refund_dispute", agents: [other_agent], then: [notify]}
            """,
            receiver.url,
        )
    )
    done = guard.signal("customer_complaint", agent="research_agent", subject="alice@corp.test")
    assert done == ["alert 'signal customer_complaint' fired (notify, open_incident)"]
    assert guard.signal("refund_dispute", agent="research_agent") == []  # another agent's rule
    assert guard.signal("unheard_of") == []  # recorded all the same
    again = guard.signal("customer_complaint", agent="research_agent")
    assert "not repeated" in again[0]
    logged = records(guard)
    signals = [r for r in logged if r["action"] == "agentguard.signal"]
    assert [s["metadata"]["signal"] for s in signals] == [
        "customer_complaint", "refund_dispute", "unheard_of", "customer_complaint"
    ]  # fmt: skip
    assert "alice@corp.test" not in json.dumps(logged)
    assert signals[0]["metadata"]["subject"].startswith("[subject ")
    assert len([r for r in logged if r["action"] == "agentguard.incident.open"]) == 1
    assert guard.flush_alerts(timeout=10)
    [alert] = signed_alerts(receiver, clock)
    assert alert["details"]["signal"] == "customer_complaint"
    assert alert["details"]["subject_tag"] == signals[0]["metadata"]["subject"]
    with pytest.raises(ValueError, match="a signal's name"):
        guard.signal("two words")
    with pytest.raises(Exception, match="not defined in the policy"):
        guard.signal("customer_complaint", agent="nobody")


def test_a_failed_delivery_is_recorded_and_blocks_nothing(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    receiver.script = [(400, {})]  # not retryable: fails at once
    guard = make_guard(
        policy_text('alerts:\n  - {when: "signal page_me", then: [notify]}\n', receiver.url)
    )
    guard.signal("page_me", agent="research_agent")
    assert guard.flush_alerts(timeout=10)
    guard.agent("research_agent").call("call_api", q="x")  # actions go on
    [failure] = [r for r in records(guard) if r["action"] == "agentguard.alert.failed"]
    assert failure["metadata"]["rule"] == "signal page_me"
    assert "127.0.0.1" in failure["metadata"]["error"]
    assert "/hook" not in failure["metadata"]["error"]


def test_cli_signal(tmp_path: Path, receiver: Receiver) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        policy_text(
            'alerts:\n  - {when: "signal customer_complaint", then: [notify, open_incident]}\n',
            receiver.url,
        )
    )
    store = f"sqlite:///{tmp_path / 'ag.db'}"
    base = [sys.executable, "-m", "agentguard", "signal", "customer_complaint",
            "--policy", str(policy), "--store", store]  # fmt: skip
    env = {"AG_TEST_SECRET": SECRET, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    missing = subprocess.run([*base[:-1], f"sqlite:///{tmp_path / 'nope.db'}"], capture_output=True,
                             env=env, check=False)  # fmt: skip
    assert missing.returncode == 3 and b"no store at" in missing.stderr  # never a new store
    Guard.from_file(policy, store).close()  # the store the guards use
    done = subprocess.run(
        [*base, "--agent", "research_agent", "--subject", "alice@corp.test"],
        capture_output=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert b"fired (notify, open_incident)" in done.stdout
    got = receiver.taken()  # the CLI delivered it before exiting
    assert len(got) == 1 and got[0].json()["rule"] == "signal customer_complaint"
    assert b"alice" not in got[0].body
    bad = subprocess.run([*base, "--agent", "nobody"], capture_output=True, env=env, check=False)
    assert bad.returncode == 2 and b"not defined in the policy" in bad.stderr
    assert b"Traceback" not in bad.stderr


@given(
    st.text(max_size=80)
    | st.from_regex(
        r"(spend|calls|error_rate) >=? \$?[0-9.,%]{1,30}( within [0-9a-z.]{1,8}|/[a-z0-9]{1,8})?",
        fullmatch=True,
    )
)
@settings(max_examples=300, deadline=None)
def test_any_condition_text_parses_or_is_a_clear_value_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ValueError as exc:
        assert str(exc)  # a message naming what was wrong, never another exception
        return
    assert isinstance(condition, Threshold | Event | Signal)
    if isinstance(condition, Threshold):
        assert condition.value.is_finite() and condition.value >= 0
        assert condition.window.total_seconds() > 0


def test_the_policy_json_schema_accepts_alert_rules_as_written(receiver: Receiver) -> None:
    """Editors validate policies with `agentguard schema`: a `when` is a string there."""
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    from agentguard.policy import policy_json_schema

    text = policy_text(
        """
        alerts:
          - {when: "error_rate > 10%", severity: critical, then: [notify]}
          - {when: "spend > $5 within 10m", agents: [research_agent], repeat_after: 1h}
          - {when: "signal customer_complaint", then: [notify, open_incident]}
        """,
        receiver.url,
    )
    document = YAML(typ="safe").load(text)
    validator = Draft202012Validator(policy_json_schema())
    assert [e.message for e in validator.iter_errors(document)] == []
    document["alerts"][0]["when"] = {"metric": "error_rate"}
    assert list(validator.iter_errors(document))  # an object is not a condition


def test_circuit_open_fires_on_the_failure_that_opens_a_breaker(
    make_guard: Callable[..., Guard], receiver: Receiver, clock: ManualClock
) -> None:
    guard = make_guard(
        policy_text(
            'alerts:\n  - {when: "circuit_open", severity: critical, then: [notify]}\n',
            receiver.url,
            "breakers:\n  errors: {errors: 3, within: 60s, cooldown: 5m}\n",
        )
    )
    agent = guard.agent("research_agent")
    for _ in range(2):
        with pytest.raises(RuntimeError):
            agent.call("flaky", n=-1)
        clock.advance(timedelta(seconds=1))
    assert fired(guard) == []
    with pytest.raises(RuntimeError):
        agent.call("flaky", n=-1)  # the third failure opens it: the alert goes now
    [record] = fired(guard)
    assert record["metadata"]["details"]["status"] == "failed"
    assert guard.flush_alerts(timeout=10)
    [alert] = signed_alerts(receiver, clock)
    assert "circuit breaker is open" in alert["summary"]
