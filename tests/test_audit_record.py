"""Every action leaves exactly one audit record, whatever the values in it, and the record
keeps no secret in clear: lone surrogates, huge integers, deep nesting, unprintable
exceptions, secret-named fields anywhere in a key name, tokens used as names, and secrets
that straddle the length cut."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agentguard import AgentGuardError, Guard
from agentguard.masking import is_secret_key
from agentguard.policy import parse_policy
from agentguard.recordable import recordable

POLICY = """
version: 1
tools:
  echo: {description: returns what it is told to}
  boom: {description: raises what it is told to}
  kw: {description: takes any keyword arguments}
  save: {description: stores a document}
roles:
  worker:
    allow: [echo, boom, kw, save]
agents:
  bot: {roles: [worker]}
"""

TOKEN = "ghp_" + "Zq8xT2mV9kR4wL7nB3cY6pH1sD5fG0jK8aE2"  # GitHub token shape, random part
SURROGATE = json.loads('"\\ud800 and more"')


class Nasty(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


ERRORS: dict[str, BaseException] = {"surrogate": ValueError(SURROGATE), "nasty": Nasty()}


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Guard]:
    with Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}") as g:

        @g.tool()
        def echo(**kwargs: Any) -> Any:
            return kwargs.get("value")

        @g.tool()
        def boom(error: str) -> Any:
            raise ERRORS[error]

        @g.tool()
        def save(data: dict[str, Any]) -> dict[str, Any]:
            return data

        @g.tool()
        def kw(name: str, **rest: Any) -> dict[str, Any]:
            return {"name": name, "rest": sorted(rest)}

        yield g


def records(guard: Guard) -> list[dict[str, Any]]:
    from agentguard.store.base import AuditQuery

    return [r.data for r in guard.store.search(AuditQuery())]


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": [value]}
    return value


def call_once(guard: Guard, tool: str, args: dict[str, Any], **extra: Any) -> BaseException | None:
    before = guard.store.count()
    try:
        guard.agent("bot").invoke(tool, args, **extra)
        caught: BaseException | None = None
    except BaseException as exc:  # the test inspects what was raised
        caught = exc
    assert guard.store.count() == before + 1, "exactly one record per call"
    assert guard.verify_audit().ok
    return caught


@pytest.mark.parametrize(
    "where",
    ["args", "result", "result_key", "exception", "metadata", "session", "subject", "tool"],
)
def test_a_lone_surrogate_anywhere_still_leaves_one_record(guard: Guard, where: str) -> None:
    args: dict[str, Any] = {"value": "ok"}
    extra: dict[str, Any] = {}
    tool = "echo"
    if where == "args":
        args = {"value": "plain", "text": SURROGATE}
    elif where == "result":
        args = {"value": ["x", SURROGATE]}
    elif where == "result_key":
        args = {"value": {SURROGATE: 1}}
    elif where == "exception":
        tool, args = "boom", {"error": "surrogate"}
    elif where == "tool":
        tool = "echo" + SURROGATE
    else:
        extra = {where: SURROGATE if where != "metadata" else {"note": SURROGATE}}
    caught = call_once(guard, tool, args, **extra)
    assert caught is None or isinstance(caught, AgentGuardError | ValueError)
    body = json.dumps(records(guard)[-1], ensure_ascii=False)
    if where in ("exception", "session", "subject", "metadata"):
        assert "\ufffd" in body


def test_a_huge_integer_in_the_arguments_or_result_is_recorded(guard: Guard) -> None:
    huge = 10**5000
    assert call_once(guard, "echo", {"value": huge}) is None
    record = records(guard)[-1]
    assert record["status"] == "executed"
    assert "integer of" in record["output"]
    assert call_once(guard, "echo", {"value": 2**100, "n": -(10**400)}) is None
    assert records(guard)[-1]["output"] == str(2**100)


def test_nesting_two_thousand_deep_is_denied_or_recorded_never_raised_raw(guard: Guard) -> None:
    caught = call_once(guard, "echo", {"value": deep(2000)})
    assert caught is None or isinstance(caught, AgentGuardError)
    assert "nested deeper" in json.dumps(records(guard)[-1]) or caught is not None


def test_a_deep_result_is_cut_in_the_record(guard: Guard) -> None:
    g = guard

    @g.tool("echo")
    def deep_echo(**kwargs: Any) -> Any:
        return deep(3000)

    assert call_once(g, "echo", {}) is None
    assert "nested deeper than 64 levels" in json.dumps(records(g)[-1]["output"])


def test_an_exception_whose_str_raises_is_recorded_and_reraised(guard: Guard) -> None:
    caught = call_once(guard, "boom", {"error": "nasty"})
    assert isinstance(caught, Nasty)
    record = records(guard)[-1]
    assert record["status"] == "failed"
    assert record["error"] == "Nasty: <Nasty: unprintable>"


def test_nan_and_infinity_are_recorded_as_text(guard: Guard) -> None:
    assert (
        call_once(guard, "echo", {"value": [float("nan"), float("-inf"), Decimal("NaN")]}) is None
    )
    assert records(guard)[-1]["output"] == ["NaN", "-Infinity", "NaN"]


def test_a_tool_with_kwargs_receives_the_extra_arguments(guard: Guard) -> None:
    assert guard.agent("bot").call("kw", name="n", colour="red", size=3) == {
        "name": "n",
        "rest": ["colour", "size"],
    }


@pytest.mark.parametrize(
    "name",
    [
        "aws_secret_access_key", "secret_key", "signing_key", "credentials", "pwd",
        "private_key_pem", "password ", "X-Api-Key", "awsSecretAccessKey", "clientSecret",
        "db_password_hash", "Authorization", "card_number", "refresh_token", "PIN",
        "smtpPasswd", "session_key",
    ],
)  # fmt: skip
def test_secret_named_fields_are_masked_wherever_the_word_is(guard: Guard, name: str) -> None:
    value = "tangerine lamp orbit"  # plain words: no detector flags them, only the name can
    assert call_once(guard, "save", {"data": {name: value, "nested": [{name: value}]}}) is None
    raw = json.dumps(records(guard)[-1])
    assert value not in raw
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "prompt_tokens", "author", "shipping", "keyword", "key", "pinned", "secretary"],
)
def test_names_that_only_look_like_secret_words_are_kept(name: str) -> None:
    assert not is_secret_key(name)


def test_a_token_used_as_a_tool_name_is_not_echoed(guard: Guard, tmp_path: Path) -> None:
    caught = call_once(guard, TOKEN, {})
    assert isinstance(caught, AgentGuardError)
    assert TOKEN not in str(caught)
    assert TOKEN[4:] not in str(caught)
    record = records(guard)[-1]
    assert TOKEN[4:] not in json.dumps(record)
    assert record["action"].startswith("[withheld tool name ")
    raw = (tmp_path / "ag.db").read_bytes()
    wal = tmp_path / "ag.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert TOKEN[4:].encode() not in raw


def test_a_misspelt_tool_name_is_shown_as_it_is(guard: Guard) -> None:
    caught = call_once(guard, "send_emial", {})
    assert "send_emial" in str(caught)
    assert records(guard)[-1]["action"] == "send_emial"


@pytest.mark.parametrize("offset", [-30, -12, -1, 0])
def test_a_token_straddling_the_length_cut_is_redacted_first(guard: Guard, offset: int) -> None:
    cut = 64 * 1024
    text = "x " * ((cut + offset) // 2) + " " * ((cut + offset) % 2) + TOKEN + " tail" * 10
    assert text.index(TOKEN) < cut < text.index(TOKEN) + len(TOKEN) or offset == 0
    assert call_once(guard, "echo", {"value": text}) is None
    output = records(guard)[-1]["output"]
    assert "cut:" in output
    for prefix in (TOKEN[:8], TOKEN[4:12]):
        assert prefix not in output


def test_redaction_that_shrinks_the_head_a_lot_still_sees_the_cut_whole(guard: Guard) -> None:
    # Many tokens shrink to short tags, which pulls text from far after the cut forward:
    # the token that the first pass saw cut in half must be redacted all the same.
    filler = (TOKEN + " ") * 4000  # ~164 KB that redaction shrinks to ~100 KB of tags
    text = filler + TOKEN.replace("Zq8", "Yq9") + " end"
    assert call_once(guard, "echo", {"value": text}) is None
    output = records(guard)[-1]["output"]
    assert "ghp_" not in output


def test_recordable_never_raises_on_hostile_objects() -> None:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError

    class BadMapping(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise RuntimeError

    loop: list[Any] = []
    loop.append(loop)
    assert recordable(BadRepr()) == "<BadRepr: unprintable>"
    assert recordable(BadMapping(a=1)).startswith("<value could not be recorded")
    assert "nested deeper" in json.dumps(recordable(loop))
    assert recordable({1: "a", None: "b", (1, 2): "c"}) == {"1": "a", "null": "b", "(1, 2)": "c"}


def test_the_record_survives_a_store_without_any_python_mediation(tmp_path: Path) -> None:
    # The surrogate case end to end: the SQLite file holds a valid UTF-8 body.
    with Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}") as g:

        @g.tool()
        def echo(**kwargs: Any) -> Any:
            return SURROGATE

        g.agent("bot", session=SURROGATE).call("echo", value=SURROGATE)
    db = sqlite3.connect(tmp_path / "ag.db")
    (body,) = db.execute("SELECT body FROM audit").fetchone()
    db.close()
    assert json.loads(body)["output"] == "\ufffd and more"
