"""HTTP notifiers: a signed JSON ``webhook`` and a Slack-compatible ``slack`` webhook.

Both POST with the standard library (``urllib``), treat any 2xx answer as delivered and do
not follow redirects: a webhook that answers 3xx has moved, and following it would send the
alert (and its signature) somewhere the policy never named. Proxies come from the usual
``https_proxy``/``no_proxy`` environment variables.

A receiver checks a signed webhook with :func:`verify_signature`::

    ok = verify_signature(secret, request.headers["X-Agentguard-Timestamp"], body,
                          request.headers["X-Agentguard-Signature"], now=datetime.now(UTC))
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from agentguard.clock import Clock, SystemClock
from agentguard.monitor.alert import Alert
from agentguard.monitor.notify import (
    DEFAULT_TIMEOUT,
    Notifier,
    NotifierConfig,
    NotifyError,
    register_notifier,
)

TIMESTAMP_HEADER = "X-Agentguard-Timestamp"
SIGNATURE_HEADER = "X-Agentguard-Signature"
DEFAULT_TOLERANCE = timedelta(seconds=300)

_USER_AGENT = "agentguard-notifier"


def sign(secret: str | bytes, timestamp: int | str, body: bytes | str) -> str:
    """The ``X-Agentguard-Signature`` value: ``sha256=`` and the hex HMAC-SHA256, keyed with
    ``secret``, of ``f"{timestamp}.{body}"``."""
    key = secret.encode() if isinstance(secret, str) else secret
    payload = body.encode() if isinstance(body, str) else body
    digest = hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: int | str,
    body: bytes | str,
    header: str,
    *,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> bool:
    """Whether ``header`` is the signature of ``body`` sent at ``timestamp`` (unix seconds),
    and that time is within ``tolerance`` of ``now`` (so a captured request cannot be
    replayed later). Compares in constant time.

    >>> from datetime import UTC, datetime
    >>> header = sign("s3cret", 1767225600, b'{"rule":"r"}')
    >>> verify_signature("s3cret", "1767225600", b'{"rule":"r"}', header,
    ...                  now=datetime(2026, 1, 1, tzinfo=UTC))
    True
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - sent) > tolerance.total_seconds():
        return False
    expected = sign(secret, sent, body)
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: how errors and names refer to a destination,
    leaving out the path and query (a Slack webhook's path is its secret)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx answer


_opener = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: timedelta) -> None:
    """POST ``body`` as JSON; return on a 2xx answer, raise :class:`NotifyError` otherwise.

    ``timeout`` bounds connecting and each read. Error messages name :func:`origin_of` the
    URL only.
    """
    origin = origin_of(url)
    request = urllib.request.Request(  # noqa: S310 - the scheme was checked to be http(s)
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": _USER_AGENT, **headers},
    )
    try:
        with _opener.open(request, timeout=timeout.total_seconds()) as response:
            response.read(64 * 1024)  # let the connection close cleanly; the body is unused
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        retryable = exc.code >= 500 or exc.code in (408, 429)
        what = "a redirect, which is not followed" if 300 <= exc.code < 400 else "an error"
        raise NotifyError(
            f"{origin} answered HTTP {exc.code} ({what})", retryable=retryable
        ) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise _timeout(origin, timeout) from None
        raise NotifyError(f"could not reach {origin} ({type(reason).__name__})") from None
    except TimeoutError:
        raise _timeout(origin, timeout) from None
    except (OSError, http.client.HTTPException) as exc:
        raise NotifyError(f"the connection to {origin} failed ({type(exc).__name__})") from None
    if not 200 <= status < 300:
        raise NotifyError(f"{origin} answered HTTP {status}", retryable=False)


def _timeout(origin: str, timeout: timedelta) -> NotifyError:
    return NotifyError(f"{origin} did not answer within {timeout.total_seconds():g}s")


class WebhookNotifier:
    """POSTs :meth:`Alert.to_json` to a URL; with a ``secret``, adds the headers
    ``X-Agentguard-Timestamp`` (unix seconds, from ``clock``) and ``X-Agentguard-Signature``
    (:func:`sign`)."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        clock: Clock | None = None,
        name: str | None = None,
    ) -> None:
        self.url = url
        self.name = name or f"webhook {origin_of(url)}"
        self.timeout = timeout
        self._secret = secret
        self._clock = clock or SystemClock()

    def send(self, alert: Alert) -> None:
        body = alert.to_json().encode()
        headers: dict[str, str] = {}
        if self._secret is not None:
            timestamp = int(self._clock.now().timestamp())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = sign(self._secret, timestamp, body)
        try:
            post_json(self.url, body, headers, timeout=self.timeout)
        except NotifyError as exc:
            raise NotifyError(f"{self.name}: {exc.message}", retryable=exc.retryable) from None

    def __repr__(self) -> str:  # no URL path, no secret
        return f"WebhookNotifier(name={self.name!r}, signed={self._secret is not None})"


class SlackNotifier:
    """POSTs a Slack incoming-webhook message: ``text`` (what notifications show) and one
    section block, with Slack's ``& < >`` escaped so that a summary cannot mention
    ``<!channel>`` or hide a link."""

    def __init__(
        self, url: str, *, timeout: timedelta = DEFAULT_TIMEOUT, name: str | None = None
    ) -> None:
        self.url = url
        self.name = name or f"slack {origin_of(url)}"
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        body = json.dumps(slack_message(alert)).encode()
        try:
            post_json(self.url, body, {}, timeout=self.timeout)
        except NotifyError as exc:
            raise NotifyError(f"{self.name}: {exc.message}", retryable=exc.retryable) from None

    def __repr__(self) -> str:  # a Slack webhook's URL is its credential
        return f"SlackNotifier(name={self.name!r})"


_MARK = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def slack_message(alert: Alert) -> dict[str, Any]:
    """The incoming-webhook payload for ``alert``."""
    agent = f" agent {_escape(alert.agent)}" if alert.agent else ""
    text = f"[{alert.severity.upper()}] {_escape(alert.rule)}{agent}: {_escape(alert.summary)}"
    figures = ", ".join(f"{_escape(k)}={_escape(str(v))}" for k, v in alert.details.items())
    context = f"{alert.at.isoformat().replace('+00:00', 'Z')}" + (
        f" · {figures}" if figures else ""
    )
    return {
        "text": text,
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{_MARK[alert.severity]} {text}"},
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _build_webhook(config: NotifierConfig) -> Notifier:
    url = config.url("webhook")
    return WebhookNotifier(
        url,
        secret=config.secret("secret_env"),
        timeout=config.duration("timeout", DEFAULT_TIMEOUT),
        clock=config.clock,
    )


def _build_slack(config: NotifierConfig) -> Notifier:
    url = config.url("slack")
    return SlackNotifier(url, timeout=config.duration("timeout", DEFAULT_TIMEOUT))


register_notifier("webhook", _build_webhook)
register_notifier("slack", _build_slack)
