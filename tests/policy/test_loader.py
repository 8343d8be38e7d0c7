"""The policy file: what loads, and how mistakes are reported (file:line:column + a fix)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from agentguard.errors import PolicyError
from agentguard.policy import load_policy, parse_policy, policy_json_schema
from agentguard.policy.units import parse_duration, parse_money


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def _problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="policy.yaml")
    return info.value.problems


def test_starter_policy_loads_with_plans(starter_text: str) -> None:
    loaded = parse_policy(starter_text)
    plan = loaded.plan("financial_agent", "process_refund")
    assert plan is not None and plan.allows[0].when == "args.amount < 500"
    assert loaded.plan("email_agent", "process_refund") is None


def test_typo_in_key_is_refused_with_position_and_suggestion(starter_text: str) -> None:
    text = starter_text.replace("    roles: [support]\n", "    rols: [support]\n")
    [problem] = _problems(text)
    line = _line_of(text, "rols:")
    assert problem.startswith(f"policy.yaml:{line}:5: ")
    assert "unknown key 'rols'" in problem and "did you mean 'roles'" in problem


def test_cel_syntax_error_is_refused_with_position(starter_text: str) -> None:
    text = starter_text.replace("when: args.amount < 500", "when: args.amount < ")
    [problem] = _problems(text)
    assert problem.startswith(f"policy.yaml:{_line_of(text, 'when: args.amount')}:")
    assert "CEL syntax error" in problem


def test_role_naming_unknown_tool_is_refused_with_suggestion(starter_text: str) -> None:
    text = starter_text.replace(
        "allow: [read_inbox, draft_response", "allow: [read_inbox, draft_respons"
    )
    [problem] = _problems(text)
    assert problem.startswith(f"policy.yaml:{_line_of(text, 'draft_respons,')}:")
    assert "'draft_respons'" in problem and "did you mean 'draft_response'" in problem


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("args.amont < 500", "has no argument 'amont'"),
        ("args.amount < '500'", "types do not match"),
        ("args.amount + 1.0", "must be true or false"),
        ("cost.amount < 5", "unknown name 'cost'"),
        ("args.order_id.size() > 3 && args.amount + 1 > 10.0", "types do not match"),
    ],
)
def test_conditions_that_do_not_type_check_are_refused(
    starter_text: str, condition: str, expected: str
) -> None:
    text = starter_text.replace("when: args.amount < 500", f'when: "{condition}"')
    problems = _problems(text)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "condition",
    [
        "args.amount < 500",
        "args.amount <= 499.99 && args.order_id.startsWith('o-')",
        "agent.id == 'financial_agent' && now.getHours() >= 0",
        "subject == null || subject.startsWith('cust_')",
        "has(args.card_number) && size(args.card_number) < 40",
    ],
)
def test_valid_conditions_load(starter_text: str, condition: str) -> None:
    text = starter_text.replace("when: args.amount < 500", f'when: "{condition}"')
    assert parse_policy(text).plan("financial_agent", "process_refund") is not None


def test_agent_with_unknown_role_is_refused(starter_text: str) -> None:
    text = starter_text.replace("roles: [finance]", "roles: [fnance]")
    [problem] = _problems(text)
    assert f":{_line_of(text, 'roles: [fnance]')}:" in problem
    assert "did you mean 'finance'" in problem


def test_all_problems_are_reported_at_once(starter_text: str) -> None:
    text = starter_text.replace("roles: [finance]", "roles: [fnance]").replace(
        "allow: [read_inbox, draft_response", "allow: [read_inbox, draft_respons"
    )
    assert len(_problems(text)) == 2


def test_approvals_name_defined_tools_and_approvers(starter_text: str) -> None:
    text = starter_text + (
        "\napprovals:\n  medium: {mode: review, within: 2h, escalate_to: [carol]}\n"
        "  tools:\n    proces_refund: {mode: required, timeout: 10m}\n"
    )
    problems = _problems(text)
    assert len(problems) == 2, problems
    assert any("'proces_refund'" in p and "did you mean 'process_refund'" in p for p in problems)
    assert any("escalate_to names 'carol'" in p for p in problems)


def test_bad_values_name_the_field(starter_text: str) -> None:
    text = starter_text.replace(
        "risk: critical\n    input:\n      sku", "risk: severe\n    input:\n      sku"
    )
    [problem] = _problems(text)
    assert "tools.modify_pricing.risk" in problem and "'critical'" in problem


def test_invalid_yaml_and_duplicate_keys_are_refused_with_position() -> None:
    [problem] = _problems("version: 1\ntools:\n  a: [\n")
    assert problem.startswith("policy.yaml:") and "YAML error" in problem
    [problem] = _problems("version: 1\nversion: 1\n")
    assert problem.startswith("policy.yaml:2:") and "duplicate key" in problem


def test_invalid_json_schema_for_tool_is_refused() -> None:
    [problem] = _problems("tools:\n  t:\n    input_schema: {type: objectt}\n")
    assert problem.startswith("policy.yaml:3:") and "invalid JSON Schema" in problem


def test_sensitive_field_must_be_an_argument() -> None:
    [problem] = _problems(
        "tools:\n  t:\n    input: {card: {type: string}}\n    sensitive: [crad]\n"
    )
    assert "has no argument 'crad'" in problem and "did you mean 'card'" in problem


def test_undo_must_name_a_tool() -> None:
    [problem] = _problems("tools:\n  refund:\n    undo: reverse\n")
    assert "undo names 'reverse'" in problem


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "nope.yaml")
    assert "agentguard init" in str(info.value)


def test_glob_rules_expand_to_defined_tools() -> None:
    loaded = parse_policy(
        "tools: {read_a: {}, read_b: {}, write: {}}\n"
        "roles: {r: {allow: ['read_*']}}\nagents: {a: {roles: [r]}}\n"
    )
    assert loaded.plan("a", "read_a") and loaded.plan("a", "read_b")
    assert loaded.plan("a", "write") is None


def test_durations_and_money_parse_exactly() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1d") == timedelta(days=1)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("2 hours")
    assert parse_money(0.1) == Decimal("0.1")
    assert parse_money("$10.00") == Decimal("10.00")
    with pytest.raises(ValueError):
        parse_money(-1)


@pytest.mark.parametrize(
    "text", ["99999999999d", "1e400w", "101y", "9" * 400 + "s", "0.0001ms", "0.0000001s"]
)
def test_a_duration_too_long_too_short_or_malformed_is_a_policy_error_not_a_traceback(
    text: str,
) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            "version: 1\ntools: {t: {}}\nroles: {r: {allow: [t]}}\nagents: {a: {roles: [r]}}\n"
            f"audit_checkpoints: {{interval: {text}, key: k, to: c.jsonl}}\n"
        )
    assert "interval" in str(caught.value)


def test_cost_is_decimal_never_float() -> None:
    loaded = parse_policy("tools:\n  t:\n    cost: 0.002\n")
    assert loaded.model.tools["t"].cost == Decimal("0.002")


def test_policy_json_schema_describes_the_sections() -> None:
    schema = policy_json_schema()
    json.dumps(schema)
    assert {"tools", "roles", "agents", "settings"} <= set(schema["properties"])


def test_the_json_schema_accepts_every_shipped_policy(starter_text: str) -> None:
    """`agentguard schema` is what editors check policies with: the starter policy and every
    example must pass it (a tool name alone in allow:, a string condition in alerts:)."""
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML

    from agentguard.policy import policy_json_schema

    validator = Draft202012Validator(policy_json_schema())
    examples = Path(__file__).resolve().parents[2] / "examples"
    texts = {"starter": starter_text}
    texts |= {p.parent.name: p.read_text() for p in sorted(examples.glob("*/policy.yaml"))}
    assert len(texts) > 3
    for name, text in texts.items():
        errors = [
            f"{list(e.absolute_path)}: {e.message}"
            for e in validator.iter_errors(YAML(typ="safe").load(text))
        ]
        assert errors == [], name
