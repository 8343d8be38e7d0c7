"""Quality checks: your own judgement of outbound text (an LLM judge, a style checker), run
before the tool, each with a timeout.

A check is a function ``check(fields, action)`` where ``fields`` maps each outbound field
(``body``, ``subject``) to its text. It returns True or None to pass, False or a string
(the reason) to fail; it may be ``async``. It is named in the policy's
``detectors.quality_checks`` with ``call: module:function``, or registered in Python::

    @guard.quality_check("polite")
    def polite(fields, action):
        return "rude" not in fields.get("body", "")

Failing, raising, timing out or being missing all have the same effect, the check's
``action``: ``flag_for_review`` (held for a person; it does not run) or ``block``. A check
that times out keeps running in its worker thread until it returns (Python cannot stop a
thread); its answer is ignored.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from agentguard.detect.base import Detector
from agentguard.detect.redact import redact_value
from agentguard.errors import ContentBlocked
from agentguard.layers.registry import LayerSpec, register
from agentguard.pipeline import CONTINUE, Action, Reason, Step, Verdict
from agentguard.policy import LoadedPolicy
from agentguard.policy.content import QualityFunction, matches_any
from agentguard.values import at_path, dotted, strings

NAME = "quality"
_MAX_REASON = 200


class QualityLayer:
    """Runs the policy's quality checks on a tool's outbound fields."""

    name = NAME

    def __init__(
        self,
        policy: LoadedPolicy,
        functions: Mapping[str, QualityFunction],
        detectors: Callable[[], Sequence[Detector]],
    ) -> None:
        self._checks = policy.model.detectors.quality_checks
        self._functions = {
            **{k: v for k, v in policy.quality_functions.items() if v is not None},
            **functions,
        }
        self._fields = {
            name: tuple(spec.outbound) for name, spec in policy.model.tools.items() if spec.outbound
        }
        self._by_tool = {
            tool: tuple(c for c in self._checks if matches_any(tool, c.tools))
            for tool in policy.model.tools
        }
        self._detectors = detectors
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=8, thread_name_prefix="agentguard-quality"
                )
            return self._pool

    def applies(self, agent: str, tool: str) -> bool:
        return bool(self._by_tool.get(tool))

    def admit(self, action: Action) -> Verdict:
        checks = self._by_tool.get(action.tool, ())
        if not checks:
            return CONTINUE
        fields: dict[str, str] = {}
        for field in self._fields.get(action.tool, ()):
            found = at_path(action.args, field)
            if found is not None:
                for path, text in strings(found[1], found[0]):
                    fields[dotted(path)] = text
        if not fields:
            return CONTINUE
        pending: list[tuple[Any, Future[Any] | None]] = []
        for check in checks:
            function = self._functions.get(check.name)
            future = None
            if function is not None:
                future = self._executor().submit(_run, function, dict(fields), action)
            pending.append((check, future))
        reasons: list[Reason] = []
        step = Step.CONTINUE
        for check, future in pending:
            failure = self._outcome(check.name, future, check.timeout.total_seconds())
            if failure is None:
                continue
            verb = "held for human review" if check.action == "flag_for_review" else "blocked"
            reasons.append(
                Reason(
                    NAME,
                    "quality.failed" if check.action == "block" else "quality.held_for_review",
                    f"quality check {check.name!r} on tool {action.tool!r}: {failure}; {verb}",
                )
            )
            if check.action == "block":
                step = Step.DENY
            elif step is not Step.DENY:
                step = Step.HOLD
        if step is Step.CONTINUE:
            return CONTINUE
        return Verdict(step, tuple(reasons))

    def _outcome(self, name: str, future: Future[Any] | None, timeout: float) -> str | None:
        """None when the check passed, else why it did not."""
        if future is None:
            return "no function is registered for it (use @guard.quality_check or call:)"
        try:
            answer = future.result(timeout=timeout)
        except FutureTimeout:
            return f"it did not answer within {timeout:g}s"
        except Exception as exc:
            return f"it raised {type(exc).__name__}"
        if answer is True or answer is None:
            return None
        if answer is False:
            return "it failed"
        text = str(answer)[:_MAX_REASON]
        cleaned = redact_value(text, self._detectors(), style="type_tag", min_length=1)
        return f"it failed: {cleaned}"


def _run(function: QualityFunction, fields: dict[str, str], action: Action) -> Any:
    if inspect.iscoroutinefunction(function):
        return asyncio.run(function(fields, action))
    return function(fields, action)


register(
    LayerSpec(
        NAME, 900, lambda ctx: QualityLayer(ctx.policy, ctx.quality, ctx.detectors), ContentBlocked
    )
)
