"""The policy file: models, loading with file:line:column errors, and CEL conditions."""

from agentguard.policy.conditions import Condition, ConditionError, compile_condition
from agentguard.policy.content import Plugin
from agentguard.policy.loader import (
    AccessPlan,
    CompiledRule,
    LoadedPolicy,
    load_policy,
    parse_policy,
)
from agentguard.policy.models import AgentSpec, Policy, Risk, RoleSpec, Rule, Settings, ToolSpec


def policy_json_schema() -> dict[str, object]:
    """The JSON Schema of the policy file, for editors (``agentguard schema``)."""
    schema = Policy.model_json_schema(mode="validation")
    # An allow/deny entry may also be written as the tool's name alone (`allow: [read]`).
    defs = schema.get("$defs")
    role = defs.get("RoleSpec") if isinstance(defs, dict) else None
    for listing in ("allow", "deny"):
        items = role["properties"][listing]["items"] if isinstance(role, dict) else None
        if isinstance(items, dict) and items.get("$ref") == "#/$defs/Rule":
            role["properties"][listing]["items"] = {  # type: ignore[index]
                "anyOf": [{"type": "string", "description": "A tool name or glob."}, items]
            }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "agentguard policy"
    return schema


__all__ = [
    "AccessPlan",
    "AgentSpec",
    "CompiledRule",
    "Condition",
    "ConditionError",
    "LoadedPolicy",
    "Plugin",
    "Policy",
    "Risk",
    "RoleSpec",
    "Rule",
    "Settings",
    "ToolSpec",
    "compile_condition",
    "load_policy",
    "parse_policy",
    "policy_json_schema",
]
