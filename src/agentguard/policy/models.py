"""The policy file as pydantic models. These models are the reference for the file's shape:
``agentguard schema`` prints their JSON Schema.

Every model forbids unknown keys, so a typo is an error rather than a rule that silently
does nothing.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentguard.policy.alerts import AlertRule
from agentguard.policy.approvals import ApprovalsSection, ApproverSpec
from agentguard.policy.breakers import BreakersSection
from agentguard.policy.detectors import DetectorsSection
from agentguard.policy.http import HttpSpec
from agentguard.policy.limits import LimitRule
from agentguard.policy.units import Duration, Money


class Risk(enum.StrEnum):
    """How much harm a wrong call of a tool can do; later layers route approvals by it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenPrice(_Strict):
    """Dollars per token of a tool that reports its usage (``agentguard.Cost``)."""

    input_token: Money | None = Field(default=None, description="Dollars per input token.")
    output_token: Money | None = Field(default=None, description="Dollars per output token.")

    @model_validator(mode="after")
    def _some(self) -> TokenPrice:
        if self.input_token is None and self.output_token is None:
            raise ValueError("give input_token, output_token, or both (dollars per token)")
        return self


class UndoSpec(_Strict):
    """How an action of a tool is undone: a compensating tool, called with arguments
    computed from the original action (CEL over ``args`` and ``result``), or, when ``args``
    is left out, with the original arguments (plus ``result=`` when it takes a ``result``
    parameter)."""

    tool: str = Field(description="The compensating tool (defined under tools:).")
    args: dict[str, str] | None = Field(
        default=None,
        description="Its arguments as CEL expressions over `args` and `result` of the "
        "original action (refund_id: result.refund_id); default: the original arguments.",
    )


class SnapshotSpec(_Strict):
    """State captured before each call, and how to put it back: ``tool`` is called with the
    original arguments just before the action (the action does not run if it fails) and
    returns the state; ``restore`` is called with the original arguments plus
    ``snapshot=`` that state to undo it."""

    tool: str = Field(description="Captures the state the action is about to change.")
    restore: str = Field(description="Puts the captured state back.")


class ToolSpec(_Strict):
    """One tool an agent may call."""

    description: str | None = None
    risk: Risk = Field(
        default=Risk.MEDIUM, description="low | medium | high | critical (default: medium)"
    )
    input: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description=(
            "Shorthand input schema: a map of argument name to JSON Schema. Every argument is "
            "required unless its schema has a default; no other arguments are accepted."
        ),
    )
    input_schema: dict[str, Any] | None = Field(
        default=None,
        description="A complete JSON Schema (draft 2020-12) for the arguments object.",
    )
    sensitive: list[str] = Field(
        default_factory=list,
        description="Arguments (dotted paths) masked in the audit log and every printed output.",
    )
    outbound: list[str] = Field(
        default_factory=list,
        description="Arguments that are the agent's output to the world (an email body).",
    )
    recipient: str | None = Field(
        default=None,
        description="CEL expression naming who receives the outbound content (args.to).",
    )
    recipient_owner: str | None = Field(
        default=None,
        description=(
            "CEL expression naming the owner (customer) the recipient belongs to, when the "
            "call says so (args.customer_id). Otherwise the guard's owner resolver, then the "
            "action's subject, decide; a recipient with no known owner receives no owned data."
        ),
    )
    owner: str | None = Field(
        default=None,
        description=(
            "CEL expression naming whose data this tool returns (args.customer_id); may read "
            "`result`. The guard fingerprints that data so that it cannot be sent to another "
            "owner's recipient."
        ),
    )
    cost: Money | None = Field(
        default=None,
        description="Dollars per call, as a decimal: reserved against budgets before the "
        "call; a tool that returns agentguard.Cost reports the real figure after it.",
    )
    price: TokenPrice | None = Field(
        default=None, description="Dollars per token, for tools that report tokens in a Cost."
    )
    undo: str | UndoSpec | None = Field(
        default=None,
        description="The compensating tool that undoes this (a name, or {tool, args}); "
        "`agentguard rollback` and guard.transaction() call it.",
    )
    snapshot: SnapshotSpec | None = Field(
        default=None,
        description="Capture state before each call ({tool, restore}) so that it can be put "
        "back; for tools that have no compensating action.",
    )
    irreversible: bool = Field(
        default=False,
        description="Cannot be undone: named by rollback --dry-run; approvals.irreversible "
        "can require approval for every such tool.",
    )
    call: str | None = Field(
        default=None,
        description="The tool's Python implementation as module:function, for the CLI and "
        "gateway (rollback runs compensating tools); @guard.tool() overrides it.",
    )
    http: HttpSpec | None = Field(
        default=None,
        description="The tool is an HTTP endpoint ({url, method, headers, timeout}) that "
        "the gateway and the library call; ${NAME} reads a secret from the environment.",
    )
    max_input_bytes: int | None = Field(
        default=None, gt=0, description="Largest JSON size of the arguments (overrides settings)."
    )

    @model_validator(mode="after")
    def _one_schema(self) -> ToolSpec:
        if self.call is not None and self.http is not None:
            raise ValueError("give either 'call' (Python) or 'http' (an endpoint), not both")
        if self.input is not None and self.input_schema is not None:
            raise ValueError("give either 'input' (shorthand) or 'input_schema', not both")
        if self.irreversible and (self.undo is not None or self.snapshot is not None):
            raise ValueError("an irreversible tool has no undo or snapshot; drop one or the other")
        if self.undo is not None and self.snapshot is not None:
            raise ValueError("give either 'undo' or 'snapshot', not both")
        return self

    @property
    def undo_spec(self) -> UndoSpec | None:
        """``undo`` with the shorthand (a tool name) expanded."""
        return UndoSpec(tool=self.undo) if isinstance(self.undo, str) else self.undo

    @property
    def reversible(self) -> bool:
        """Whether an action of this tool can be undone (it has undo or snapshot)."""
        return self.undo is not None or self.snapshot is not None

    def json_schema(self) -> dict[str, Any] | None:
        """The arguments' JSON Schema, expanding the ``input`` shorthand."""
        if self.input_schema is not None:
            return self.input_schema
        if self.input is None:
            return None
        return {
            "type": "object",
            "properties": dict(self.input),
            "required": [name for name, spec in self.input.items() if "default" not in spec],
            "additionalProperties": False,
        }


class Rule(_Strict):
    """An entry of a role's allow or deny list: a tool name (or ``*`` pattern) and an
    optional CEL condition over ``args``, ``agent``, ``session``, ``subject`` and ``now``."""

    tool: str
    when: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"tool": value}
        return value


class RoleSpec(_Strict):
    """A named set of permissions. An explicit deny in any role of an agent wins over any
    allow in any of its roles."""

    description: str | None = None
    allow: list[Rule] = Field(default_factory=list)
    deny: list[Rule] = Field(default_factory=list)


class AgentSpec(_Strict):
    """An agent identity and the roles it holds."""

    description: str | None = None
    roles: list[str] = Field(default_factory=list)
    owner: str | None = Field(default=None, description="The person or team answerable for it.")
    enabled: bool = True


class Settings(_Strict):
    """Limits that apply to every tool unless the tool overrides them."""

    max_input_bytes: int = Field(
        default=256 * 1024, gt=0, description="Largest JSON size of one call's arguments."
    )
    max_depth: int = Field(
        default=32, gt=0, description="Deepest nesting of lists and objects in the arguments."
    )


#: Sections that a later release enforces. Until then a policy using one is refused, so a
#: limit is never silently ignored.
DEFERRED_SECTIONS: tuple[str, ...] = ()


class AuditCheckpoints(_Strict):
    """Signed checkpoints of the audit log's head, written as the guard appends records.

    A hash chain cannot show records cut from its end; a checkpoint kept where the store's
    writer cannot rewrite it can (``agentguard audit verify --checkpoint``). A checkpoint
    is written after ``every`` records, or at the first record once ``interval`` has passed
    since the last one, whichever comes first.
    """

    every: int | None = Field(default=None, gt=0, description="Records between checkpoints.")
    interval: Duration | None = Field(
        default=None, description="Longest time between checkpoints while records are written."
    )
    key: str = Field(
        min_length=1,
        description="Ed25519 private key file (from `agentguard audit keygen`), kept outside "
        "the store; relative to the policy file's folder.",
    )
    to: str = Field(
        min_length=1,
        description="A file to append checkpoints to (JSON lines; relative to the policy "
        "file's folder), or an http(s) URL to POST each one to.",
    )
    timeout: Duration = Field(
        default=timedelta(seconds=5), description="How long a POST to an URL may take."
    )

    @model_validator(mode="after")
    def _when(self) -> AuditCheckpoints:
        if self.every is None and self.interval is None:
            raise ValueError("say when to write a checkpoint: give every, interval, or both")
        return self


class Policy(_Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    settings: Settings = Field(default_factory=Settings)
    tools: dict[str, ToolSpec] = Field(default_factory=dict)
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    agents: dict[str, AgentSpec] = Field(default_factory=dict)
    limits: dict[str, list[LimitRule]] | None = Field(
        default=None,
        description="Rate limits, budgets, retry limits and approval-after-N per agent name "
        "(or '*' for all agents together).",
    )
    approvals: ApprovalsSection | None = Field(
        default=None,
        description="Which actions wait for a person, by risk tier (low/medium/high/critical) "
        "and per tool: mode none, review (within a deadline) or required (the call waits).",
    )
    approvers: dict[str, ApproverSpec] | None = Field(
        default=None,
        description="The people who may approve held actions, each limited to some tools "
        "and/or risk tiers; they approve with their own keys (keys create --approver).",
    )
    breakers: BreakersSection | None = Field(
        default=None, description="Circuit breakers on errors, and loop detection."
    )
    alerts: list[AlertRule] | None = Field(
        default=None,
        description="When to tell a person (error rate, spend, sensitive data, signals) and "
        "what happens then (notify, stop_agent, open_incident).",
    )
    notify: list[dict[str, Any]] | None = Field(
        default=None,
        description="Where alerts go: log, webhook, slack, email entries (see the README).",
    )
    detectors: DetectorsSection = Field(default_factory=DetectorsSection)
    audit_checkpoints: AuditCheckpoints | None = None

    @field_validator("tools", "roles", "agents", "approvers")
    @classmethod
    def _names(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for name in value or ():
            if not name or not all(ch.isalnum() or ch in "_-.:" for ch in name):
                raise ValueError(
                    f"{name!r} is not a valid name; use letters, digits, '_', '-', '.' or ':'"
                )
        return value
