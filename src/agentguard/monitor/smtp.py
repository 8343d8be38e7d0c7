"""The ``email`` notifier: a plain-text message through an SMTP server (``smtplib``).

notify:
  - email: [ops@example.com, oncall@example.com]
    smtp: mail.example.com:587      # host[:port], port 25 by default
    from: agentguard@example.com
    starttls: true
    username_env: SMTP_USER         # both or neither; login needs starttls
    password_env: SMTP_PASSWORD
    timeout: 10s
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage

from agentguard.monitor.alert import Alert
from agentguard.monitor.notify import (
    DEFAULT_TIMEOUT,
    Notifier,
    NotifierConfig,
    NotifyError,
    register_notifier,
)

DEFAULT_SENDER = "agentguard@localhost"


class EmailNotifier:
    """Sends each alert as one plain-text email to ``recipients``.

    The subject reads ``[agentguard CRITICAL] <rule> (<agent>)``; the body holds the
    summary, the time, the figures of ``details`` and the de-duplication key.
    """

    def __init__(
        self,
        recipients: Sequence[str],
        *,
        host: str,
        port: int = 25,
        sender: str = DEFAULT_SENDER,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        name: str | None = None,
    ) -> None:
        self.recipients = tuple(recipients)
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.timeout = timeout
        self.name = name or f"email {', '.join(self.recipients)}"
        self._login = (username, password) if username is not None and password else None

    def send(self, alert: Alert) -> None:
        message = email_message(alert, sender=self.sender, recipients=self.recipients)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout.total_seconds()) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self._login is not None:
                    smtp.login(*self._login)
                refused = smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            # 4xx: the server may take it later; 5xx: it never will
            raise NotifyError(
                f"{self.name}: {self.host}:{self.port} answered SMTP {exc.smtp_code} "
                f"({type(exc).__name__})",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPRecipientsRefused:
            raise NotifyError(
                f"{self.name}: {self.host}:{self.port} refused every recipient", retryable=False
            ) from None
        except TimeoutError:
            raise NotifyError(
                f"{self.name}: {self.host}:{self.port} did not answer within "
                f"{self.timeout.total_seconds():g}s"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise NotifyError(
                f"{self.name}: could not send through {self.host}:{self.port} "
                f"({type(exc).__name__})"
            ) from None
        if refused:  # the others got it: sending again would repeat it to them
            raise NotifyError(
                f"{self.name}: {self.host}:{self.port} refused {len(refused)} of "
                f"{len(self.recipients)} recipients",
                retryable=False,
            )

    def __repr__(self) -> str:
        return f"EmailNotifier(name={self.name!r}, smtp={self.host}:{self.port})"


def email_message(alert: Alert, *, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The message :class:`EmailNotifier` sends for ``alert``."""
    agent = f" ({alert.agent})" if alert.agent else ""
    subject = f"[agentguard {alert.severity.upper()}] {alert.rule}{agent}"
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())  # no line breaks in a header
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    lines = [
        alert.summary,
        "",
        f"Rule:     {alert.rule}",
        f"Severity: {alert.severity}",
        f"Agent:    {alert.agent or '-'}",
        f"Time:     {alert.at.isoformat().replace('+00:00', 'Z')}",
    ]
    if alert.details:
        lines += ["", "Details:"]
        lines += [f"  {name}: {value}" for name, value in alert.details.items()]
    lines += ["", f"Key: {alert.key}", "", "-- agentguard"]
    message.set_content("\n".join(lines) + "\n")
    return message


def parse_server(value: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6 address]:port`` → (host, port); port 25 by default."""
    host, port = value.strip(), "25"
    if host.startswith("["):
        address, _, rest = host[1:].partition("]")
        host = address
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{value!r} is not host:port")
            port = rest[1:]
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port with a port from 1 to 65535")
    return host, int(port)


def _build_email(config: NotifierConfig) -> Notifier:
    value = config.get("email")
    recipients = [value] if isinstance(value, str) else value
    if (
        not isinstance(recipients, list)
        or not recipients
        or not all(isinstance(r, str) and "@" in r and "\n" not in r for r in recipients)
    ):
        raise config.error("email is an address or a list of addresses")
    server = config.text("smtp")
    if server is None:
        raise config.error("smtp (host:port of the mail server) is required")
    try:
        host, port = parse_server(server)
    except ValueError as exc:
        raise config.error(f"smtp: {exc}") from None
    sender = config.text("from", DEFAULT_SENDER) or DEFAULT_SENDER
    starttls = config.flag("starttls", False)
    username = config.secret("username_env")
    password = config.secret("password_env")
    if (username is None) != (password is None):
        raise config.error("username_env and password_env go together: set both or neither")
    if username is not None and not starttls:
        raise config.error("logging in without starttls would send the password in clear")
    return EmailNotifier(
        recipients,
        host=host,
        port=port,
        sender=sender,
        starttls=starttls,
        username=username,
        password=password,
        timeout=config.duration("timeout", DEFAULT_TIMEOUT),
        name=None,
    )


register_notifier("email", _build_email)
