"""Runaway protection's delivery side: alerts, the notifiers that deliver them, and the
dispatcher that sends each alert to every notifier without holding up the agent.

    from agentguard.monitor import Alert, Dispatcher
    dispatcher = Dispatcher.from_config([{"log": True}, {"webhook": "https://…"}])
    dispatcher.dispatch(Alert(rule="spend > $100/hour", severity="critical", agent="a1",
                              summary="a1 spent $130 in the last hour.", at=clock.now()))
"""

from agentguard.monitor.alert import SEVERITIES, Alert, Severity
from agentguard.monitor.dispatch import Dispatcher, DispatchStats
from agentguard.monitor.notify import (
    ALERT_LOGGER,
    LogNotifier,
    Notifier,
    NotifierConfig,
    NotifyConfigError,
    NotifyError,
    notifier_from_config,
    notifier_kinds,
    register_notifier,
)
from agentguard.monitor.smtp import EmailNotifier
from agentguard.monitor.webhook import SlackNotifier, WebhookNotifier, sign, verify_signature

__all__ = [
    "ALERT_LOGGER",
    "SEVERITIES",
    "Alert",
    "DispatchStats",
    "Dispatcher",
    "EmailNotifier",
    "LogNotifier",
    "Notifier",
    "NotifierConfig",
    "NotifyConfigError",
    "NotifyError",
    "Severity",
    "SlackNotifier",
    "WebhookNotifier",
    "notifier_from_config",
    "notifier_kinds",
    "register_notifier",
    "sign",
    "verify_signature",
]
