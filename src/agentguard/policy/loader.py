"""Load a policy file: YAML → pydantic models → cross-checks → compiled access plans.

Every problem is reported as ``file:line:column: message`` (as ruff and mypy do) and all
problems are reported at once, so a user fixes a file in one pass.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap

from agentguard.detect.base import Detector
from agentguard.detect.plugins import DetectorLoadError, import_target
from agentguard.errors import PolicyError
from agentguard.policy.conditions import (
    VARIABLES,
    Condition,
    ConditionError,
    compile_condition,
    compile_expression,
)
from agentguard.policy.content import Plugin, QualityFunction, checked_target, load_content
from agentguard.policy.cross_checks import check_alerts, check_approvers
from agentguard.policy.document import load_document, read_policy_text
from agentguard.policy.limits import ALL_AGENTS
from agentguard.policy.models import DEFERRED_SECTIONS, Policy, Rule, ToolSpec
from agentguard.policy.positions import (
    _key_position,
    _plain,
    _position,
    _pydantic_problems,
    _suggest,
)
from agentguard.policy.positions import (
    expand as _expand,
)
from agentguard.policy.schemas import (
    RemoteReference,
    compile_validator,
    dangling_references,
    foreign_references,
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One allow or deny entry of one role, resolved to one tool."""

    role: str
    tool: str
    when: str | None
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class AccessPlan:
    """Everything access control needs for one (agent, tool) pair, precomputed at load."""

    denies: tuple[CompiledRule, ...] = ()
    allows: tuple[CompiledRule, ...] = ()


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with its conditions compiled. Build one with :func:`load_policy`."""

    model: Policy
    source: str
    plans: Mapping[tuple[str, str], AccessPlan] = field(repr=False)
    recipients: Mapping[str, Condition] = field(default_factory=dict, repr=False)
    #: tool → compiled ``recipient_owner:`` / ``owner:`` expressions
    recipient_owners: Mapping[str, Condition] = field(default_factory=dict, repr=False)
    owners: Mapping[str, Condition] = field(default_factory=dict, repr=False)
    #: detector name → detector, for every name the ``detectors:`` rules use
    detectors: Mapping[str, Detector] = field(default_factory=dict, repr=False)
    #: quality check name → its function (None when it is to be registered in Python)
    quality_functions: Mapping[str, QualityFunction | None] = field(
        default_factory=dict, repr=False
    )
    #: tool → its compiled ``undo.args`` expressions (argument → expression)
    undo_args: Mapping[str, Mapping[str, Condition]] = field(default_factory=dict, repr=False)
    #: tool → the compiled ``when:`` of the approval rule under ``approvals.tools`` it falls in
    approval_conditions: Mapping[str, Condition] = field(default_factory=dict, repr=False)
    #: tool → the function its ``call:`` names (imported when plugins are loaded)
    tool_functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict, repr=False)
    #: the policy's Python code left unimported (loaded with ``load_plugins=False``); a
    #: policy with any is for reporting only, since its detectors and checks cannot run
    unloaded: tuple[Plugin, ...] = ()

    def plan(self, agent: str, tool: str) -> AccessPlan | None:
        return self.plans.get((agent, tool))

    @functools.cached_property
    def version(self) -> str:
        """A short digest of what the policy says (not of its file's comments or layout):
        approvals are bound to it, and records name it."""
        text = self.model.model_dump_json()
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def may_use(self, agent: str, tool: str) -> bool:
        """Whether some role of ``agent`` allows ``tool`` at all (conditions aside)."""
        plan = self.plans.get((agent, tool))
        return plan is not None and bool(plan.allows)

    def arg_schema(self, tool: str) -> dict[str, Any] | None:
        spec = self.model.tools.get(tool)
        return spec.json_schema() if spec is not None else None

    def with_tool_schema(self, tool: str, schema: Mapping[str, Any]) -> LoadedPolicy:
        """Re-check the conditions on ``tool`` against a schema derived from Python type hints.

        Raises :class:`PolicyError` when a condition does not fit the function's arguments.
        """
        problems: list[str] = []
        plans = dict(self.plans)
        for key, plan in self.plans.items():
            if key[1] != tool:
                continue
            plans[key] = AccessPlan(
                denies=tuple(_recompile(r, schema, self.source, problems) for r in plan.denies),
                allows=tuple(_recompile(r, schema, self.source, problems) for r in plan.allows),
            )
        if problems:
            raise PolicyError(sorted(set(problems)))
        return replace(self, plans=plans)


def _recompile(
    rule: CompiledRule, schema: Mapping[str, Any], source: str, problems: list[str]
) -> CompiledRule:
    if rule.when is None:
        return rule
    try:
        condition = compile_condition(rule.when, schema)
    except ConditionError as exc:
        problems.append(
            f"{source}: role {rule.role!r}, tool {rule.tool!r}: {exc} "
            "(checked against the registered Python function's arguments)"
        )
        return rule
    return CompiledRule(rule.role, rule.tool, rule.when, condition)


def load_policy(path: str | os.PathLike[str], *, load_plugins: bool = True) -> LoadedPolicy:
    """Read and validate a policy file. Raises :class:`PolicyError` naming file:line:column.

    ``load_plugins=False`` checks the policy without running any of its Python code: the
    custom detectors and quality check functions it names are not imported but listed in
    :attr:`LoadedPolicy.unloaded`. Such a policy is for reporting (``agentguard check``),
    not for guarding calls::

        loaded = load_policy("policy.yaml", load_plugins=False)
        for plugin in loaded.unloaded:
            print(plugin.kind, plugin.name, plugin.target)
    """
    source = str(path)
    return parse_policy(read_policy_text(path), source=source, load_plugins=load_plugins)


def parse_policy(text: str, *, source: str = "<policy>", load_plugins: bool = True) -> LoadedPolicy:
    """Validate policy YAML given as text (``source`` names it in error messages).

    ``load_plugins`` is as for :func:`load_policy`.
    """
    document = load_document(text, source)

    problems: list[str] = []
    for section in DEFERRED_SECTIONS:
        if section in document:
            line, col = _key_position(document, section)
            problems.append(
                f"{source}:{line}:{col}: the '{section}' section is not enforced by this "
                f"version of agentguard; remove it rather than have it silently ignored"
            )
    if problems:
        raise PolicyError(problems, code="policy.unsupported_section")

    try:
        model = Policy.model_validate(_plain(document))
    except ValidationError as exc:
        raise PolicyError(_pydantic_problems(exc, document, source)) from None

    return _compile(model, document, source, load_plugins)


def _compile(
    model: Policy, document: CommentedMap, source: str, load_plugins: bool
) -> LoadedPolicy:
    problems: list[str] = []

    def report(loc: Iterable[str | int], message: str) -> None:
        line, col = _position(document, list(loc))
        problems.append(f"{source}:{line}:{col}: {message}")

    tool_names = sorted(model.tools)
    schemas: dict[str, dict[str, Any] | None] = {}
    for name, tool in model.tools.items():
        schema = tool.json_schema()
        schemas[name] = schema
        if schema is not None:
            where = ["tools", name, "input_schema" if tool.input_schema is not None else "input"]
            try:
                Draft202012Validator.check_schema(schema)
            except SchemaError as exc:
                report(where, f"invalid JSON Schema for tool {name!r}: {exc.message}")
            else:
                _check_references(name, tool, schema, report)
            props = schema.get("properties") if isinstance(schema, dict) else None
            if isinstance(props, dict):
                for listing in ("sensitive", "outbound"):
                    for index, arg in enumerate(getattr(tool, listing)):
                        if arg.split(".")[0] not in props:
                            report(
                                ["tools", name, listing, index],
                                f"tool {name!r} has no argument {arg.split('.')[0]!r}"
                                + _suggest(arg.split(".")[0], props),
                            )
        undo = tool.undo_spec
        if undo is not None and undo.tool not in model.tools:
            where = ["tools", name, "undo"] + ([] if isinstance(tool.undo, str) else ["tool"])
            report(
                where,
                f"undo names {undo.tool!r}, which is not a tool defined under 'tools:'"
                + _suggest(undo.tool, tool_names),
            )
        for part in ("tool", "restore"):
            other = getattr(tool.snapshot, part) if tool.snapshot is not None else None
            if other is not None and other not in model.tools:
                report(
                    ["tools", name, "snapshot", part],
                    f"snapshot {part} names {other!r}, which is not a tool defined under "
                    "'tools:'" + _suggest(other, tool_names),
                )

    expressions: dict[str, dict[str, Condition]] = {
        "recipient": {},
        "recipient_owner": {},
        "owner": {},
    }
    for name, tool in model.tools.items():
        for key, found in expressions.items():
            text = getattr(tool, key)
            if text is None:
                continue
            names = VARIABLES | {"result"} if key == "owner" else VARIABLES
            try:
                found[name] = compile_expression(text, frozenset(names))
            except ConditionError as exc:
                report(["tools", name, key], str(exc))
        if tool.recipient_owner is not None and tool.recipient is None:
            report(
                ["tools", name, "recipient_owner"],
                f"tool {name!r} has recipient_owner but no recipient; add recipient: (args.to)",
            )

    undo_args: dict[str, dict[str, Condition]] = {}
    for name, tool in model.tools.items():
        undo = tool.undo_spec
        for argument, text in ((undo.args or {}) if undo is not None else {}).items():
            try:
                compiled = compile_expression(text, frozenset(VARIABLES | {"result"}))
            except ConditionError as exc:
                report(["tools", name, "undo", "args", argument], str(exc))
                continue
            undo_args.setdefault(name, {})[argument] = compiled

    detectors, quality_functions, unloaded = load_content(
        model, tool_names, report, load_plugins=load_plugins
    )
    approval_conditions: dict[str, Condition] = {}
    if model.approvals is not None:
        for name, tool in model.tools.items():
            approval, place = model.approvals.for_tool(name, str(tool.risk), tool.irreversible)
            if approval is None or approval.when is None:
                continue
            try:
                approval_conditions[name] = compile_condition(approval.when, schemas.get(name))
            except ConditionError as exc:
                report(["approvals", *place.split(".", 1), "when"], f"tool {name!r}: {exc}")
    tool_functions: dict[str, Callable[..., Any]] = {}
    unloaded_tools: list[Plugin] = []
    for name, tool in model.tools.items():
        if tool.http is not None:
            from agentguard.http_tool import HttpTool

            tool_functions[name] = HttpTool(name, tool.http)
            continue
        if tool.call is None:
            continue
        try:
            if load_plugins:
                tool_functions[name] = _tool_function(tool.call)
            else:
                unloaded_tools.append(Plugin("tool", name, checked_target(tool.call)))
        except DetectorLoadError as exc:
            report(["tools", name, "call"], f"tool {name!r}: {exc}")
    unloaded = (*unloaded, *unloaded_tools)

    # Expand every rule to concrete tools and compile its condition once per tool schema.
    rules: dict[str, tuple[list[CompiledRule], list[CompiledRule]]] = {}
    for role_name, role in model.roles.items():
        denies: list[CompiledRule] = []
        allows: list[CompiledRule] = []
        for listing, into in (("deny", denies), ("allow", allows)):
            entries: list[Rule] = getattr(role, listing)
            for index, rule in enumerate(entries):
                loc: list[str | int] = ["roles", role_name, listing, index]
                targets = _expand(rule.tool, tool_names)
                if not targets:
                    report(
                        loc,
                        f"role {role_name!r} names tool {rule.tool!r}, which is not defined "
                        "under 'tools:'" + _suggest(rule.tool, tool_names),
                    )
                    continue
                for target in targets:
                    condition = None
                    if rule.when is not None:
                        try:
                            condition = compile_condition(rule.when, schemas.get(target))
                        except ConditionError as exc:
                            report([*loc, "when"], f"{exc} (tool {target!r})")
                            continue
                    into.append(CompiledRule(role_name, target, rule.when, condition))
        rules[role_name] = (denies, allows)

    plans: dict[tuple[str, str], AccessPlan] = {}
    for agent_name, agent in model.agents.items():
        for index, role_name in enumerate(agent.roles):
            if role_name not in model.roles:
                report(
                    ["agents", agent_name, "roles", index],
                    f"agent {agent_name!r} has role {role_name!r}, which is not defined "
                    "under 'roles:'" + _suggest(role_name, model.roles),
                )
        for tool_name in tool_names:
            held = [rules.get(role, ([], [])) for role in agent.roles]
            tool_denies = tuple(r for d, _ in held for r in d if r.tool == tool_name)
            tool_allows = tuple(r for _, a in held for r in a if r.tool == tool_name)
            if tool_denies or tool_allows:
                plans[(agent_name, tool_name)] = AccessPlan(tool_denies, tool_allows)

    for scope, limit_rules in (model.limits or {}).items():
        if scope != ALL_AGENTS and scope not in model.agents:
            report(
                ["limits", scope],
                f"limits are given for agent {scope!r}, which is not defined under 'agents:' "
                "(use '*' for all agents together)" + _suggest(scope, model.agents),
            )
        for index, limit in enumerate(limit_rules):
            if limit.tool is not None and not _expand(limit.tool, tool_names):
                report(
                    ["limits", scope, index, "tool"],
                    f"a limit names tool {limit.tool!r}, which is not defined under 'tools:'"
                    + _suggest(limit.tool, tool_names),
                )

    check_alerts(model, report)
    check_approvers(model, report)

    if problems:
        raise PolicyError(problems)
    return LoadedPolicy(
        model,
        source,
        plans,
        expressions["recipient"],
        expressions["recipient_owner"],
        expressions["owner"],
        detectors,
        quality_functions,
        undo_args=undo_args,
        approval_conditions=approval_conditions,
        tool_functions=tool_functions,
        unloaded=unloaded,
    )


def _check_references(
    name: str,
    tool: ToolSpec,
    schema: dict[str, Any],
    report: Callable[[Iterable[str | int], str], None],
) -> None:
    """Refuse references out of the tool's schema, then compile it with fetching refused."""

    def at(path: tuple[str | int, ...]) -> list[str | int]:
        if tool.input_schema is not None:
            return ["tools", name, "input_schema", *path]
        return ["tools", name, "input", *path[1:]]  # the shorthand is the schema's properties

    problems = 0
    for path, ref in foreign_references(schema):
        problems += 1
        report(
            at(path),
            f"tool {name!r}: {path[-1]} {ref!r} is not allowed; a schema may refer only to "
            "its own parts (#/...), and nothing is fetched from a URL or a file",
        )
    for path, ref in dangling_references(schema):
        problems += 1
        report(at(path), f"tool {name!r}: {path[-1]} {ref!r} points to nothing in the schema")
    if problems:
        return
    where = ["tools", name, "input_schema" if tool.input_schema is not None else "input"]
    try:
        compile_validator(schema)
    except RemoteReference as exc:
        report(
            where,
            f"tool {name!r}: the schema refers to {exc.uri!r}, outside itself; a schema may "
            "refer only to its own parts (#/...), and nothing is fetched",
        )
    except Exception as exc:  # fastjsonschema's definition errors, bad regular expressions
        report(where, f"tool {name!r}: the JSON Schema cannot be compiled ({exc})")


def _tool_function(target: str) -> Callable[..., Any]:
    """The function a tool's ``call:`` names; DetectorLoadError when it cannot be
    imported or is not callable."""
    found = import_target(checked_target(target))
    if not callable(found):
        raise DetectorLoadError(f"{target!r} is not a function")
    function: Callable[..., Any] = found
    return function
