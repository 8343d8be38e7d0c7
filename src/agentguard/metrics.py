"""Prometheus metrics of what agents do, computed from the shared audit log.

Every process on a store writes its actions to one audit log, so the figures come from
there rather than from counters in the process that serves them: each scrape reads the
records written since the last one (by ``seq``, see :class:`~agentguard.activity.AuditFollower`),
and every exporter on the same store shows the same numbers, after a restart too.

From the audit log (totals since it began; ``agent`` and ``tool`` as the records store
them, bounded as :mod:`agentguard.activity` explains):

=============================================  ==============================================
``agentguard_actions_total``                   action records by ``status``: executed,
                                               failed, denied, held, withheld
``agentguard_denials_total``                   denied actions by ``code``, the reason that
                                               refused them (``limits.rate_exceeded`` …)
``agentguard_errors_total``                    calls whose tool failed
``agentguard_error_rate``                      failed ÷ calls that ran, over the last hour
                                               (a gauge; absent when none ran)
``agentguard_spend_dollars_total``             the ``cost`` of executed calls
``agentguard_action_duration_seconds``         a histogram of the calls that ran
``agentguard_detector_findings_total``         reasons of the detector rules and the leak
                                               guard, by ``code`` (``content.redacted`` …)
``agentguard_controls_total``                  control records by ``control``: kill, resume,
                                               keys.create, keys.revoke
``agentguard_kills_total``                     kill switches set, by ``scope`` and ``target``
``agentguard_audit_last_seq``                  the newest record read
``agentguard_audit_unreadable_records_total``  records that are not JSON objects (altered)
=============================================  ==============================================

From the store as it stands at the scrape: ``agentguard_kill_switch_active`` (1 for each
kill switch in force, by ``scope`` and ``target``) and ``agentguard_circuit_breaker_state``
(1 for the ``state`` each breaker is in — closed, open or half_open — and 0 for the others,
by ``breaker``: ``agent:NAME`` or ``tool:NAME``).

Example: serve ``/metrics`` on loopback, or mount the WSGI app in a server of your own::

    server = serve_metrics(open_store("sqlite:///agentguard.db"), port=9464)
    server.serve_forever()                      # until interrupted; server.close() after

    app = metrics_app(store)                    # any WSGI server; the path is not looked at
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import ThreadingWSGIServer

from agentguard.activity import (
    DEFAULT_MAX_NAMES,
    LATENCY_BUCKETS,
    Activity,
    AuditFollower,
)
from agentguard.breaker import BreakerState
from agentguard.clock import Clock, SystemClock
from agentguard.errors import AgentGuardError
from agentguard.store.base import Store

#: the window of ``agentguard_error_rate``
ERROR_RATE_WINDOW = timedelta(hours=1)
#: the port ``agentguard metrics`` listens on unless told otherwise
DEFAULT_PORT = 9464

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_AGENT_TOOL = ["agent", "tool"]
_BOUNDS = tuple(repr(float(bound)) for bound in LATENCY_BUCKETS)  # the `le` label values


class AuditCollector:
    """A Prometheus collector whose figures come from ``store``'s audit log.

    Each :meth:`collect` (a scrape) first reads the records written since the previous one,
    then reports totals over the whole log; scrapes are serialised by a lock. ``max_names``
    bounds the distinct values of each label (see :mod:`agentguard.activity`).

    Example::

        registry = CollectorRegistry()
        registry.register(AuditCollector(store))
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        max_names: int = DEFAULT_MAX_NAMES,
        batch: int = 1000,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.activity = Activity(clock=self.clock, keep=ERROR_RATE_WINDOW, max_names=max_names)
        self.follower = AuditFollower(store, self.activity, batch=batch)
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Read the records written since the last refresh; returns how many. (A scrape
        does this itself; call it once at start-up so the first scrape is quick.)"""
        with self._lock:
            return self.follower.poll()

    def describe(self) -> Iterator[Metric]:
        """The metric families, without reading the store (for the registry)."""
        return iter(self._families().values())

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self.follower.poll()
            now = self.clock.now()
            kills = self.store.list_kills()
            breakers = self.store.list_breakers(now)
            families = self._families()
            self._fill(families, now)
        for kill in kills:
            families["kill_switch_active"].add_metric([str(kill.scope), kill.target], 1)
        for snapshot in breakers:
            for state in BreakerState:
                value = int(snapshot.state is state)
                families["circuit_breaker_state"].add_metric([snapshot.key, str(state)], value)
        return iter(families.values())

    def _families(self) -> dict[str, Any]:
        """The families, empty, by name without the ``agentguard_`` prefix."""
        families = [
            CounterMetricFamily(
                "agentguard_actions",
                "Action records in the audit log, by agent, tool and status.",
                labels=[*_AGENT_TOOL, "status"],
            ),
            CounterMetricFamily(
                "agentguard_denials",
                "Denied actions, by the code of the reason that refused them.",
                labels=[*_AGENT_TOOL, "code"],
            ),
            CounterMetricFamily(
                "agentguard_errors",
                "Calls whose tool failed (raised, or had no implementation).",
                labels=_AGENT_TOOL,
            ),
            GaugeMetricFamily(
                "agentguard_error_rate",
                "Share of the calls that ran in the last hour whose tool failed.",
                labels=_AGENT_TOOL,
            ),
            CounterMetricFamily(
                "agentguard_spend_dollars",
                "The cost of executed calls, in dollars (the policy's tool cost).",
                labels=_AGENT_TOOL,
            ),
            HistogramMetricFamily(
                "agentguard_action_duration_seconds",
                "How long the calls that ran took, guard included.",
                labels=_AGENT_TOOL,
            ),
            CounterMetricFamily(
                "agentguard_detector_findings",
                "Reasons of the detector rules and the leak guard, by code.",
                labels=[*_AGENT_TOOL, "code"],
            ),
            CounterMetricFamily(
                "agentguard_controls",
                "Control records in the audit log (kill, resume, keys.create, keys.revoke).",
                labels=["control"],
            ),
            CounterMetricFamily(
                "agentguard_kills",
                "Kill switches set, by scope (all, agent, tool) and target.",
                labels=["scope", "target"],
            ),
            GaugeMetricFamily(
                "agentguard_audit_last_seq", "The number of the newest audit record read."
            ),
            CounterMetricFamily(
                "agentguard_audit_unreadable_records",
                "Audit records that are not JSON objects (altered: run agentguard audit verify).",
            ),
            GaugeMetricFamily(
                "agentguard_kill_switch_active",
                "1 for each kill switch in force, by scope and target.",
                labels=["scope", "target"],
            ),
            GaugeMetricFamily(
                "agentguard_circuit_breaker_state",
                "1 for the state each circuit breaker is in, 0 for the others.",
                labels=["breaker", "state"],
            ),
        ]
        return {f.name.removeprefix("agentguard_"): f for f in families}

    def _fill(self, families: dict[str, Any], now: datetime) -> None:
        actions, denials, errors = (families[n] for n in ("actions", "denials", "errors"))
        spend, latency = families["spend_dollars"], families["action_duration_seconds"]
        findings, rate = families["detector_findings"], families["error_rate"]
        activity = self.activity
        recent = activity.by_series(ERROR_RATE_WINDOW, now=now)
        for (agent, tool), totals in sorted(activity.totals.items()):
            labels = [agent, tool]
            for status, count in sorted(totals.statuses.items()):
                actions.add_metric([*labels, status], count)
            for code, count in sorted(totals.denials.items()):
                denials.add_metric([*labels, code], count)
            for code, count in sorted(totals.findings.items()):
                findings.add_metric([*labels, code], count)
            errors.add_metric(labels, totals.errors)
            spend.add_metric(labels, float(totals.spend))
            cumulative, buckets = 0, []
            for bound, count in zip((*_BOUNDS, "+Inf"), totals.latency, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric(labels, buckets, totals.latency_sum)
            error_rate = recent[(agent, tool)].error_rate if (agent, tool) in recent else None
            if error_rate is not None:
                rate.add_metric(labels, error_rate)
        for verb, count in sorted(activity.controls.items()):
            families["controls"].add_metric([verb], count)
        for (scope, target), count in sorted(activity.kills.items()):
            families["kills"].add_metric([scope, target], count)
        families["audit_last_seq"].add_metric([], self.follower.last_seq)
        families["audit_unreadable_records"].add_metric([], activity.unreadable)


def metrics_registry(store: Store, **options: Any) -> CollectorRegistry:
    """A registry holding only an :class:`AuditCollector` of ``store`` (``options`` go to
    it), so nothing of the serving process itself is mixed in."""
    registry = CollectorRegistry()
    registry.register(AuditCollector(store, **options))
    return registry


def metrics_app(source: Store | CollectorRegistry, **options: Any) -> WSGIApp:
    """A WSGI app that answers every GET with the metrics of ``source`` (a store, or a
    registry from :func:`metrics_registry`), for a server to mount at ``/metrics``. When the
    store cannot be read it answers 503 with a one-line reason (Prometheus then shows the
    target down) rather than stale figures."""
    registry = (
        source if isinstance(source, CollectorRegistry) else metrics_registry(source, **options)
    )
    prometheus = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            answer[:] = [status, headers]

        try:
            body = b"".join(prometheus(environ, capture))
        except AgentGuardError as exc:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [f"agentguard metrics: {exc.message}\n".encode()]
        start_response(*answer)
        return [body]

    return app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No line per scrape."""


class MetricsServer:
    """An HTTP server of ``/metrics`` (anything else is 404), from :func:`serve_metrics`."""

    def __init__(self, app: WSGIApp, host: str, port: int) -> None:
        family, address = _family(host, port)

        class Server(ThreadingWSGIServer):
            address_family = family

        self._server: WSGIServer = make_server(
            address, port, _routed(app), Server, handler_class=_Quiet
        )
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where the metrics are, such as ``http://127.0.0.1:9464/metrics``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`close` (from another thread) or an interrupt."""
        self._server.serve_forever()

    def start(self) -> MetricsServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_metrics(
    store: Store,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    **options: Any,
) -> MetricsServer:
    """Bind an HTTP server of ``store``'s metrics on ``host:port`` (port 0: any free port,
    see ``server.port``). It serves once you call ``serve_forever()`` or ``start()``.
    ``options`` go to :class:`AuditCollector`. OSError when the address cannot be bound."""
    return MetricsServer(metrics_app(metrics_registry(store, **options)), host, port)


def _routed(app: WSGIApp) -> WSGIApp:
    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in ("/metrics", "/metrics/"):
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"agentguard metrics are at /metrics\n"]

    return route


def _family(host: str, port: int) -> tuple[socket.AddressFamily, str]:
    """The address family of ``host`` (IPv4 or IPv6) and the address to bind."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, _, _, _, address = infos[0]
    return family, str(address[0])
