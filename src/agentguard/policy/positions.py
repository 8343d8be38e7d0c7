"""Where a problem of a policy file is: ruamel's nodes turned into plain values for
pydantic, ``file:line:column`` of any path in the document, and pydantic's errors as
one line each (with the allowed keys when a key is unknown)."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from agentguard.policy.alerts import AlertRule
from agentguard.policy.approvals import ApprovalRule, ApprovalsSection, ApproverSpec
from agentguard.policy.breakers import BreakersSection, LoopBreaker
from agentguard.policy.limits import LimitRule

Position = tuple[int, int]


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes → plain dict/list/scalars for pydantic."""
    if isinstance(node, Mapping):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _key_position(node: CommentedMap, key: Any) -> Position:
    try:
        line, col = node.lc.key(key)
        return int(line) + 1, int(col) + 1
    except Exception:
        return _node_position(node)


def _node_position(node: Any) -> Position:
    lc = getattr(node, "lc", None)
    if lc is not None and lc.line is not None:
        return int(lc.line) + 1, int(lc.col) + 1
    return 1, 1


def _position(document: Any, loc: list[str | int]) -> Position:
    """Line and column (1-based) of the deepest node of ``loc`` found in the YAML tree."""
    node: Any = document
    best = _node_position(document)
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            best = _key_position(node, part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            try:
                line, col = node.lc.item(part)
                best = (int(line) + 1, int(col) + 1)
            except Exception:
                best = _node_position(node)
            node = node[part]
        # parts that are not in the tree (pydantic's union tags) are skipped
    return best


def _pydantic_problems(exc: ValidationError, document: CommentedMap, source: str) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for error in exc.errors(include_input=False, include_url=False):
        loc = [p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper())]
        line, col = _position(document, loc)
        where = ".".join(str(p) for p in loc) or "(top level)"
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1]) if loc else "?"
            parent = ".".join(str(p) for p in loc[:-1]) or "the top level"
            allowed = _allowed_keys(loc[:-1])
            hint = _suggest(key, allowed) if allowed else ""
            listing = f" (allowed: {', '.join(allowed)})" if allowed and not hint else ""
            message = f"unknown key {key!r} in {parent}{hint}{listing}"
        elif kind == "missing":
            message = f"{where}: required key is missing"
        else:
            text = error["msg"].removeprefix("Value error, ")
            message = f"{where}: {text}"
        line_text = f"{source}:{line}:{col}: {message}"
        if line_text not in seen:
            seen.add(line_text)
            problems.append(line_text)
    return problems


def _allowed_keys(parent: list[str | int]) -> list[str]:
    """Field names of the model found at ``parent`` in the policy tree."""
    from agentguard.policy import detectors, models

    model: Any = models.Policy
    path = list(parent)
    while path:
        part = path.pop(0)
        field_info = model.model_fields.get(part) if isinstance(part, str) else None
        if field_info is None:
            return []
        target = {
            "settings": models.Settings,
            "tools": models.ToolSpec,
            "roles": models.RoleSpec,
            "agents": models.AgentSpec,
            "allow": models.Rule,
            "deny": models.Rule,
            "detectors": detectors.DetectorsSection,
            "rules": detectors.DetectorRule,
            "tone": detectors.ToneSettings,
            "pii": detectors.PIISettings,
            "injection": detectors.InjectionSettings,
            "quality_checks": detectors.QualityCheck,
            "leaks": detectors.LeakGuard,
            "limits": LimitRule,
            "breakers": BreakersSection,
            "loops": LoopBreaker,
            "audit_checkpoints": models.AuditCheckpoints,
            "alerts": AlertRule,
            "approvers": ApproverSpec,
            "approvals": ApprovalsSection,
            "low": ApprovalRule,
            "medium": ApprovalRule,
            "high": ApprovalRule,
            "critical": ApprovalRule,
        }.get(str(part))
        if target is None:
            return []
        if part == "limits":
            del path[:2]  # the agent's name and the rule's index
        if (
            part
            in (
                "tools",
                "roles",
                "agents",
                "allow",
                "deny",
                "rules",
                "quality_checks",
                "alerts",
                "approvers",
            )
            and path
        ):
            path.pop(0)  # the name of the tool/role/agent, or the list index
        model = target
    return sorted(model.model_fields)


def expand(pattern: str, tools: list[str]) -> list[str]:
    """The defined ``tools`` a name or glob names (empty: none)."""
    if any(ch in pattern for ch in "*?["):
        return [t for t in tools if fnmatch.fnmatchcase(t, pattern)]
    return [pattern] if pattern in tools else []
