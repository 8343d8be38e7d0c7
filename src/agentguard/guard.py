"""The in-process guard: register tools, then let agents call them only through the pipeline.

Example::

    from decimal import Decimal
    from agentguard import Guard, Denied

    guard = Guard.from_file("policy.yaml")          # store defaults to ./agentguard.db

    @guard.tool()
    def process_refund(order_id: str, amount: Decimal) -> dict:
        ...

    agent = guard.agent("financial_agent")
    agent.call("process_refund", order_id="o1", amount=Decimal("120"))   # result, or raises
    guard.check(agent="financial_agent", tool="process_refund", args={"order_id": "o1",
                "amount": Decimal("600")})                                  # a Decision only
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar, overload

from agentguard import control
from agentguard.audit import AuditEntry, Verification, mask, sensitive_values
from agentguard.clock import Clock, SystemClock
from agentguard.detect.base import Detector
from agentguard.detect.redact import redact_value
from agentguard.errors import (
    AgentGuardError,
    AuditWriteFailed,
    ResultWithheld,
    ToolNotRegistered,
    denied_error,
)
from agentguard.layers import (
    AccessLayer,
    ContentLayer,
    IdentityLayer,
    InputLayer,
    KillSwitchLayer,
    LeakLayer,
    QualityLayer,
)
from agentguard.layers.leaks import OwnerResolver
from agentguard.pipeline import Action, Decision, Layer, Outcome, Pipeline, Reason, ResultReview
from agentguard.policy import LoadedPolicy, load_policy
from agentguard.policy.content import QualityFunction
from agentguard.store import DEFAULT_URL, Store, open_store
from agentguard.store.base import Kill
from agentguard.tools import ToolFunction, describe_function

F = TypeVar("F", bound=Callable[..., Any])


class Guard:
    """Holds a policy, a store and the registered tools; runs every call through the pipeline.

    Thread-safe: one guard may serve many threads and asyncio tasks.
    """

    def __init__(
        self,
        policy: LoadedPolicy | str | os.PathLike[str],
        store: Store | str | None = None,
        *,
        clock: Clock | None = None,
        layers: Sequence[Layer] = (),
        redact_audit: bool = True,
        owner_resolver: OwnerResolver | None = None,
    ) -> None:
        self.policy = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
        self.redact_audit = redact_audit
        self.owner_resolver = owner_resolver
        self._quality: dict[str, QualityFunction] = {}
        self._detector_lock = threading.Lock()
        self._key: bytes | None = None
        self._detectors: tuple[Detector, ...] | None = None
        self.store: Store = (
            open_store(store or DEFAULT_URL) if store is None or isinstance(store, str) else store
        )
        self.clock: Clock = clock or SystemClock()
        self._extra_layers = tuple(layers)
        self._functions: dict[str, ToolFunction] = {}
        self._lock = threading.Lock()
        self.pipeline = self._build_pipeline()

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        store: Store | str | None = None,
        *,
        clock: Clock | None = None,
        layers: Sequence[Layer] = (),
        redact_audit: bool = True,
        owner_resolver: OwnerResolver | None = None,
    ) -> Guard:
        """Load ``path`` (a policy YAML file) and open ``store`` (a URL or a store object).

        ``owner_resolver`` maps a recipient (an email address …) to the owner it belongs to,
        for the A→B leak guard; see :mod:`agentguard.layers.leaks`.
        """
        return cls(
            load_policy(path),
            store,
            clock=clock,
            layers=layers,
            redact_audit=redact_audit,
            owner_resolver=owner_resolver,
        )

    def _build_pipeline(self) -> Pipeline:
        return Pipeline(
            [
                IdentityLayer(self.policy, self.store, self.clock),
                KillSwitchLayer(self.store),
                InputLayer(self.policy, self._functions),
                AccessLayer(self.policy, self.clock),
                ContentLayer(self.policy),
                LeakLayer(
                    self.policy,
                    self.store,
                    self.clock,
                    self._audit_detectors,
                    self.owner_resolver,
                ),
                QualityLayer(self.policy, self._quality, self._audit_detectors),
                *self._extra_layers,
            ]
        )

    # ------------------------------------------------------------------ tools

    @overload
    def tool(self, name: F, /) -> F: ...

    @overload
    def tool(self, name: str | None = None, /) -> Callable[[F], F]: ...

    def tool(self, name: str | Callable[..., Any] | None = None, /) -> Any:
        """Register a function as a tool (its name is the function's name unless given).

        Works as ``@guard.tool()``, ``@guard.tool("send_email")`` or ``@guard.tool``.
        """
        if callable(name):
            return self.register(name)

        def decorator(func: F) -> F:
            self.register(func, name)
            return func

        return decorator

    def register(self, func: Callable[..., Any], name: str | None = None) -> ToolFunction:
        """Register ``func`` as the implementation of tool ``name`` (default: its name).

        When the policy gives the tool no input schema, one is derived from the type hints,
        and the policy's conditions on the tool are checked against it (PolicyError if a
        condition names an argument the function does not have).
        """
        tool_name = name or getattr(func, "__name__", None)
        if not tool_name:
            raise TypeError("a tool needs a name: pass one to guard.tool(name)")
        function = describe_function(func, tool_name)
        with self._lock:
            if tool_name in self.policy.model.tools and self.policy.arg_schema(tool_name) is None:
                self.policy = self.policy.with_tool_schema(tool_name, function.schema)
            functions = dict(self._functions)
            functions[tool_name] = function
            self._functions = functions
            self.pipeline = self._build_pipeline()
        return function

    def quality_check(self, name: str) -> Callable[[F], F]:
        """Register the function of the policy's quality check ``name``::

        @guard.quality_check("polite")
        def polite(fields: dict[str, str], action: Action) -> bool | str:
            ...   # True passes; False or a reason fails
        """
        declared = {c.name for c in self.policy.model.detectors.quality_checks}
        if name not in declared:
            raise AgentGuardError(
                f"no quality check named {name!r} in the policy's detectors.quality_checks",
                code="policy.quality_check",
            )

        def decorator(func: F) -> F:
            with self._lock:
                self._quality = {**self._quality, name: func}
                self.pipeline = self._build_pipeline()
            return func

        return decorator

    @property
    def tools(self) -> Mapping[str, ToolFunction]:
        """The registered tool implementations by name."""
        return self._functions

    # ----------------------------------------------------------------- agents

    def agent(
        self,
        name: str | None = None,
        *,
        api_key: str | None = None,
        session: str | None = None,
        subject: str | None = None,
    ) -> AgentHandle:
        """A handle to act as one agent, by name (in-process trust) or by API key."""
        if name is None and api_key is None:
            raise TypeError("guard.agent() needs an agent name or api_key=")
        return AgentHandle(self, name, api_key=api_key, session=session, subject=subject)

    def check(
        self,
        agent: str | None = None,
        tool: str = "",
        args: Mapping[str, Any] | None = None,
        *,
        api_key: str | None = None,
        session: str | None = None,
        subject: str | None = None,
    ) -> Decision:
        """Evaluate an action without running or auditing it; returns the Decision."""
        action = Action(
            agent=agent or "",
            tool=tool,
            args=dict(args or {}),
            session=session,
            subject=subject,
            credential=api_key,
        )
        return self.pipeline.evaluate(action)

    # -------------------------------------------------------------- execution

    def execute(self, action: Action) -> Any:
        """Evaluate ``action``; run the tool if allowed; check its result; audit; return the
        result (as the agent may see it) or raise."""
        started = time.perf_counter_ns()
        timestamp = self.clock.now()
        decision = self.pipeline.evaluate(action)
        function = self._admit(decision, timestamp, started)
        if function.is_async:
            self._audit(decision, timestamp, started, "failed", error="async tool called sync")
            raise TypeError(
                f"tool {function.name!r} is async; call it with `await agent.acall(...)`"
            )
        try:
            result = function.func(**decision.action.args)
        except Exception as exc:
            self._audit(decision, timestamp, started, "failed", error=exc)
            raise
        return self._deliver(decision, timestamp, started, result)

    async def aexecute(self, action: Action) -> Any:
        """The async twin of :meth:`execute`: store work runs in a thread, async tools are
        awaited, sync tools run in a thread."""
        started = time.perf_counter_ns()
        timestamp = self.clock.now()
        decision = await asyncio.to_thread(self.pipeline.evaluate, action)
        function = await asyncio.to_thread(self._admit, decision, timestamp, started)
        try:
            if function.is_async:
                result = await function.func(**decision.action.args)
            else:
                result = await asyncio.to_thread(function.func, **decision.action.args)
        except Exception as exc:
            await asyncio.to_thread(self._audit, decision, timestamp, started, "failed", error=exc)
            raise
        return await asyncio.to_thread(self._deliver, decision, timestamp, started, result)

    def _admit(self, decision: Decision, timestamp: Any, started: int) -> ToolFunction:
        """The function to run for an allowed decision; otherwise audit and raise."""
        if not decision.allowed:
            if decision.stop_agent:
                self._stop(decision.action, decision.reasons)
            status = "held" if decision.held else "denied"
            self._audit(decision, timestamp, started, status)
            raise denied_error(decision)
        function = self._functions.get(decision.action.tool)
        if function is None:
            self._audit(decision, timestamp, started, "failed", error="no implementation")
            raise ToolNotRegistered(
                f"tool {decision.action.tool!r} is allowed but has no registered implementation; "
                "register it with @guard.tool()"
            )
        return function

    def _deliver(self, decision: Decision, timestamp: Any, started: int, result: Any) -> Any:
        """Pass the result through the result layers, audit it, and return it or raise."""
        review: ResultReview = self.pipeline.review_result(decision.action, result)
        if review.withheld:
            if review.stop_agent:
                self._stop(decision.action, review.reasons)
            withheld = Decision(
                Outcome.DENY,
                decision.action,
                decision.reasons + review.reasons,
                decision.timings_ns,
            )
            self._audit(withheld, timestamp, started, "withheld", output=result)
            raise ResultWithheld(withheld)
        if review.reasons:
            decision = Decision(
                decision.outcome,
                decision.action,
                decision.reasons + review.reasons,
                decision.timings_ns,
            )
        self._audit(decision, timestamp, started, "executed", output=review.result)
        return review.result

    def _stop(self, action: Action, reasons: Sequence[Reason]) -> None:
        """Set the agent's kill switch because a detector rule said ``stop_agent``."""
        codes = ", ".join(sorted({r.code for r in reasons if r.code.endswith("stop_agent")}))
        self.kill(
            agent=action.agent,
            reason=f"stopped by a detector rule ({codes}) on tool {action.tool!r}",
            by="agentguard",
        )

    def _audit(
        self,
        decision: Decision,
        timestamp: Any,
        started_ns: int,
        status: str,
        *,
        output: Any = None,
        error: BaseException | str | None = None,
    ) -> None:
        action = decision.action
        spec = self.policy.model.tools.get(action.tool)
        sensitive = spec.sensitive if spec is not None else ()
        secrets = sensitive_values(action.args, sensitive) if action.args else []
        if isinstance(error, BaseException):
            error_text: str | None = mask(f"{type(error).__name__}: {error}", (), secrets)
        else:
            error_text = error
        recorded_input: Any = mask(action.args, sensitive, secrets)
        session, subject = action.session, action.subject
        recorded_output: Any = mask(output, (), secrets) if output is not None else None
        recorded_meta: Any = mask(action.metadata, (), secrets) if action.metadata else {}
        if self.redact_audit:
            # PII and credentials found by the detectors are replaced by a short hash of the
            # value ([EMAIL:3f2a…]): equal values still correlate, none is stored in clear.
            detectors = self._audit_detectors()
            # Tags are keyed with the store's own key: a tag of an SSN cannot be reversed by
            # hashing the billion candidates without it.
            key = self._tag_key()
            recorded_input = redact_value(recorded_input, detectors, key=key)
            recorded_output = redact_value(recorded_output, detectors, key=key)
            recorded_meta = redact_value(recorded_meta, detectors, key=key)
            if error_text is not None:
                error_text = str(redact_value(error_text, detectors, key=key))
            # A customer may be identified by an email address: session and subject too.
            if session is not None:
                session = str(redact_value(session, detectors, key=key))
            if subject is not None:
                subject = str(redact_value(subject, detectors, key=key))
        entry = AuditEntry(
            timestamp=timestamp,
            kind="action",
            action_id=action.id,
            agent_id=action.agent or None,
            action=action.tool,
            decision=str(decision.outcome),
            status=status,
            input=recorded_input,
            output=recorded_output,
            error=error_text,
            reasons=[r.as_dict() for r in decision.reasons],
            cost=spec.cost if spec is not None and status == "executed" else None,
            duration_ms=round((time.perf_counter_ns() - started_ns) / 1e6, 3),
            session=session,
            subject=subject,
            key_id=action.key_id,
            metadata=recorded_meta,
        )
        try:
            self.store.append(entry)
        except AgentGuardError as exc:
            if status == "executed":
                raise AuditWriteFailed(
                    f"tool {action.tool!r} ran, but its audit record could not be committed "
                    f"({exc.message}); the result is withheld"
                ) from None
            raise

    def _tag_key(self) -> bytes:
        if self._key is None:
            self._key = self.store.fingerprint_key()
        return self._key

    def _audit_detectors(self) -> tuple[Detector, ...]:
        if self._detectors is None:  # imported on first use: phonenumbers takes ~0.3 s to load
            with self._detector_lock:
                if self._detectors is None:
                    from agentguard.detect.pii import PIIDetector
                    from agentguard.detect.secrets import SecretsDetector

                    # The policy's own instances when it uses the families: the detector
                    # memo then serves the audit and the leak guard from the rules' scans.
                    secrets = self.policy.detectors.get("secrets")
                    pii = self.policy.detectors.get("pii")
                    self._detectors = (
                        secrets if isinstance(secrets, SecretsDetector) else SecretsDetector(),
                        pii if isinstance(pii, PIIDetector) else PIIDetector(),
                    )
        return self._detectors

    # --------------------------------------------------------------- controls

    def kill(
        self,
        *,
        agent: str | None = None,
        tool: str | None = None,
        everything: bool = False,
        reason: str,
        by: str | None = None,
    ) -> Kill:
        """Stop an agent, a tool or everything, in every process sharing this store."""
        scope, target = control.scope_of(agent=agent, tool=tool, everything=everything)
        return control.kill(self.store, scope, target, reason=reason, by=by, clock=self.clock)

    def resume(
        self,
        *,
        agent: str | None = None,
        tool: str | None = None,
        everything: bool = False,
        reason: str | None = None,
        by: str | None = None,
    ) -> bool:
        """Lift a kill switch set by :meth:`kill` (or ``agentguard kill``)."""
        scope, target = control.scope_of(agent=agent, tool=tool, everything=everything)
        return control.resume(self.store, scope, target, reason=reason, by=by, clock=self.clock)

    def create_key(
        self,
        agent: str,
        *,
        expires_in: timedelta | None = None,
        tools: Sequence[str] | None = None,
        label: str | None = None,
    ) -> str:
        """Create an API key for ``agent`` (optionally expiring, optionally narrowed to some
        tools). Returns the key; only its hash is stored, so keep it now."""
        if agent not in self.policy.model.agents:
            raise AgentGuardError(
                f"agent {agent!r} is not defined in the policy", code="keys.agent"
            )
        outside = [t for t in tools or () if not self.policy.may_use(agent, t)]
        if outside:
            raise AgentGuardError(
                f"agent {agent!r} may not use {', '.join(outside)}; a key can only narrow "
                "an agent's tools, never widen them",
                code="keys.scope",
            )
        key, _ = control.issue_key(
            self.store, agent, expires_in=expires_in, tools=tools, label=label, clock=self.clock
        )
        return key

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key by its id (the part after ``ag_``); it is refused from the next call."""
        return control.revoke_key(self.store, key_id, clock=self.clock)

    def verify_audit(self) -> Verification:
        """Check the audit log's hash chain (see :func:`agentguard.audit.verify_chain`)."""
        return self.store.verify()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Guard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AgentHandle:
    """Acts as one agent. Every call goes through the guard's pipeline and is audited."""

    def __init__(
        self,
        guard: Guard,
        name: str | None,
        *,
        api_key: str | None = None,
        session: str | None = None,
        subject: str | None = None,
    ) -> None:
        self._guard = guard
        self.name = name
        self._api_key = api_key
        self.session = session
        self.subject = subject

    def __repr__(self) -> str:
        how = "api_key=<hidden>" if self._api_key else f"name={self.name!r}"
        return f"AgentHandle({how}, session={self.session!r})"

    def _action(
        self,
        tool: str,
        args: Mapping[str, Any],
        metadata: Mapping[str, Any] | None,
        session: str | None,
        subject: str | None,
    ) -> Action:
        return Action(
            agent=self.name or "",
            tool=tool,
            args=args,
            session=session if session is not None else self.session,
            subject=subject if subject is not None else self.subject,
            metadata=metadata or {},
            credential=self._api_key,
        )

    def call(self, tool: str, /, **args: Any) -> Any:
        """Call ``tool`` with keyword arguments; returns its result or raises Denied."""
        return self._guard.execute(self._action(tool, args, None, None, None))

    async def acall(self, tool: str, /, **args: Any) -> Any:
        """Async :meth:`call`."""
        return await self._guard.aexecute(self._action(tool, args, None, None, None))

    def invoke(
        self,
        tool: str,
        args: Mapping[str, Any] | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        session: str | None = None,
        subject: str | None = None,
    ) -> Any:
        """Like :meth:`call` with the arguments as a mapping, plus audit ``metadata`` (such
        as ``{"confidence_score": 0.87}``) and a per-call session or subject."""
        return self._guard.execute(self._action(tool, dict(args or {}), metadata, session, subject))

    async def ainvoke(
        self,
        tool: str,
        args: Mapping[str, Any] | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        session: str | None = None,
        subject: str | None = None,
    ) -> Any:
        """Async :meth:`invoke`."""
        action = self._action(tool, dict(args or {}), metadata, session, subject)
        return await self._guard.aexecute(action)

    def check(self, tool: str, /, **args: Any) -> Decision:
        """The decision for a call, without running or auditing it."""
        return self._guard.pipeline.evaluate(self._action(tool, args, None, None, None))
