"""The invariants of every call, over arbitrary JSON-like values in every position.

For any value — lone surrogates, huge and non-finite numbers, deep nesting, odd key names —
placed in the arguments, the tool's result, the tool's exception, the metadata, the
session, the subject, the tool name or the agent name, with a real secret somewhere in it:

* the call leaves exactly one audit record, and the chain verifies;
* the caller gets the tool's result, the tool's own exception, or an agentguard error,
  never another exception raised by agentguard itself;
* the secret is nowhere in clear: not in the audit file, not in the message of what was
  raised, not in a log record.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import leakgen

from agentguard import AgentGuardError, Guard
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  echo: {description: returns its value}
  boom: {description: raises an error carrying its value}
roles:
  worker:
    allow: [echo, boom]
agents:
  bot: {roles: [worker]}
"""

POSITIONS = ["args", "result", "exception", "metadata", "session", "subject", "tool", "agent"]


@dataclass(frozen=True)
class Huge:
    """Stands for ``10**exponent`` until the test builds the value."""

    exponent: int


ODD_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\u202e", "\x00", "\ufeff", "", " "]),
)
ODD_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    # huge integers are drawn as a placeholder: Python cannot even repr them, and
    # hypothesis prints what it drew
    st.integers(4300, 6000).map(Huge),
    st.sampled_from([2**64, 2**63 - 1, -(2**200)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("NaN"), Decimal("-Infinity"), Decimal("1e999999")]),
    ODD_TEXT,
)
ODD_KEYS = st.one_of(
    ODD_TEXT, st.sampled_from(["password ", "a.b", "$ref", "__proto__", "x" * 300])
)
ODD_VALUES = st.recursive(
    ODD_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ODD_KEYS, inner, max_size=4)
    ),
    max_leaves=12,
)


def built(value: Any) -> Any:
    """``value`` with every :class:`Huge` replaced by its integer."""
    if isinstance(value, Huge):
        return 10**value.exponent
    if isinstance(value, dict):
        return {k: built(v) for k, v in value.items()}
    if isinstance(value, list):
        return [built(v) for v in value]
    return value


def nested(levels: int, value: Any) -> Any:
    for _ in range(levels):
        value = [value] if levels % 2 else {"k": value}
    return value


@st.composite
def placed(draw: st.DrawFn) -> tuple[str, Any, int, tuple[str, ...]]:
    """(position, a value holding the secret, how deep to nest it, the secret's needles)."""
    secret = draw(leakgen.sensitive(["github", "aws", "stripe", "card", "email", "ssn"]))
    odd = draw(ODD_VALUES)
    depth = draw(st.sampled_from([0, 1, 5, 40, 2000]))
    how = draw(st.sampled_from(["beside", "inside", "key"]))
    if how == "key":
        value: Any = {secret.text: odd}
    elif how == "inside":
        value = [odd, f"note: {secret.text} end"]
    else:
        value = {"odd": odd, "text": f"here is {secret.text}"}
    return draw(st.sampled_from(POSITIONS)), value, depth, secret.needles


class Raised(Exception):
    """What the tool raises in the ``exception`` position: its message carries the value."""


@contextmanager
def captured_logs() -> Iterator[list[str]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def as_text(spec: Any) -> str:
    """The drawn value written as text, for the positions that take text (huge integers
    stay placeholders: the text is about odd characters, not sizes)."""
    if isinstance(spec, str):
        return spec
    return json.dumps(spec, default=repr, ensure_ascii=False)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(placed())
def test_every_call_leaves_one_record_raises_nothing_raw_and_leaks_nothing(
    case: tuple[str, Any, int, tuple[str, ...]],
) -> None:
    where, spec, depth, needles = case
    value = nested(depth, built(spec))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ag.db"
        guard = Guard(parse_policy(POLICY), f"sqlite:///{path}")

        @guard.tool()
        def echo(**kwargs: Any) -> Any:
            return value if where == "result" else "done"

        @guard.tool()
        def boom(**kwargs: Any) -> Any:
            raise Raised(as_text(spec))

        tool = {"exception": "boom", "tool": as_text(spec)[:300]}.get(where, "echo")
        agent = as_text(spec)[:300] if where == "agent" else "bot"
        label = as_text(spec) if where in ("session", "subject") else None
        args = {"value": value} if where == "args" else {}
        metadata = {"value": value} if where == "metadata" else None
        raised: BaseException | None = None
        with captured_logs() as logs:
            try:
                guard.agent(agent).invoke(
                    tool,
                    args,
                    metadata=metadata,
                    session=label if where == "session" else None,
                    subject=label if where == "subject" else None,
                )
            except BaseException as exc:  # the invariant is about what may come out
                raised = exc
        try:
            assert raised is None or isinstance(raised, AgentGuardError | Raised), repr(raised)
            if where == "exception":
                assert isinstance(raised, Raised)
            assert guard.store.count() == 1, "exactly one audit record"
            assert guard.verify_audit().ok
        finally:
            guard.close()
        written = b"".join(p.read_bytes() for p in Path(folder).glob("ag.db*"))
        said = "" if raised is None or isinstance(raised, Raised) else str(raised)
        for needle in needles:
            assert needle.encode() not in written, f"{needle!r} in the audit file"
            assert needle not in said, f"{needle!r} in the error message"
            assert not any(needle in line for line in logs), f"{needle!r} in a log record"
