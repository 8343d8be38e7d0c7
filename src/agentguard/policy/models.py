"""The policy file as pydantic models. These models are the reference for the file's shape:
``agentguard schema`` prints their JSON Schema.

Every model forbids unknown keys, so a typo is an error rather than a rule that silently
does nothing.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agentguard.policy.units import Money


class Risk(enum.StrEnum):
    """How much harm a wrong call of a tool can do; later layers route approvals by it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        default=None, description="CEL expression naming who receives the outbound content."
    )
    cost: Money | None = Field(default=None, description="Dollars per call, as a decimal.")
    undo: str | None = Field(default=None, description="The compensating tool that undoes this.")
    max_input_bytes: int | None = Field(
        default=None, gt=0, description="Largest JSON size of the arguments (overrides settings)."
    )

    @model_validator(mode="after")
    def _one_schema(self) -> ToolSpec:
        if self.input is not None and self.input_schema is not None:
            raise ValueError("give either 'input' (shorthand) or 'input_schema', not both")
        return self

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
DEFERRED_SECTIONS = ("limits", "approvals", "breakers", "alerts", "detectors")


class Policy(_Strict):
    """A whole policy file."""

    version: Literal[1] = 1
    settings: Settings = Field(default_factory=Settings)
    tools: dict[str, ToolSpec] = Field(default_factory=dict)
    roles: dict[str, RoleSpec] = Field(default_factory=dict)
    agents: dict[str, AgentSpec] = Field(default_factory=dict)
    limits: Any = Field(default=None, description="Not enforced by this release: refused.")
    approvals: Any = Field(default=None, description="Not enforced by this release: refused.")
    breakers: Any = Field(default=None, description="Not enforced by this release: refused.")
    alerts: Any = Field(default=None, description="Not enforced by this release: refused.")
    detectors: Any = Field(default=None, description="Not enforced by this release: refused.")

    @field_validator("tools", "roles", "agents")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not name or not all(ch.isalnum() or ch in "_-.:" for ch in name):
                raise ValueError(
                    f"{name!r} is not a valid name; use letters, digits, '_', '-', '.' or ':'"
                )
        return value
