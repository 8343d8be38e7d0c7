"""Layers find their place through the registry, and every action's outcome reaches the
layers that observe: a new layer is one registration, with no edit to the guard."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from agentguard import Denied, Guard
from agentguard.errors import denied_error
from agentguard.layers.registry import LayerSpec, register, specs, unregister
from agentguard.pipeline import CONTINUE, Action, Observation, Verdict, deny
from agentguard.policy import parse_policy

POLICY = """
version: 1
tools:
  work: {input: {n: {type: integer}}, cost: 0.25}
  fail: {input: {n: {type: integer}}}
roles:
  worker: {allow: [work, fail]}
agents:
  bot: {roles: [worker]}
"""


class TooBig(Denied):
    """Raised when the sample layer refuses."""


class SampleLayer:
    """Refuses n > 10; remembers every observation."""

    name = "sample"

    def __init__(self, seen: list[Observation]) -> None:
        self.seen = seen

    def admit(self, action: Action) -> Verdict:
        if action.args.get("n", 0) > 10:
            return deny("sample", "sample.too_big", "n is above 10")
        return CONTINUE

    def observe(self, observation: Observation) -> None:
        self.seen.append(observation)


@pytest.fixture
def seen() -> Iterator[list[Observation]]:
    observed: list[Observation] = []
    register(LayerSpec("sample", 450, lambda ctx: SampleLayer(observed), TooBig))
    yield observed
    unregister("sample")


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Guard]:
    with Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}") as g:

        @g.tool()
        def work(n: int) -> int:
            return n

        @g.tool()
        def fail(n: int) -> int:
            raise LookupError("nothing here")

        yield g


def test_a_registered_layer_runs_in_its_place_and_raises_its_own_error(
    seen: list[Observation], guard: Guard
) -> None:
    names = [layer.name for layer in guard.pipeline.layers]
    assert names.index("access") < names.index("sample") < names.index("content")
    with pytest.raises(TooBig) as caught:
        guard.agent("bot").call("work", n=11)
    assert caught.value.code == "sample.too_big"
    assert type(denied_error(caught.value.decision)) is TooBig


def test_every_outcome_is_observed_with_its_cost_and_error_type(
    seen: list[Observation], guard: Guard
) -> None:
    bot = guard.agent("bot")
    assert bot.call("work", n=3) == 3
    with pytest.raises(LookupError):
        bot.call("fail", n=1)
    with pytest.raises(TooBig):
        bot.call("work", n=99)
    with pytest.raises(Denied):
        bot.call("not_a_tool", n=1)  # denied before the sample layer: still observed
    got = [(o.action.tool, o.status, o.cost, o.error_type, o.ran) for o in seen]
    assert got == [
        ("work", "executed", Decimal("0.25"), None, True),
        ("fail", "failed", None, "LookupError", True),
        ("work", "denied", None, None, False),
        ("not_a_tool", "denied", None, None, False),
    ]
    assert all(o.duration_ms >= 0 for o in seen)


def test_a_layer_with_nothing_to_do_is_left_out(tmp_path: Path) -> None:
    register(LayerSpec("idle", 450, lambda ctx: None))
    try:
        with Guard(parse_policy(POLICY), f"sqlite:///{tmp_path / 'ag.db'}") as g:
            assert "idle" not in [layer.name for layer in g.pipeline.layers]
    finally:
        unregister("idle")


def test_an_observer_that_raises_is_logged_and_the_call_still_returns(
    guard: Guard, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        name = "broken"

        def admit(self, action: Action) -> Verdict:
            return CONTINUE

        def observe(self, observation: Observation) -> None:
            raise RuntimeError("secret-ish detail that must not be logged")

    register(LayerSpec("broken", 460, lambda ctx: Broken()))
    try:
        guard.pipeline = guard._build_pipeline()
        with caplog.at_level(logging.ERROR, logger="agentguard.pipeline"):
            assert guard.agent("bot").call("work", n=1) == 1
        assert "broken layer failed to observe an action (RuntimeError)" in caplog.text
        assert "secret-ish" not in caplog.text
    finally:
        unregister("broken")


def test_the_built_in_layers_are_found_in_order() -> None:
    names = [s.name for s in specs()]
    for earlier, later in [("identity", "killswitch"), ("killswitch", "input"), ("input", "access"),
                           ("access", "content"), ("content", "leaks"), ("leaks", "quality")]:  # fmt: skip
        assert names.index(earlier) < names.index(later)


def test_a_layer_spec_must_name_a_denied_subclass() -> None:
    with pytest.raises(TypeError):
        register(LayerSpec("bad", 1, lambda ctx: None, Exception))  # type: ignore[arg-type]
    unregister("bad")
