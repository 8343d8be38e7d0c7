"""The action pipeline: every tool call is an :class:`Action` that flows through ordered layers.

Each layer looks at the action and returns a :class:`Verdict`. The first ``DENY`` wins; an
action is allowed only if some layer explicitly granted it (access control does) and no
layer denied it, so a pipeline that forgets a layer denies rather than allows. A layer that
raises is treated as a denial (fail closed). The result is a :class:`Decision` with the
reasons of every layer that spoke and how long each took.

Example::

    pipeline = Pipeline([IdentityLayer(...), KillSwitchLayer(...), InputLayer(...), AccessLayer(...)])
    decision = pipeline.evaluate(Action(agent="email_agent", tool="send_email", args={...}))
    if decision.allowed: ...
"""

from __future__ import annotations

import enum
import itertools
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def new_action_id() -> str:
    """A process-unique, globally improbable-to-collide id for one action (cheap: no syscall)."""
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"


class Outcome(enum.StrEnum):
    """What the pipeline decided. ``HOLD``: a person must look at it first; it does not run."""

    ALLOW = "allow"
    DENY = "deny"
    HOLD = "hold"


class Step(enum.Enum):
    """What one layer said: carry on, carry on with permission granted, or stop here."""

    CONTINUE = "continue"
    GRANT = "grant"
    DENY = "deny"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a layer spoke: a stable machine ``code`` and a sentence a person can act on.

    ``code`` looks like ``access.condition_false``; ``message`` never holds argument values.
    """

    layer: str
    code: str
    message: str
    #: seconds until the same action may be admitted again (rate limits, open breakers)
    retry_after: float | None = None
    #: what detectors found, as ``detector:TYPE`` (``pii:EMAIL``, ``secrets:SECRET``): types
    #: only, never values (alert rules such as ``sensitive_data_detected`` read them)
    findings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"layer": self.layer, "code": self.code, "message": self.message}
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        if self.findings:
            out["findings"] = list(self.findings)
        return out


@dataclass(frozen=True, slots=True)
class Action:
    """One tool call an agent wants to make.

    ``credential`` is the raw API key when the caller authenticated with one; it is never
    logged, audited or shown in a repr. After the identity layer it is cleared and
    ``key_id`` / ``key_tools`` describe the key instead.
    """

    agent: str
    tool: str
    args: Mapping[str, Any]
    session: str | None = None
    subject: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_action_id)
    credential: str | None = field(default=None, repr=False, compare=False)
    key_id: str | None = None
    key_tools: frozenset[str] | None = None
    #: evaluated only (``guard.check``): layers must not reserve or count anything
    dry_run: bool = field(default=False, compare=False)
    #: the approval request people granted this exact action, set by the guard once it has
    #: claimed that approval (never taken from a caller): a layer's HOLD no longer stops it,
    #: while a DENY still does
    approval: str | None = None

    def with_changes(self, **changes: Any) -> Action:
        """A copy of this action with some fields replaced."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A layer's answer for one action.

    ``action`` replaces the action for the following layers (for example with sanitised
    arguments, or with the agent resolved from an API key).
    """

    step: Step
    reasons: tuple[Reason, ...] = ()
    action: Action | None = None
    #: ask the guard to set the agent's kill switch (a detector rule's ``stop_agent``)
    stop_agent: bool = False


CONTINUE = Verdict(Step.CONTINUE)


def deny(layer: str, code: str, message: str) -> Verdict:
    """A verdict that stops the action."""
    return Verdict(Step.DENY, (Reason(layer, code, message),))


@dataclass(frozen=True, slots=True)
class ResultVerdict:
    """A layer's answer on a tool's result, before the agent sees it.

    ``withhold`` keeps the result from the agent (the call raises); otherwise ``result``
    replaces it when not None (redacted, or wrapped as untrusted). ``replaced`` says the
    result was changed (a replaced result may legitimately be None).
    """

    reasons: tuple[Reason, ...] = ()
    withhold: bool = False
    result: Any = None
    replaced: bool = False
    stop_agent: bool = False


RESULT_OK = ResultVerdict()


@dataclass(frozen=True, slots=True)
class ResultReview:
    """What the layers said about one result: the result to return, or withheld."""

    result: Any
    withheld: bool
    reasons: tuple[Reason, ...]
    stop_agent: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """What the pipeline decided for one action, and why.

    ``action`` is the action as the last layer saw it (sanitised arguments, resolved agent).
    ``timings_ns`` holds ``(layer name, nanoseconds)`` for every layer that ran.
    """

    outcome: Outcome
    action: Action
    reasons: tuple[Reason, ...]
    timings_ns: tuple[tuple[str, int], ...] = ()
    #: a layer asked for the agent to be stopped (the guard sets the kill switch when it
    #: executes; a dry-run ``check`` does not)
    stop_agent: bool = False

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    @property
    def held(self) -> bool:
        """The action waits for a person and did not run."""
        return self.outcome is Outcome.HOLD

    @property
    def deciding_reason(self) -> Reason | None:
        """The reason that settled the outcome: the denial, or the last grant."""
        return self.reasons[-1] if self.reasons else None

    @property
    def duration_us(self) -> float:
        return sum(ns for _, ns in self.timings_ns) / 1000.0

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


@runtime_checkable
class Layer(Protocol):
    """One stage of the pipeline. ``admit`` must not raise on purpose; if it does, the
    pipeline denies the action with ``pipeline.internal_error``.

    A layer may also define ``applies(agent, tool) -> bool``: False when it has nothing to
    do for that agent calling that tool (no rule names them). The pipeline asks once per
    pair and leaves the layer out of that pair's path, before and after the call; its
    ``observe`` is still called. Without ``applies`` a layer is on every path.
    """

    name: str

    def admit(self, action: Action) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class Observation:
    """What became of one action, told to every layer that learns from outcomes (limits
    settle their reservations, breakers count errors, loop detection, metrics, alerts).

    ``status`` is the audit status: ``executed``, ``failed`` (the tool raised: see
    ``error_type``), ``denied``, ``held`` or ``withheld``.
    """

    action: Action
    decision: Decision
    status: str
    at: datetime
    duration_ms: float
    cost: Decimal | None = None
    error_type: str | None = None

    @property
    def ran(self) -> bool:
        """The tool was called (whatever came of it)."""
        return self.status in ("executed", "failed", "withheld")


@runtime_checkable
class Observer(Protocol):
    """A layer that is told the outcome of every action (see :class:`Observation`).
    ``observe`` must not raise; if it does, the error is logged and the others still run."""

    name: str

    def observe(self, observation: Observation) -> None: ...


@dataclass(frozen=True, slots=True)
class SignalReport:
    """An external signal (``agentguard signal customer_complaint --agent A``), told to
    every layer that listens for signals (alert rules ``signal NAME``). ``subject`` is a
    keyed tag of the subject, never the subject itself."""

    name: str
    at: datetime
    agent: str | None = None
    subject: str | None = None
    by: str | None = None


@runtime_checkable
class SignalListener(Protocol):
    """A layer that acts on external signals; returns what it did (one line each)."""

    name: str

    def receive_signal(self, signal: SignalReport) -> list[str]: ...


@runtime_checkable
class ResultLayer(Protocol):
    """A layer that also looks at what the tool returned, before the agent sees it."""

    name: str

    def review_result(self, action: Action, result: Any) -> ResultVerdict: ...


class Pipeline:
    """An ordered chain of layers. Adding a layer never edits this class."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers: tuple[Layer, ...] = tuple(layers)
        # (agent, tool) → the indices of the layers with something to do for it
        self._paths: dict[tuple[str, str], frozenset[int]] = {}
        self._paths_lock = threading.Lock()
        self.result_layers: tuple[ResultLayer, ...] = tuple(
            layer for layer in self.layers if isinstance(layer, ResultLayer)
        )
        self.observers: tuple[Observer, ...] = tuple(
            layer for layer in self.layers if isinstance(layer, Observer)
        )
        self.listeners: tuple[SignalListener, ...] = tuple(
            layer for layer in self.layers if isinstance(layer, SignalListener)
        )
        self._index = {id(layer): index for index, layer in enumerate(self.layers)}

    def path(self, agent: str, tool: str) -> frozenset[int]:
        """The positions (in :attr:`layers`) of the layers with something to do for
        ``agent`` calling ``tool``: each layer is asked once per pair (``applies``); a
        layer without ``applies``, or whose ``applies`` fails, is always on the path."""
        key = (agent, tool)
        found = self._paths.get(key)
        if found is None:
            found = frozenset(
                index for index, layer in enumerate(self.layers) if _applies(layer, agent, tool)
            )
            with self._paths_lock:
                if len(self._paths) >= _MAX_PATHS:  # names callers invent: no unbounded cache
                    self._paths.clear()
                self._paths[key] = found
        return found

    def evaluate(self, action: Action) -> Decision:
        reasons: list[Reason] = []
        timings: list[tuple[str, int]] = []
        granted = False
        clock = time.perf_counter_ns
        path = self.path(action.agent, action.tool)
        for index, layer in enumerate(self.layers):
            if index not in path:
                continue
            started = clock()
            try:
                verdict = layer.admit(action)
            except Exception as exc:  # fail closed: a broken layer never allows
                timings.append((layer.name, clock() - started))
                reasons.append(_failure(layer.name, exc))
                return Decision(Outcome.DENY, action, tuple(reasons), tuple(timings))
            timings.append((layer.name, clock() - started))
            if verdict.reasons:
                reasons.extend(verdict.reasons)
            if verdict.action is not None:
                if (verdict.action.agent, verdict.action.tool) != (action.agent, action.tool):
                    path = self.path(verdict.action.agent, verdict.action.tool)  # a key's agent
                action = verdict.action
            if verdict.step is Step.DENY:
                return Decision(
                    Outcome.DENY, action, tuple(reasons), tuple(timings), verdict.stop_agent
                )
            if verdict.step is Step.HOLD and action.approval is None:
                return Decision(Outcome.HOLD, action, tuple(reasons), tuple(timings))
            if verdict.step is Step.GRANT:
                granted = True
        if not granted:
            reasons.append(
                Reason(
                    "pipeline",
                    "pipeline.no_grant",
                    "no layer granted this action; agentguard denies by default",
                )
            )
            return Decision(Outcome.DENY, action, tuple(reasons), tuple(timings))
        return Decision(Outcome.ALLOW, action, tuple(reasons), tuple(timings))

    def review_result(self, action: Action, result: Any) -> ResultReview:
        """Pass a tool's result through every result layer, in order. The first layer that
        withholds it wins; a layer that raises withholds it (fail closed)."""
        reasons: list[Reason] = []
        path = self.path(action.agent, action.tool)
        for layer in self.result_layers:
            if self._index[id(layer)] not in path:
                continue
            try:
                verdict = layer.review_result(action, result)
            except Exception as exc:
                reasons.append(_failure(layer.name, exc))
                return ResultReview(None, True, tuple(reasons))
            reasons.extend(verdict.reasons)
            if verdict.withhold:
                return ResultReview(None, True, tuple(reasons), verdict.stop_agent)
            if verdict.replaced:
                result = verdict.result
        return ResultReview(result, False, tuple(reasons))

    def observe(self, observation: Observation) -> None:
        """Tell every observing layer what became of an action. Never raises: an observer
        that fails is logged (by exception type only) and the others still run."""
        for layer in self.observers:
            try:
                layer.observe(observation)
            except Exception as exc:
                _log.error(
                    "the %s layer failed to observe an action (%s)", layer.name, type(exc).__name__
                )

    def signal(self, report: SignalReport) -> list[str]:
        """Tell every layer that listens for signals; what they did, one line each. A
        listener that fails is logged and the others still run."""
        done: list[str] = []
        for layer in self.listeners:
            try:
                done.extend(layer.receive_signal(report))
            except Exception as exc:
                _log.error(
                    "the %s layer failed to act on a signal (%s)", layer.name, type(exc).__name__
                )
        return done

    def close(self) -> None:
        """Let layers that hold resources (an alert dispatcher's thread) finish and stop."""
        for layer in self.layers:
            close = getattr(layer, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as exc:
                    _log.error("the %s layer failed to close (%s)", layer.name, type(exc).__name__)


_log = logging.getLogger("agentguard.pipeline")
#: (agent, tool) paths kept at most; past it the cache starts again
_MAX_PATHS = 10_000


def _applies(layer: Any, agent: str, tool: str) -> bool:
    """Whether ``layer`` has anything to do for ``agent`` calling ``tool`` (fail closed:
    yes, unless it says no)."""
    applies = getattr(layer, "applies", None)
    if applies is None:
        return True
    try:
        return bool(applies(agent, tool))
    except Exception as exc:
        _log.error(
            "the %s layer failed to say what it applies to (%s)", layer.name, type(exc).__name__
        )
        return True


def _failure(layer: str, exc: Exception) -> Reason:
    """A layer's exception as a denial. Our own errors carry value-free messages and codes;
    anything else is named by its type only, since its message could hold a secret."""
    from agentguard.errors import AgentGuardError

    if isinstance(exc, AgentGuardError):
        return Reason(layer, exc.code, f"{exc.message}; the action is denied to fail closed")
    return Reason(
        layer,
        "pipeline.internal_error",
        f"the {layer} layer failed ({type(exc).__name__}); the action is denied to fail closed",
    )
