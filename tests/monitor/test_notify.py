"""Notifiers and the dispatcher, against real receivers on 127.0.0.1 (OS-chosen ports):
an ``http.server`` for webhooks and Slack, an ``aiosmtpd`` server for email. Time is a
ManualClock and the backoff's sleep is recorded, never slept."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tests.receivers import Receiver

from agentguard.clock import ManualClock
from agentguard.monitor import (
    Alert,
    Dispatcher,
    LogNotifier,
    Notifier,
    NotifyConfigError,
    NotifyError,
    notifier_from_config,
    verify_signature,
)
from agentguard.monitor.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER

pytestmark = pytest.mark.usefixtures("no_proxy")

SECRET = "whsec-test-0123456789"
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on: bound by us, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _LoopbackController(Controller):
    """aiosmtpd's Controller on a port the OS picks (it binds the socket itself)."""

    def _create_server(self) -> Any:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        return self.loop.create_server(self._factory_invoker, sock=sock)


class _Inbox:
    def __init__(self) -> None:
        self.messages: queue.Queue[tuple[str, list[str], Message]] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.messages.put((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_LoopbackController, _Inbox]]:
    inbox = _Inbox()
    controller = _LoopbackController(inbox, hostname="127.0.0.1", loop=asyncio.new_event_loop())
    controller.start()
    yield controller, inbox
    controller.stop()


# --- helpers -------------------------------------------------------------------------------


def make_alert(**changes: Any) -> Alert:
    values: dict[str, Any] = {
        "rule": "error_rate > 10%",
        "severity": "warning",
        "agent": "billing-bot",
        "summary": "billing-bot failed 14 of 100 calls in the last 5 minutes.",
        "at": START,
        "details": {"error_rate": 0.14, "calls": 100, "spend": Decimal("12.50")},
    }
    values.update(changes)
    return Alert(**values)


@dataclass
class Recorder:
    """A notifier that keeps what it is sent (and can fail on demand)."""

    name: str = "recorder"
    sent: list[Alert] = field(default_factory=list)
    failures: list[NotifyError] = field(default_factory=list)

    def send(self, alert: Alert) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(alert)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def dispatcher_factory(
    clock: ManualClock, sleeps: list[float]
) -> Iterator[Callable[..., Dispatcher]]:
    made: list[Dispatcher] = []

    def make(notifiers: list[Notifier], **options: Any) -> Dispatcher:
        options.setdefault("clock", clock)
        options.setdefault("sleep", sleeps.append)
        dispatcher = Dispatcher(notifiers, **options)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        assert dispatcher.close(timeout=10)


def webhook(url: str, clock: ManualClock, **options: Any) -> Notifier:
    return notifier_from_config(
        {"webhook": url, "secret_env": "AG_TEST_SECRET", "timeout": "5s", **options},
        clock=clock,
        environ={"AG_TEST_SECRET": SECRET},
    )


# --- alert -----------------------------------------------------------------------------------


def test_alert_key_defaults_to_rule_and_agent_and_json_keeps_decimals_exact() -> None:
    alert = make_alert()
    assert alert.key == "error_rate > 10%|billing-bot"
    assert make_alert(agent=None).key == "error_rate > 10%"
    data = json.loads(alert.to_json())
    assert data["details"] == {"error_rate": 0.14, "calls": 100, "spend": "12.50"}
    assert data["at"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"severity": "fatal"}, "severity 'fatal'"),
        ({"at": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"details": {"args": ["x"]}}, "details hold str, int, float or Decimal"),
        ({"details": {"rate": float("nan")}}, "not a finite number"),
    ],
)
def test_alert_refuses_bad_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_alert(**changes)


# --- webhook ---------------------------------------------------------------------------------


def test_webhook_posts_signed_json_that_verifies(receiver: Receiver, clock: ManualClock) -> None:
    alert = make_alert()
    webhook(receiver.url + "/hook", clock).send(alert)

    got = receiver.requests.get(timeout=10)
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    assert got.json() == alert.to_dict()
    timestamp = got.headers[TIMESTAMP_HEADER]
    assert timestamp == str(int(START.timestamp()))
    signature = got.headers[SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, got.body, signature, now=clock.now())


def test_webhook_signature_fails_for_tampered_body_old_timestamp_or_wrong_secret(
    receiver: Receiver, clock: ManualClock
) -> None:
    webhook(receiver.url, clock).send(make_alert())
    got = receiver.requests.get(timeout=10)
    timestamp, signature = got.headers[TIMESTAMP_HEADER], got.headers[SIGNATURE_HEADER]
    now = clock.now()

    tampered = got.body.replace(b"billing-bot", b"billing-bog")
    assert not verify_signature(SECRET, timestamp, tampered, signature, now=now)
    assert not verify_signature(
        SECRET, timestamp, got.body, signature, now=now + timedelta(seconds=301)
    )
    assert verify_signature(
        SECRET, timestamp, got.body, signature, now=now + timedelta(seconds=300)
    )
    assert not verify_signature("other-secret", timestamp, got.body, signature, now=now)
    assert not verify_signature(SECRET, str(int(timestamp) + 1), got.body, signature, now=now)
    assert not verify_signature(SECRET, "not-a-number", got.body, signature, now=now)


def test_webhook_without_secret_env_sends_no_signature(receiver: Receiver) -> None:
    notifier_from_config({"webhook": receiver.url}).send(make_alert())
    got = receiver.requests.get(timeout=10)
    assert SIGNATURE_HEADER not in got.headers
    assert TIMESTAMP_HEADER not in got.headers


def test_webhook_500_then_200_is_delivered_on_the_retry_after_backoff(
    receiver: Receiver,
    clock: ManualClock,
    sleeps: list[float],
    dispatcher_factory: Callable[..., Dispatcher],
) -> None:
    receiver.script = [(500, {})]
    failures: list[tuple[Alert, str, NotifyError]] = []
    dispatcher = dispatcher_factory(
        [webhook(receiver.url, clock)], on_failure=lambda *args: failures.append(args)
    )
    dispatcher.dispatch(make_alert())
    assert dispatcher.flush(timeout=10)

    assert len(receiver.taken()) == 2
    assert sleeps == [1.0]
    assert failures == []
    assert dispatcher.stats().delivered == {f"webhook {receiver.url}": 1}


def test_webhook_always_500_calls_on_failure_once_and_logs_without_secret_or_query(
    receiver: Receiver,
    clock: ManualClock,
    sleeps: list[float],
    dispatcher_factory: Callable[..., Dispatcher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.script = [(500, {})] * 10
    failures: list[tuple[Alert, str, NotifyError]] = []
    notifier = webhook(receiver.url + "/hook?token=query-secret-42", clock)
    dispatcher = dispatcher_factory([notifier], on_failure=lambda *args: failures.append(args))
    alert = make_alert()
    with caplog.at_level(logging.ERROR, logger="agentguard.alerts"):
        dispatcher.dispatch(alert)
        assert dispatcher.flush(timeout=10)

    assert len(receiver.taken()) == 4  # the first attempt and 3 retries
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(failures) == 1
    failed_alert, name, error = failures[0]
    assert failed_alert == alert
    assert name == notifier.name == f"webhook {receiver.url}"
    assert isinstance(error, NotifyError) and "HTTP 500" in error.message
    assert dispatcher.stats().failed == {notifier.name: 1}

    [record] = [r for r in caplog.records if r.name == "agentguard.alerts"]
    text = record.getMessage()
    assert notifier.name in text and "NotifyError" in text
    for secret in (SECRET, "query-secret-42", "token="):
        assert secret not in text
        assert secret not in repr(notifier)
        assert secret not in str(error)


def test_webhook_redirect_is_a_failure_and_the_target_gets_nothing(
    receiver_factory: Callable[[], Receiver],
    clock: ManualClock,
    sleeps: list[float],
    dispatcher_factory: Callable[..., Dispatcher],
) -> None:
    target = receiver_factory()
    moved = receiver_factory()
    moved.script = [(302, {"Location": target.url + "/elsewhere"})]
    failures: list[tuple[Alert, str, NotifyError]] = []
    dispatcher = dispatcher_factory(
        [webhook(moved.url, clock)], on_failure=lambda *args: failures.append(args)
    )
    dispatcher.dispatch(make_alert())
    assert dispatcher.flush(timeout=10)

    assert len(moved.taken()) == 1
    assert target.taken() == []
    assert sleeps == []  # a redirect is not retried
    [(_, _, error)] = failures
    assert "HTTP 302" in error.message and not error.retryable


def test_webhook_to_a_closed_port_fails_cleanly(closed_port: int, clock: ManualClock) -> None:
    notifier = webhook(f"http://127.0.0.1:{closed_port}/hook", clock)
    with pytest.raises(NotifyError, match=r"could not reach http://127\.0\.0\.1:\d+") as caught:
        notifier.send(make_alert())
    assert caught.value.retryable
    assert SECRET not in str(caught.value)


def test_webhook_that_does_not_answer_in_time_fails_with_a_timeout(
    receiver: Receiver, clock: ManualClock
) -> None:
    receiver.hold = threading.Event()
    notifier = webhook(receiver.url, clock, timeout="100ms")
    with pytest.raises(NotifyError, match=r"did not answer within 0\.1s"):
        notifier.send(make_alert())
    receiver.hold.set()


def test_webhook_4xx_is_not_retried(
    receiver: Receiver,
    clock: ManualClock,
    sleeps: list[float],
    dispatcher_factory: Callable[..., Dispatcher],
) -> None:
    receiver.script = [(404, {})]
    dispatcher = dispatcher_factory([webhook(receiver.url, clock)])
    dispatcher.dispatch(make_alert())
    assert dispatcher.flush(timeout=10)
    assert len(receiver.taken()) == 1
    assert sleeps == []


# --- slack -----------------------------------------------------------------------------------


def test_slack_text_carries_severity_and_summary_and_escapes_mentions(receiver: Receiver) -> None:
    notifier = notifier_from_config(
        {"slack": receiver.url + "/services/T0/B0/XYZ", "timeout": "5s"}
    )
    assert "XYZ" not in notifier.name and "XYZ" not in repr(notifier)
    notifier.send(make_alert(severity="critical", summary="spent $130 <!channel> in an hour."))

    got = receiver.requests.get(timeout=10).json()
    assert "CRITICAL" in got["text"]
    assert "spent $130 &lt;!channel&gt; in an hour." in got["text"]
    assert "<!channel>" not in json.dumps(got)
    assert got["blocks"][0]["type"] == "section"


# --- email -----------------------------------------------------------------------------------


def test_email_arrives_with_severity_and_rule_in_subject_and_summary_in_body(
    smtp_server: tuple[_LoopbackController, _Inbox],
) -> None:
    controller, inbox = smtp_server
    notifier = notifier_from_config(
        {
            "email": ["ops@example.com", "oncall@example.com"],
            "smtp": f"127.0.0.1:{controller.port}",
            "from": "agentguard@localhost",
            "starttls": False,
        }
    )
    alert = make_alert(severity="critical", rule="spend > $100/hour")
    notifier.send(alert)

    mail_from, rcpt_tos, message = inbox.messages.get(timeout=10)
    assert mail_from == "agentguard@localhost"
    assert rcpt_tos == ["ops@example.com", "oncall@example.com"]
    assert "CRITICAL" in message["Subject"] and "spend > $100/hour" in message["Subject"]
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert alert.summary in body
    assert "spend: 12.50" in body


def test_email_to_a_closed_port_fails_cleanly(closed_port: int) -> None:
    notifier = notifier_from_config(
        {"email": "ops@example.com", "smtp": f"127.0.0.1:{closed_port}"}
    )
    with pytest.raises(NotifyError, match=r"could not send through 127\.0\.0\.1"):
        notifier.send(make_alert())


# --- log -------------------------------------------------------------------------------------


def test_log_notifier_writes_one_json_line(caplog: pytest.LogCaptureFixture) -> None:
    alert = make_alert()
    with caplog.at_level(logging.INFO, logger="agentguard.alerts"):
        notifier_from_config({"log": True}).send(alert)
    [record] = caplog.records
    assert record.name == "agentguard.alerts"
    assert record.levelno == logging.WARNING  # the alert's severity
    assert json.loads(record.getMessage()) == alert.to_dict()


def test_log_notifier_with_a_level_uses_it(caplog: pytest.LogCaptureFixture) -> None:
    notifier = notifier_from_config({"log": "error"})
    assert isinstance(notifier, LogNotifier)
    with caplog.at_level(logging.INFO, logger="agentguard.alerts"):
        notifier.send(make_alert(severity="info"))
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


# --- dedupe, rate limit, failures ------------------------------------------------------------


def test_same_key_within_the_window_is_sent_once_and_the_next_carries_the_count(
    clock: ManualClock, dispatcher_factory: Callable[..., Dispatcher]
) -> None:
    recorder = Recorder()
    dispatcher = dispatcher_factory([recorder], dedupe=timedelta(minutes=10))
    dispatcher.dispatch(make_alert())
    clock.advance(timedelta(minutes=9))
    dispatcher.dispatch(make_alert())
    dispatcher.dispatch(make_alert(agent="other-bot"))  # another key
    assert dispatcher.flush(timeout=10)
    assert [a.agent for a in recorder.sent] == ["billing-bot", "other-bot"]

    clock.advance(timedelta(minutes=1))
    dispatcher.dispatch(make_alert())
    assert dispatcher.flush(timeout=10)
    assert recorder.sent[-1].details["suppressed"] == 1
    assert "suppressed" not in recorder.sent[0].details
    assert dispatcher.stats().suppressed == 1


def test_rate_limit_drops_past_n_per_window_and_counts_them(
    clock: ManualClock, dispatcher_factory: Callable[..., Dispatcher]
) -> None:
    recorder = Recorder()
    dispatcher = dispatcher_factory([recorder], rate_limit=3, rate_window=timedelta(hours=1))
    for n in range(5):
        dispatcher.dispatch(make_alert(key=f"k{n}"))
    assert dispatcher.flush(timeout=10)
    assert [a.key for a in recorder.sent] == ["k0", "k1", "k2"]
    assert dispatcher.stats().rate_limited == {"recorder": 2}

    clock.advance(timedelta(hours=1))
    dispatcher.dispatch(make_alert(key="k5"))
    assert dispatcher.flush(timeout=10)
    assert recorder.sent[-1].key == "k5"
    assert recorder.sent[-1].details["rate_limited"] == 2


def test_a_failing_notifier_does_not_stop_the_others_and_never_raises(
    sleeps: list[float], dispatcher_factory: Callable[..., Dispatcher]
) -> None:
    class Broken:
        name = "broken"

        def send(self, alert: Alert) -> None:
            raise RuntimeError("bug with a secret: hunter2")

    recorder = Recorder()
    failures: list[tuple[Alert, str, NotifyError]] = []

    def on_failure(alert: Alert, name: str, error: NotifyError) -> None:
        failures.append((alert, name, error))
        raise RuntimeError("the callback failing is logged, not raised")

    dispatcher = dispatcher_factory([Broken(), recorder], on_failure=on_failure)
    dispatcher.dispatch(make_alert())
    assert dispatcher.flush(timeout=10)
    assert len(recorder.sent) == 1
    [(_, name, error)] = failures
    assert name == "broken" and "RuntimeError" in error.message
    assert "hunter2" not in error.message
    assert sleeps == []  # an unexpected error is not retried


def test_dispatch_after_close_is_dropped_and_counted(
    dispatcher_factory: Callable[..., Dispatcher],
) -> None:
    recorder = Recorder()
    dispatcher = dispatcher_factory([recorder])
    dispatcher.dispatch(make_alert(key="before"))
    assert dispatcher.close(timeout=10)
    dispatcher.dispatch(make_alert(key="after"))
    assert [a.key for a in recorder.sent] == ["before"]
    assert dispatcher.stats().dropped == 1


def test_from_config_builds_the_notifiers_of_a_notify_list(
    receiver: Receiver, clock: ManualClock, sleeps: list[float]
) -> None:
    with Dispatcher.from_config(
        [{"log": True}, {"webhook": receiver.url, "secret_env": "S", "name": "ops hook"}],
        environ={"S": SECRET},
        clock=clock,
        sleep=sleeps.append,
    ) as dispatcher:
        assert [n.name for n in dispatcher.notifiers] == ["log", "ops hook"]
        dispatcher.dispatch(make_alert())
        assert dispatcher.flush(timeout=10)
    assert len(receiver.taken()) == 1


def test_two_notifiers_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two notifiers are called 'recorder'"):
        Dispatcher([Recorder(), Recorder()])


# --- configuration errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"pager": "x"}, r"needs exactly one of email, log, slack, webhook \(found none\)"),
        ({"log": True, "slack": "http://127.0.0.1/x"}, r"\(found log and slack\)"),
        ({"log": False}, "log is true"),
        ({"webhook": "ftp://127.0.0.1/hook"}, "must start with http:// or https://, not 'ftp'"),
        ({"webhook": "file:///etc/passwd"}, "must start with http:// or https://"),
        ({"webhook": "http:///hook"}, "the URL has no host"),
        ({"webhook": "http://user:pw@127.0.0.1/hook"}, "credentials"),
        (
            {"webhook": "http://127.0.0.1/hook", "timeout": "5 parsecs"},
            "notify webhook: timeout: '5 parsecs' is not a duration",
        ),
        ({"webhook": "http://127.0.0.1/hook", "secret": "AG"}, r"unknown option\(s\) 'secret'"),
        ({"email": "not-an-address", "smtp": "127.0.0.1:25"}, "email is an address"),
        ({"email": "ops@example.com"}, "smtp .* is required"),
        ({"email": "ops@example.com", "smtp": "127.0.0.1:99999"}, "port from 1 to 65535"),
        (
            {
                "email": "ops@example.com",
                "smtp": "127.0.0.1",
                "username_env": "U",
                "password_env": "P",
            },
            "without starttls",
        ),
    ],
)
def test_bad_notify_entries_are_refused_with_clear_messages(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotifyConfigError, match=message) as caught:
        notifier_from_config(config, environ={"U": "user", "P": "pw"})
    assert isinstance(caught.value, ValueError)


def test_missing_secret_env_var_is_named_without_any_value() -> None:
    with pytest.raises(NotifyConfigError) as caught:
        notifier_from_config(
            {"webhook": "http://127.0.0.1/hook", "secret_env": "AG_NOT_SET"},
            environ={"AG_OTHER": SECRET},
        )
    assert "AG_NOT_SET" in str(caught.value) and "not set" in str(caught.value)
    assert SECRET not in str(caught.value)
