"""Notifiers deliver an :class:`~agentguard.monitor.alert.Alert`: one Protocol, one registry.

Each entry of a policy's ``notify:`` list is a mapping whose one *kind* key says which
notifier it is; the other keys are that notifier's options::

    notify:
      - log: true                                  # a JSON line on logger agentguard.alerts
      - webhook: https://ops.example.com/hooks/agentguard
        secret_env: AGENTGUARD_WEBHOOK_SECRET      # signs the body (HMAC-SHA256)
        timeout: 5s
      - slack: https://hooks.slack.com/services/T000/B000/XXXX
      - email: ops@example.com
        smtp: mail.example.com:587
        starttls: true
        username_env: SMTP_USER
        password_env: SMTP_PASSWORD

:func:`notifier_from_config` builds one :class:`Notifier` from such a mapping. Secrets are
read from the environment variables an entry names, when the notifier is built; they never
appear in a notifier's name, its repr or an error message. Every entry may also set
``name:`` (how logs and audit records call it; by default the kind and the host).

A new kind is one call to :func:`register_notifier`::

    register_notifier("pager", lambda config: PagerNotifier(config.url("pager")))
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from agentguard.clock import Clock, SystemClock
from agentguard.errors import AgentGuardError
from agentguard.monitor.alert import Alert
from agentguard.policy.units import parse_duration

#: the logger alerts and delivery failures are written to
ALERT_LOGGER = "agentguard.alerts"

DEFAULT_TIMEOUT = timedelta(seconds=5)


class NotifyError(AgentGuardError):
    """A notifier could not deliver an alert. ``retryable`` is False when sending the same
    alert again cannot help (a 4xx answer, a redirect, a refused recipient)."""

    code = "notify.failed"

    def __init__(self, message: str, *, retryable: bool = True, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable


class NotifyConfigError(NotifyError, ValueError):
    """An entry of ``notify:`` cannot be used. Also a ``ValueError``, so that a pydantic
    validator calling :func:`notifier_from_config` reports it as a validation error."""

    code = "notify.invalid_config"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@runtime_checkable
class Notifier(Protocol):
    """Delivers alerts to one destination.

    ``send`` either delivers the alert or raises :class:`NotifyError` with a sentence that
    names the destination by its host only (never a URL's path or query, never a secret).
    It is called from one worker thread at a time.
    """

    name: str

    def send(self, alert: Alert) -> None: ...


class NotifierConfig:
    """One entry of ``notify:``, read option by option by a notifier's builder.

    Every read marks the option as used; :func:`notifier_from_config` refuses the entry if
    an option was never read (a misspelt ``secret_env`` must not mean "unsigned").
    """

    def __init__(
        self, kind: str, entry: Mapping[str, Any], *, clock: Clock, environ: Mapping[str, str]
    ) -> None:
        self.kind = kind
        self.clock = clock
        self._entry = dict(entry)
        self._environ = environ
        self._read = {kind}

    def error(self, message: str) -> NotifyConfigError:
        return NotifyConfigError(f"notify {self.kind}: {message}")

    def get(self, option: str, default: Any = None) -> Any:
        self._read.add(option)
        return self._entry.get(option, default)

    def text(self, option: str, default: str | None = None) -> str | None:
        value = self.get(option, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.error(f"{option} must be a non-empty string")
        return value

    def flag(self, option: str, default: bool) -> bool:
        value = self.get(option, default)
        if not isinstance(value, bool):
            raise self.error(f"{option} must be true or false")
        return value

    def duration(self, option: str, default: timedelta) -> timedelta:
        value = self.get(option)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.error(f"{option}: {exc}") from None

    def url(self, option: str) -> str:
        """An ``http``/``https`` URL without credentials in it."""
        value = self.text(option)
        if value is None:
            raise self.error(f"{option} needs a URL")
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise self.error(f"the URL must start with http:// or https://, not {parts.scheme!r}")
        if not parts.hostname:
            raise self.error("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise self.error("put credentials in an environment variable, not in the URL")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise self.error("the URL's port is not a number from 0 to 65535") from None
        return value

    def secret(self, option: str) -> str | None:
        """The value of the environment variable named by ``option`` (None if not set)."""
        variable = self.text(option)
        if variable is None:
            return None
        value = self._environ.get(variable)
        if not value:
            raise self.error(
                f"{option} names the environment variable {variable}, which is not set or empty"
            )
        return value

    def check_all_read(self) -> None:
        unknown = sorted(set(self._entry) - self._read)
        if unknown:
            raise self.error(f"unknown option(s) {', '.join(map(repr, unknown))}")


NotifierBuilder = Callable[[NotifierConfig], Notifier]

_BUILDERS: dict[str, NotifierBuilder] = {}
_lock = threading.Lock()
_BUILTIN_MODULES = ("agentguard.monitor.webhook", "agentguard.monitor.smtp")
_builtins_loaded = False


def register_notifier(kind: str, build: NotifierBuilder) -> None:
    """Make ``kind`` a key of ``notify:`` entries, built by ``build`` (a second registration
    of the same kind replaces the first)."""
    with _lock:
        _BUILDERS[kind] = build


def notifier_kinds() -> list[str]:
    """The kinds :func:`notifier_from_config` knows, sorted."""
    _load_builtins()
    with _lock:
        return sorted(_BUILDERS)


def notifier_from_config(
    config: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> Notifier:
    """Build the notifier one entry of ``notify:`` describes.

    ``environ`` (default ``os.environ``) is where ``secret_env``, ``username_env`` and
    ``password_env`` are looked up; ``clock`` stamps signed webhooks.

    >>> notifier_from_config({"log": True}).name
    'log'

    Raises :class:`NotifyConfigError` (a ``ValueError``) naming the entry's kind and the
    option at fault.
    """
    if not isinstance(config, Mapping):
        raise NotifyConfigError(
            f"a notify entry is a mapping such as {{webhook: https://…}}, not {type(config).__name__}"
        )
    _load_builtins()
    with _lock:
        kinds = [key for key in config if key in _BUILDERS]
        known = ", ".join(sorted(_BUILDERS))
    if len(kinds) != 1:
        found = "none" if not kinds else " and ".join(kinds)
        raise NotifyConfigError(
            f"a notify entry needs exactly one of {known} (found {found}) "
            f"in the keys {', '.join(map(repr, sorted(map(str, config))))}"
        )
    kind = kinds[0]
    entry = NotifierConfig(
        kind,
        config,
        clock=clock or SystemClock(),
        environ=os.environ if environ is None else environ,
    )
    name = entry.text("name")
    notifier = _BUILDERS[kind](entry)
    entry.check_all_read()
    if name is not None:
        notifier.name = name
    return notifier


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    for module in _BUILTIN_MODULES:  # each registers its kinds when imported
        importlib.import_module(module)
    _builtins_loaded = True


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVELS |= {"error": logging.ERROR, "critical": logging.CRITICAL}


class LogNotifier:
    """Writes each alert as one JSON line (:meth:`Alert.to_json`) to ``agentguard.alerts``.

    With no ``level`` the alert's severity picks it (info → INFO, warning → WARNING,
    critical → CRITICAL). The alert's fields are also on the record as ``record.alert``.
    """

    def __init__(self, level: int | None = None, *, name: str = "log") -> None:
        self.name = name
        self.level = level
        self._logger = logging.getLogger(ALERT_LOGGER)

    def send(self, alert: Alert) -> None:
        level = self.level if self.level is not None else _LEVELS[alert.severity]
        self._logger.log(level, "%s", alert.to_json(), extra={"alert": alert.to_dict()})

    def __repr__(self) -> str:
        return f"LogNotifier(name={self.name!r})"


def _build_log(config: NotifierConfig) -> Notifier:
    value = config.get("log")
    if value is True:
        return LogNotifier()
    if isinstance(value, str) and value.lower() in _LEVELS:
        return LogNotifier(_LEVELS[value.lower()])
    raise config.error(
        f"log is true (the alert's severity sets the level) or one of {', '.join(_LEVELS)}"
    )


register_notifier("log", _build_log)
