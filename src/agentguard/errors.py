"""One error hierarchy for everything agentguard raises.

Catch :class:`Denied` for refusals of an action, :class:`PolicyError` for a policy that
cannot be loaded, or :class:`AgentGuardError` for all of them. Every error carries a stable
machine ``code`` (``access.condition_false``) and a sentence a person can act on. Messages
never contain argument values: they name rules, tools and agents only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentguard.approval_queue import ApprovalTicket
    from agentguard.pipeline import Decision


class AgentGuardError(Exception):
    """Root of every error agentguard raises."""

    code: str = "agentguard.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class PolicyError(AgentGuardError):
    """The policy file cannot be used: it does not parse, or it says something invalid.

    ``problems`` lists every problem found, each as ``file:line:column: message``.
    """

    code = "policy.invalid"

    def __init__(self, problems: list[str], *, code: str | None = None) -> None:
        self.problems = list(problems)
        text = problems[0] if len(problems) == 1 else "\n".join(["invalid policy:", *problems])
        super().__init__(text, code=code)


class StoreUnavailable(AgentGuardError):
    """The store cannot be reached or written; actions are denied until it is back."""

    code = "store.unavailable"


class AuditWriteFailed(StoreUnavailable):
    """The tool ran but its audit record could not be committed; the result is withheld."""

    code = "audit.write_failed"


class ToolNotRegistered(AgentGuardError):
    """The policy allowed a tool that has no Python implementation registered with the guard."""

    code = "tool.not_registered"


class Denied(AgentGuardError):
    """The pipeline refused the action. ``decision`` holds every reason that was given."""

    code = "denied"

    def __init__(self, decision: Decision) -> None:
        reason = decision.deciding_reason
        code = reason.code if reason is not None else "denied"
        message = reason.message if reason is not None else "the action was denied"
        super().__init__(message, code=code)
        self.decision = decision

    @property
    def retry_after(self) -> timedelta | None:
        """When the same action may be admitted again, if waiting helps (a rate limit, an
        open breaker); None otherwise."""
        reason = self.decision.deciding_reason
        if reason is None or reason.retry_after is None:
            return None
        return timedelta(seconds=reason.retry_after)


class Unauthenticated(Denied):
    """The API key is unknown, malformed, expired or revoked."""


class AgentStopped(Denied):
    """A kill switch covers this agent or tool."""


class InvalidInput(Denied):
    """The arguments failed the tool's schema, size limits or sanitisation."""


class AccessDenied(Denied):
    """No role of the agent allows the tool, a role denies it, or a condition is false."""


class ContentBlocked(Denied):
    """A detector rule or the leak guard refused the content of the action."""


class HeldForReview(Denied):
    """The action waits for a person (``flag_for_review``); it has not run and will not run
    unless a reviewer releases it."""


class ApprovalPending(HeldForReview):
    """The action waits for people to approve it and has not run. ``ticket`` names the
    request (``ticket.id``: ``agentguard approvals approve ID``); pass it to
    ``agent.await_approval(ticket)`` to run the action once approved, or call the same
    action again later: it finds its request rather than queueing a second one."""

    def __init__(self, decision: Decision, ticket: ApprovalTicket) -> None:
        super().__init__(decision)
        self.ticket = ticket
        self.message = f"{self.message}; waiting for approval {ticket.id}"
        self.args = (self.message,)


class ApprovalRefused(Denied):
    """The action asked for approval and will not run: rejected by a person, expired,
    already used, or no longer matching what was approved."""


class RateLimited(Denied):
    """A rate limit, budget or retry limit of the policy's ``limits:`` refused the action.
    ``retry_after`` says when the same action may be admitted (None: not by waiting)."""


class CircuitOpen(Denied):
    """A circuit breaker is open: the agent or tool kept failing and is rested until its
    cooldown ends (``retry_after``), or a loop was detected and the agent stopped."""


class ResultWithheld(Denied):
    """The tool ran, but its result was kept from the agent (a detector rule blocked it)."""


def denied_error(decision: Decision) -> Denied:
    """Build the most specific :class:`Denied` subclass for a denying decision: the one the
    deciding layer registered (see :mod:`agentguard.layers.registry`)."""
    if decision.held:
        return HeldForReview(decision)
    from agentguard.layers.registry import load_builtin_layers

    load_builtin_layers()  # the built-in layers register their classes when imported
    reason = decision.deciding_reason
    layer = reason.layer if reason is not None else ""
    cls = _BY_LAYER.get(layer, Denied)
    return cls(decision)


_BY_LAYER: dict[str, type[Denied]] = {}


def register_denial(layer: str, cls: type[Denied]) -> None:
    """Say which :class:`Denied` subclass a refusal by ``layer`` raises."""
    if not (isinstance(cls, type) and issubclass(cls, Denied)):
        raise TypeError(f"layer {layer!r}: {cls!r} is not a subclass of agentguard.Denied")
    _BY_LAYER[layer] = cls


class HttpToolError(AgentGuardError):
    """An HTTP tool's call failed: ``http_tool.secret_missing`` (an environment variable
    is not set), ``http_tool.arguments`` (arguments that cannot go in a query),
    ``http_tool.unreachable``, ``http_tool.status`` (300 and up), ``http_tool.too_large``."""

    code = "http_tool.failed"
