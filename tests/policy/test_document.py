"""The policy's YAML is read within limits: bombs and broken files are PolicyErrors with a
position, never a hang, a RecursionError or a key silently dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentguard.errors import PolicyError
from agentguard.policy import document, load_policy, parse_policy


def _problem(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml")
    [problem] = info.value.problems
    return problem


def _laughs(levels: int) -> str:
    """The "billion laughs": each level is a list of nine aliases of the level before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [9, 10, 30])
def test_an_alias_bomb_is_refused_where_the_expansion_crosses_the_limit(levels: int) -> None:
    text = _laughs(levels)
    problem = _problem(text)
    # 9**6 nodes first exceed the limit at level 6: nothing past that line was expanded
    assert problem.startswith("p.yaml:6:"), problem
    assert "aliases expand the document to more than 100000 nodes" in problem


def test_an_alias_that_contains_itself_is_refused() -> None:
    problem = _problem("roles: &r {a: {allow: *r}}\n")
    assert problem.startswith("p.yaml:1:")
    assert "alias *r refers to a node that contains it" in problem


def test_anchors_for_shared_role_lists_and_merged_tools_still_work() -> None:
    loaded = parse_policy(
        "version: 1\n"
        "tools:\n"
        "  read_inbox: &reader {risk: low, description: Reads.}\n"
        "  read_thread: {<<: *reader, description: Reads a thread.}\n"
        "roles:\n"
        "  support: {allow: &readers [read_inbox, read_thread]}\n"
        "  triage: {allow: *readers}\n"
        "agents:\n"
        "  a: {roles: [triage]}\n"
    )
    assert loaded.model.tools["read_thread"].risk == "low"
    assert loaded.model.tools["read_thread"].description == "Reads a thread."
    assert loaded.may_use("a", "read_inbox") and loaded.may_use("a", "read_thread")


def test_an_anchor_defined_twice_is_refused_naming_both_lines() -> None:
    problem = _problem("a: &x [t1]\nb: &x [t2]\nc: *x\n")
    assert problem.startswith("p.yaml:2:")
    assert "anchor &x is defined twice (first at line 1)" in problem


@pytest.mark.parametrize(
    "text",
    [
        "tools: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "tools: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n",
        "".join(" " * depth + f"k{depth}:\n" for depth in range(200)),
    ],
    ids=["flow lists", "flow mappings", "block mappings"],
)
def test_deep_nesting_is_a_policy_error_not_a_recursion_error(text: str) -> None:
    problem = _problem(text)
    assert problem.startswith("p.yaml:")
    assert f"nested deeper than {document.MAX_DEPTH} levels" in problem


def test_a_deep_but_reasonable_schema_loads() -> None:
    nested = "{type: string}"
    for _ in range(12):
        nested = f"{{type: object, properties: {{x: {nested}}}}}"
    loaded = parse_policy(f"version: 1\ntools:\n  t:\n    input: {{x: {nested}}}\n")
    assert loaded.arg_schema("t") is not None


def test_a_document_with_too_many_nodes_is_refused_at_the_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(document, "MAX_NODES", 20)
    problem = _problem("tools: [" + ", ".join(f"t{n}" for n in range(30)) + "]\n")
    assert problem.startswith("p.yaml:1:")
    assert "the document has more than 20 nodes" in problem


def test_a_policy_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("# " + "x" * document.MAX_POLICY_BYTES + "\nversion: 1\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.code == "policy.too_large"
    [problem] = info.value.problems
    assert problem.startswith(f"{path}: the policy file is larger than 1 MiB")
    with pytest.raises(PolicyError) as info:
        parse_policy(path.read_text(encoding="utf-8"))
    assert info.value.code == "policy.too_large"


def test_a_policy_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert "cannot read the policy file" in info.value.problems[0]


@pytest.mark.parametrize(
    ("text", "second", "first"),
    [
        ("version: 1\ntools: {}\nversion: 1\n", 3, 1),
        ("tools:\n  a: {risk: low}\n  b: {}\n  a: {risk: high}\n", 4, 2),
        ("roles:\n  r:\n    allow: [a]\n    deny: [b]\n    allow: [c]\n", 5, 3),
    ],
)
def test_a_duplicate_key_is_refused_naming_both_lines(text: str, second: int, first: int) -> None:
    problem = _problem(text)
    assert problem.startswith(f"p.yaml:{second}:")
    assert f"(first given at line {first})" in problem


YAML_PIECES = ["[", "]", "{", "}", "&a ", "*a", "&b ", "*b", "<<: ", "- ", ": ", ", ", "\n"]
YAML_PIECES += ["  ", "x", "version", "tools", "roles", "'", "!!str ", "? ", "#"]


@given(st.lists(st.sampled_from(YAML_PIECES), max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_text_loads_or_is_a_policy_error(pieces: list[str]) -> None:
    try:
        parse_policy("".join(pieces), source="p.yaml")
    except PolicyError as exc:
        assert exc.problems and all(p.startswith("p.yaml") for p in exc.problems)
