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

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, overload

from agentguard.agent import AgentHandle
from agentguard.approval_queue import ApprovalQueue, ApprovalTicket
from agentguard.audit import AuditEntry, Verification
from agentguard.audit_record import RecordBuilder
from agentguard.checkpointer import Checkpointer
from agentguard.clock import Clock, SystemClock
from agentguard.detect.base import Detector
from agentguard.errors import (
    AgentGuardError,
    PolicyError,
)
from agentguard.execution import Executor
from agentguard.guard_controls import GuardControls
from agentguard.layers.leaks import OwnerResolver
from agentguard.layers.registry import LayerContext, build_layers
from agentguard.pipeline import (
    Action,
    Decision,
    Layer,
    Pipeline,
    Reason,
)
from agentguard.policy import LoadedPolicy, load_policy
from agentguard.policy.content import QualityFunction
from agentguard.rollback import Rollback, RollbackPlan, RollbackReport, Transaction
from agentguard.store import DEFAULT_URL, Store, open_store
from agentguard.tools import ToolFunction, describe_function

F = TypeVar("F", bound=Callable[..., Any])


class Guard(GuardControls):
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
        if self.policy.unloaded:
            raise PolicyError(
                [
                    f"{self.policy.source}: loaded with load_plugins=False, so its custom "
                    "detectors and quality checks cannot run; load it with plugins to guard"
                ],
                code="policy.plugins_not_loaded",
            )
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
        self._functions: dict[str, ToolFunction] = {
            name: describe_function(func, name) for name, func in self.policy.tool_functions.items()
        }
        self._lock = threading.Lock()
        self._records = RecordBuilder(
            declared=self._declared,
            sensitive_fields=self._sensitive_fields,
            detectors=self._audit_detectors,
            key=self._tag_key,
            redact=redact_audit,
        )
        self._pipeline = self._build_pipeline()
        self._checkpointer: Checkpointer | None = None
        settings = self.policy.model.audit_checkpoints
        if settings is not None:
            source = Path(self.policy.source)
            base = source.parent if source.is_file() else None
            # A missing or readable-by-others key, or an unusable target, refuses to start.
            self._checkpointer = Checkpointer.from_settings(
                settings, self.store, base=base, clock=self.clock
            )
        self.approvals = ApprovalQueue(
            store=self.store,
            clock=self.clock,
            policy=lambda: self.policy,
            records=self._records,
            append=self._append_control,
            signal=lambda report: self.pipeline.signal(report),
        )
        self._rollback = Rollback(
            store=self.store,
            clock=self.clock,
            policy=lambda: self.policy,
            functions=lambda: self._functions,
            records=self._records,
            append=self._append_control,
        )
        self._executor = Executor(
            pipeline=self._pipeline,
            records=self._records,
            functions=self._functions,
            store=self.store,
            clock=self.clock,
            tool_spec=self.policy.model.tools.get,
            stop=self._stop,
            after_append=self._checkpointer.after_append if self._checkpointer else None,
            approvals=self.approvals,
            rollback=self._rollback,
        )

    def _append_control(self, entry: AuditEntry) -> None:
        """Append a record that is not an action's (an approval's change)."""
        record = self.store.append(entry)
        if self._checkpointer is not None:
            self._checkpointer.after_append(record.seq, record.hash)

    @property
    def pipeline(self) -> Pipeline:
        """The layers every action passes (rebuilt when tools or checks are registered)."""
        return self._pipeline

    @pipeline.setter
    def pipeline(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._executor.pipeline = pipeline

    def _declared(self, kind: str, name: str) -> bool:
        if kind == "tool":
            return name in self.policy.model.tools or name in self._functions
        return name in self.policy.model.agents

    def _sensitive_fields(self, tool: str) -> Sequence[str]:
        spec = self.policy.model.tools.get(tool)
        return spec.sensitive if spec is not None else ()

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

    def _rebuild(self) -> None:
        """After a tool or check was registered: new pipeline, and the executor sees it."""
        self.pipeline = self._build_pipeline()
        self._executor.functions = self._functions
        self._executor.tool_spec = self.policy.model.tools.get

    def _build_pipeline(self) -> Pipeline:
        context = LayerContext(
            policy=self.policy,
            store=self.store,
            clock=self.clock,
            functions=self._functions,
            quality=self._quality,
            detectors=self._audit_detectors,
            options={"owner_resolver": self.owner_resolver},
        )
        return Pipeline([*build_layers(context), *self._extra_layers])

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
            self._rebuild()
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
                self._rebuild()
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
            dry_run=True,
        )
        return self._executor.evaluate(action)

    # -------------------------------------------------------------- execution

    def execute(self, action: Action) -> Any:
        """Evaluate ``action``; run the tool if allowed; check its result; audit; return the
        result (as the agent may see it) or raise.

        Every call leaves exactly one audit record. The tool runs only once the store has
        shown it can take that record (a reservation); when it cannot, the call raises
        :class:`~agentguard.errors.StoreUnavailable` and nothing runs.
        """
        return self._executor.execute(action)

    async def aexecute(self, action: Action, *, wait_for_approval: bool = True) -> Any:
        """The async twin of :meth:`execute` (``wait_for_approval=False``: a required
        approval raises ApprovalPending at once instead of waiting)."""
        return await self._executor.aexecute(action, wait_for_approval=wait_for_approval)

    def await_approval(self, ticket: ApprovalTicket, timeout: float | None = None) -> Any:
        """Wait up to ``timeout`` seconds (None: until the request's deadline) for people to
        decide a held action, then run it once through the current pipeline and return its
        result. Raises :class:`~agentguard.errors.ApprovalRefused` when rejected or expired,
        :class:`~agentguard.errors.ApprovalPending` when still waiting at ``timeout``."""
        return self._executor.await_approval(ticket, timeout)

    async def aawait_approval(self, ticket: ApprovalTicket, timeout: float | None = None) -> Any:
        """The async twin of :meth:`await_approval`."""
        return await self._executor.aawait_approval(ticket, timeout)

    # --------------------------------------------------------------- rollback

    def transaction(self) -> Transaction:
        """A block whose reversible actions (tools with ``undo:`` or ``snapshot:``) are
        undone, newest first, if it raises; the exception is raised again::

            with guard.transaction():
                agent.call("create_post", title="Launch")
                agent.call("notify_press", post_id="p1")   # raises: create_post is undone
        """
        return self._rollback.transaction()

    def rollback_plan(
        self,
        *,
        action: str | None = None,
        session: str | None = None,
        agent: str | None = None,
        since: timedelta | datetime | None = None,
    ) -> RollbackPlan:
        """What :meth:`rollback` would undo (newest first) and what it cannot (irreversible
        actions, tools without undo): one action id, a session, or an agent ``since``."""
        return self._rollback.plan(action=action, session=session, agent=agent, since=since)

    def rollback(
        self,
        *,
        action: str | None = None,
        session: str | None = None,
        agent: str | None = None,
        since: timedelta | datetime | None = None,
        by: str | None = None,
        dry_run: bool = False,
    ) -> RollbackReport:
        """Undo what was done — one action id, a session, or an agent's actions ``since``
        (a duration back from now, or a moment) — newest first, each undo audited and done
        at most once; the first that fails stops, and the report says what remains."""
        plan = self.rollback_plan(action=action, session=session, agent=agent, since=since)
        return self._rollback.run(plan, by=by, dry_run=dry_run)

    def decide(self, action: Action) -> Decision:
        """The decision for ``action`` as a dry run: nothing runs, is counted or audited."""
        return self._executor.evaluate(action.with_changes(dry_run=True, approval=None))

    def _stop(self, action: Action, reasons: Sequence[Reason]) -> None:
        """Set the agent's kill switch because a layer asked for it (a detector rule's
        ``stop_agent``, a detected loop): the layer whose verdict ended the pipeline, whose
        reasons come last."""
        last = reasons[-1].layer if reasons else None
        stopping = [r for r in reasons if r.layer == last]
        codes = ", ".join(sorted({r.code for r in stopping}))
        layers = ", ".join(sorted({r.layer for r in stopping})) or "a layer"
        tool = self._records.name(action.tool, kind="tool")
        self.kill(
            agent=action.agent,
            reason=f"stopped by the {layers} layer ({codes}) on tool {tool!r}",
            by="agentguard",
        )

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

    def flush_alerts(self, timeout: float | None = None) -> bool:
        """Wait until every alert queued so far is delivered (or has failed for good);
        False if ``timeout`` (seconds) passed first."""
        done = True
        for layer in self.pipeline.layers:
            flush = getattr(layer, "flush", None)
            if callable(flush):
                done = bool(flush(timeout)) and done
        return done

    def verify_audit(self) -> Verification:
        """Check the audit log's hash chain (see :func:`agentguard.audit.verify_chain`)."""
        return self.store.verify()

    def close(self) -> None:
        """Deliver queued alerts (up to 10 s), write a last checkpoint of the log's head (when
        configured) and close the store."""
        try:
            self.pipeline.close()
            if self._checkpointer is not None:
                self._checkpointer.flush()
        finally:
            self.store.close()

    def __enter__(self) -> Guard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
