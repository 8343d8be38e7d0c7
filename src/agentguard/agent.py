"""An :class:`AgentHandle`: acting as one agent through a guard."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentguard.pipeline import Action, Decision

if TYPE_CHECKING:
    from agentguard.approval_queue import ApprovalTicket
    from agentguard.guard import Guard


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

    @property
    def guard(self) -> Guard:
        """The guard this handle acts through (adapters register tools on it)."""
        return self._guard

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

    def await_approval(self, ticket: ApprovalTicket, timeout: float | None = None) -> Any:
        """Wait up to ``timeout`` seconds (None: until its deadline) for people to decide the
        held action of ``ticket`` (from :class:`~agentguard.errors.ApprovalPending`), then run
        it once and return its result. Raises ApprovalRefused when rejected or expired, and
        ApprovalPending again when still waiting at ``timeout``."""
        return self._guard.await_approval(ticket, timeout)

    async def aawait_approval(self, ticket: ApprovalTicket, timeout: float | None = None) -> Any:
        """Async :meth:`await_approval`."""
        return await self._guard.aawait_approval(ticket, timeout)

    def on_approval(
        self,
        ticket: ApprovalTicket,
        callback: Callable[[Any, BaseException | None], object],
        timeout: float | None = None,
    ) -> threading.Thread:
        """Run the held action of ``ticket`` once people approve it, in a background
        thread, then call ``callback(result, None)`` — or ``callback(None, error)`` when it
        was refused, failed, or ``timeout`` passed. Returns the (daemon) thread."""

        def wait() -> None:
            try:
                result = self.await_approval(ticket, timeout)
            except BaseException as exc:
                callback(None, exc)
                return
            callback(result, None)

        thread = threading.Thread(target=wait, name=f"agentguard-approval-{ticket.id[:8]}")
        thread.daemon = True
        thread.start()
        return thread

    def approval_status(self, ticket: ApprovalTicket) -> str:
        """Where the request of ``ticket`` stands: pending, escalated, approved, rejected,
        expired, executing, executed or failed."""
        return str(self._guard.approvals.status(ticket).state)

    def check(self, tool: str, /, **args: Any) -> Decision:
        """The decision for a call, without running, counting or auditing it."""
        action = self._action(tool, args, None, None, None)
        return self._guard.decide(action)
