"""agentguard: the policy enforcement layer between AI agents and everything they can touch.

Every tool call is an :class:`Action` that passes identity, kill switch, input validation,
access control and content checks (detectors, the A→B leak guard, quality checks) before it
runs; its result is checked before the agent sees it; and it is written to a hash-chained
audit log either way.

    from agentguard import Guard, Denied
    guard = Guard.from_file("policy.yaml")
"""

from agentguard.agent import AgentHandle
from agentguard.approval_queue import ApprovalTicket
from agentguard.cost import Cost
from agentguard.errors import (
    AccessDenied,
    AgentGuardError,
    AgentStopped,
    ApprovalPending,
    ApprovalRefused,
    AuditWriteFailed,
    CircuitOpen,
    ContentBlocked,
    Denied,
    HeldForReview,
    HttpToolError,
    InvalidInput,
    PolicyError,
    RateLimited,
    ResultWithheld,
    StoreUnavailable,
    ToolNotRegistered,
    Unauthenticated,
)
from agentguard.guard import Guard
from agentguard.pipeline import Action, Decision, Layer, Outcome, Reason, Step, Verdict
from agentguard.policy import LoadedPolicy, load_policy

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "Action",
    "AgentGuardError",
    "AgentHandle",
    "AgentStopped",
    "ApprovalPending",
    "ApprovalRefused",
    "ApprovalTicket",
    "AuditWriteFailed",
    "CircuitOpen",
    "ContentBlocked",
    "Cost",
    "Decision",
    "Denied",
    "Guard",
    "HeldForReview",
    "HttpToolError",
    "InvalidInput",
    "Layer",
    "LoadedPolicy",
    "Outcome",
    "PolicyError",
    "RateLimited",
    "Reason",
    "ResultWithheld",
    "Step",
    "StoreUnavailable",
    "ToolNotRegistered",
    "Unauthenticated",
    "Verdict",
    "__version__",
    "load_policy",
]
