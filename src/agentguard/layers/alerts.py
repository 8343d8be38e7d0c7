"""Alert rules (the policy's ``alerts:``), sent to the ``notify:`` targets.

The layer never admits or refuses an action: it observes every outcome. Figures of
threshold rules (calls, failures, denials, spend) are counted per agent in the store's
sliding windows, so every process sharing the store counts the same calls; a rule fires
when its figure crosses the threshold, at most once per agent and ``repeat_after`` across
all processes (the store admits one firing per window). A firing is recorded in the audit
log (``agentguard.alert``), then its actions run: ``stop_agent`` sets the agent's kill switch,
``open_incident`` records an incident (``agentguard.incident.open``), ``notify`` hands the
alert to the dispatcher, which delivers it off the agent's path, with retries; a delivery
that still fails is recorded too (``agentguard.alert.failed``).

Only agents the policy declares are watched, and an alert names only declared tools: alerts
leave the process, and an undeclared name may be a token pasted by mistake. Alerts carry
figures and names, never argument values; a signal's subject appears only as a keyed tag.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from agentguard import control
from agentguard.audit import AuditEntry
from agentguard.breaker import BreakerState
from agentguard.clock import Clock
from agentguard.layers.registry import LayerContext, LayerSpec, register
from agentguard.monitor.alert import Alert, DetailValue
from agentguard.monitor.dispatch import Dispatcher
from agentguard.monitor.notify import NotifyError
from agentguard.pipeline import CONTINUE, Action, Observation, SignalReport, Verdict
from agentguard.policy import LoadedPolicy
from agentguard.policy.alerts import AlertRule, Event, Signal, Threshold
from agentguard.policy.content import matches_any
from agentguard.policy.units import format_duration
from agentguard.store import Store, WindowRequest
from agentguard.store.base import MAX_AMOUNT, KillScope

NAME = "alerts"
_log = logging.getLogger("agentguard.alerts")

#: the detector families whose findings are sensitive data
SENSITIVE_DETECTORS = frozenset({"pii", "secrets"})
_LOOP_CODES = frozenset({"breakers.loop_detected", "breakers.burst_detected"})
_HUNDRED = Decimal(100)
_ONE = Decimal(1)


def _sensitive(observation: Observation) -> bool:
    for reason in observation.decision.reasons:
        if reason.layer == "leaks" and reason.code.startswith("leaks."):
            return True
        if any(f.split(":", 1)[0] in SENSITIVE_DETECTORS for f in reason.findings):
            return True
    return False


_EVENTS: dict[str, Callable[[Observation], bool]] = {
    "sensitive_data_detected": _sensitive,
    "loop_detected": lambda o: any(r.code in _LOOP_CODES for r in _reasons(o)),
    "circuit_open": lambda o: any(r.code == "breakers.open" for r in _reasons(o)),
    "rate_limited": lambda o: any(r.code == "limits.rate_exceeded" for r in _reasons(o)),
    "budget_exceeded": lambda o: any(r.code == "limits.budget_exceeded" for r in _reasons(o)),
}
_EVENT_TEXT = {
    "sensitive_data_detected": "sensitive data was detected",
    "loop_detected": "a loop was detected; the agent is stopped",
    "circuit_open": "a circuit breaker is open after repeated failures",
    "rate_limited": "a call was refused by a rate limit",
    "budget_exceeded": "a call was refused: it would cross a money budget",
}


def _reasons(observation: Observation) -> Sequence[Any]:
    return observation.decision.reasons


class AlertsLayer:
    """Evaluates the policy's alert rules on every observed action and on signals."""

    name = NAME

    def __init__(
        self,
        policy: LoadedPolicy,
        store: Store,
        clock: Clock,
        *,
        environ: Mapping[str, str] | None = None,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        model = policy.model
        self._store = store
        self._clock = clock
        self._agents = frozenset(model.agents)
        self._tools = frozenset(model.tools)
        self._rules: tuple[tuple[int, AlertRule], ...] = tuple(enumerate(model.alerts or []))
        self._thresholds = tuple((i, r) for i, r in self._rules if isinstance(r.when, Threshold))
        self._events = tuple((i, r) for i, r in self._rules if isinstance(r.when, Event))
        self._signals = tuple((i, r) for i, r in self._rules if isinstance(r.when, Signal))
        self._dispatcher = dispatcher
        if dispatcher is None and any("notify" in r.then for _, r in self._rules):
            # A notify entry whose secret is not set refuses to start (NotifyConfigError).
            self._dispatcher = Dispatcher.from_config(
                model.notify or [],
                clock=clock,
                environ=os.environ if environ is None else environ,
                dedupe=timedelta(0),  # repeats are held back by repeat_after, in the store
                on_failure=self._delivery_failed,
            )

    # ------------------------------------------------------------------ layer

    def applies(self, agent: str, tool: str) -> bool:
        return False  # never a gate: it only observes

    def admit(self, action: Action) -> Verdict:
        return CONTINUE

    def observe(self, observation: Observation) -> None:
        action = observation.action
        agent = action.agent
        if action.dry_run or agent not in self._agents:
            return
        if self._thresholds:
            self._check_thresholds(observation, agent)
        for index, rule in self._events:
            assert isinstance(rule.when, Event)
            if self._watches(rule, agent) and self._seen(rule.when.name, observation):
                tool = action.tool if action.tool in self._tools else "a tool not in the policy"
                summary = (
                    f"agent {agent!r}: {_EVENT_TEXT[rule.when.name]} on tool {tool!r} "
                    f"(the action was {observation.status})."
                )
                codes = sorted({r.code for r in observation.decision.reasons})
                self._fire(
                    index, rule, agent, summary, {"status": observation.status,
                                                  "codes": ", ".join(codes)},
                    observation.at,
                )  # fmt: skip

    def _seen(self, event: str, observation: Observation) -> bool:
        if _EVENTS[event](observation):
            return True
        if event == "circuit_open" and observation.status == "failed":
            # the failure that opened a breaker (of the agent, or of the tool) opens it now
            action = observation.action
            for key in (f"agent:{action.agent}", f"tool:{action.tool}"):
                snapshot = self._store.breaker_state(key, observation.at)
                if snapshot.state is BreakerState.OPEN and snapshot.since == observation.at:
                    return True
        return False

    def receive_signal(self, signal: SignalReport) -> list[str]:
        done: list[str] = []
        for index, rule in self._signals:
            assert isinstance(rule.when, Signal)
            if rule.when.name != signal.name:
                continue
            if rule.agents is not None and (
                signal.agent is None or not matches_any(signal.agent, rule.agents)
            ):
                continue
            who = f"agent {signal.agent!r}" if signal.agent is not None else "no agent named"
            summary = f"signal {signal.name!r} was reported ({who})."
            details: dict[str, DetailValue] = {"signal": signal.name}
            if signal.subject is not None:
                details["subject_tag"] = signal.subject
            if signal.by is not None:
                details["by"] = signal.by
            fired = self._fire(index, rule, signal.agent, summary, details, signal.at)
            if fired:
                done.append(f"alert {rule.label!r} fired ({', '.join(rule.then)})")
            else:
                done.append(
                    f"alert {rule.label!r} already fired within "
                    f"{format_duration(rule.repeat_after)}; not repeated"
                )
        return done

    def close(self) -> None:
        """Deliver what is queued (up to 10 s), then stop the dispatcher's thread."""
        if self._dispatcher is not None:
            self._dispatcher.close()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert is delivered or has failed; False on timeout."""
        return self._dispatcher.flush(timeout) if self._dispatcher is not None else True

    # -------------------------------------------------------------- thresholds

    def _watches(self, rule: AlertRule, agent: str) -> bool:
        return rule.agents is None or matches_any(agent, rule.agents)

    def _check_thresholds(self, observation: Observation, agent: str) -> None:
        ran = observation.ran
        failed = observation.status == "failed"
        denied = observation.status == "denied"
        cost = observation.cost if observation.cost is not None and observation.cost > 0 else None
        amounts: dict[str, Decimal | None] = {
            "calls": _ONE if ran else None,
            "errors": _ONE if failed else None,
            "denials": _ONE if denied else None,
            "spend": cost,
        }
        wanted: list[tuple[int, AlertRule, Threshold]] = []
        requests: list[WindowRequest] = []
        for index, rule in self._thresholds:
            when = rule.when
            assert isinstance(when, Threshold)
            if not self._watches(rule, agent):
                continue
            metric = "calls" if when.metric == "error_rate" else when.metric
            if when.metric == "error_rate":
                if not ran:
                    continue
            elif amounts[metric] is None:
                continue  # this action did not change the figure
            wanted.append((index, rule, when))
            for counted in ("calls", "errors") if when.metric == "error_rate" else (metric,):
                amount = amounts[counted]
                if amount is not None:
                    requests.append(
                        WindowRequest(_key(counted, agent), amount, MAX_AMOUNT, when.window)
                    )
        if not wanted:
            return
        at = observation.at
        admission = self._store.admit(requests, at, final=True)  # never refused: no limit
        totals: dict[tuple[str, timedelta], Decimal] = {}
        for request, total in zip(requests, admission.totals, strict=True):
            totals[(request.key, request.window)] = total

        def figure(counted: str, window: timedelta) -> Decimal:
            key = _key(counted, agent)
            found = totals.get((key, window))
            if found is None:  # not counted by this action: read it
                found = totals[(key, window)] = self._store.total(key, at, window)
            return found

        for index, rule, when in wanted:
            self._evaluate(index, rule, when, agent, at, figure)

    def _evaluate(
        self,
        index: int,
        rule: AlertRule,
        when: Threshold,
        agent: str,
        at: datetime,
        figure: Callable[[str, timedelta], Decimal],
    ) -> None:
        window = format_duration(when.window)
        details: dict[str, DetailValue] = {"window": window}
        if when.metric == "error_rate":
            calls = figure("calls", when.window)
            if calls < rule.min_calls:
                return
            errors = figure("errors", when.window)
            rate = errors / calls
            if not when.crossed(rate):
                return
            details |= {"error_rate": float(rate), "errors": int(errors), "calls": int(calls)}
            summary = (
                f"agent {agent!r}: {int(errors)} of {int(calls)} calls failed in the last "
                f"{window} ({(rate * _HUNDRED).quantize(_ONE)}%), over "
                f"{(when.value * _HUNDRED).normalize():f}%."
            )
        else:
            metric = when.metric
            total = figure(metric, when.window)
            if not when.crossed(total):
                return
            if metric == "spend":
                details["spend"] = total
                summary = (
                    f"agent {agent!r} spent ${total:f} in the last {window}, over ${when.value:f}."
                )
            else:
                details[metric] = int(total)
                what = {"calls": "calls ran", "errors": "calls failed", "denials": "actions "
                        "were denied"}[metric]  # fmt: skip
                summary = (
                    f"agent {agent!r}: {int(total)} {what} in the last {window}, over "
                    f"{when.value:f}."
                )
        self._fire(index, rule, agent, summary, details, at)

    # ------------------------------------------------------------------ firing

    def _fire(
        self,
        index: int,
        rule: AlertRule,
        agent: str | None,
        summary: str,
        details: Mapping[str, DetailValue],
        at: datetime,
    ) -> bool:
        """Fire ``rule`` for ``agent`` unless it fired within ``repeat_after`` (in any
        process). True when it fired."""
        once = WindowRequest(
            f"alert|fired|{index}|{agent if agent is not None else '*'}",
            _ONE,
            _ONE,
            rule.repeat_after,
        )
        if not self._store.admit([once], at, final=True).admitted:
            return False
        actions = [a for a in ("stop_agent", "open_incident", "notify") if a in rule.then]
        extra: dict[str, DetailValue] = {"actions": ", ".join(actions)}
        if "stop_agent" in actions and agent is None:
            extra["stop_agent"] = "skipped: no agent named"
        incident = control.new_incident_id() if "open_incident" in actions else None
        if incident is not None:
            extra["incident"] = incident
        alert = Alert(
            rule=rule.label,
            severity=rule.severity,
            agent=agent,
            summary=summary,
            at=at,
            details={**details, **extra},
        )
        self._record(alert, "agentguard.alert", "alert", "fired")
        if "stop_agent" in actions and agent is not None:
            control.kill(
                self._store,
                KillScope.AGENT,
                agent,
                reason=f"alert {rule.label!r}: {summary}",
                by="agentguard",
                clock=self._clock,
            )
        if incident is not None:
            control.open_incident(
                self._store,
                agent=agent,
                reason=f"alert {rule.label!r}: {summary}",
                by="agentguard",
                severity=rule.severity,
                stop=False,  # stop_agent says whether the agent stops
                incident=incident,
                clock=self._clock,
            )
        if "notify" in actions and self._dispatcher is not None:
            self._dispatcher.dispatch(alert)
        _log.warning("alert %s fired: %s", rule.label, summary)
        return True

    def _record(self, alert: Alert, action: str, decision: str, status: str) -> None:
        body = alert.to_dict()
        self._store.append(
            AuditEntry(
                timestamp=alert.at,
                kind="control",
                agent_id=alert.agent,
                action=action,
                decision=decision,
                status=status,
                metadata={
                    "rule": body["rule"],
                    "severity": body["severity"],
                    "summary": body["summary"],
                    "details": body["details"],
                },
            )
        )

    def _delivery_failed(self, alert: Alert, notifier: str, error: NotifyError) -> None:
        """The dispatcher gave up on ``alert`` for ``notifier``: record it (the message of a
        :class:`NotifyError` names a host, never a URL path or a secret)."""
        try:
            self._store.append(
                AuditEntry(
                    timestamp=self._clock.now(),
                    kind="control",
                    agent_id=alert.agent,
                    action="agentguard.alert.failed",
                    decision="alert.failed",
                    status="failed",
                    metadata={
                        "rule": alert.rule,
                        "notifier": notifier,
                        "error": error.message,
                        "code": error.code,
                    },
                )
            )
        except Exception as exc:  # the store is down too: the log is all that is left
            _log.error(
                "alert %s could not be delivered to %s, nor recorded (%s)",
                alert.rule,
                notifier,
                type(exc).__name__,
            )


def _key(metric: str, agent: str) -> str:
    return f"alert|{metric}|{agent}"


def _build(ctx: LayerContext) -> AlertsLayer | None:
    if not ctx.policy.model.alerts:
        return None
    environ = ctx.options.get("environ")
    return AlertsLayer(ctx.policy, ctx.store, ctx.clock, environ=environ)


register(LayerSpec(NAME, 950, _build))
