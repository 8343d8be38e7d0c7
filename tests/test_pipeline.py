"""The pipeline alone: first deny wins, default deny, fail closed, reasons and timings."""

from __future__ import annotations

from agentguard.errors import StoreUnavailable
from agentguard.pipeline import CONTINUE, Action, Outcome, Pipeline, Reason, Step, Verdict, deny


class Named:
    def __init__(self, name: str, verdict: Verdict | Exception) -> None:
        self.name = name
        self.verdict = verdict
        self.seen: list[Action] = []

    def admit(self, action: Action) -> Verdict:
        self.seen.append(action)
        if isinstance(self.verdict, Exception):
            raise self.verdict
        return self.verdict


GRANT = Verdict(Step.GRANT, (Reason("g", "g.ok", "granted"),))
ACTION = Action(agent="a", tool="t", args={"x": 1})


def test_no_grant_means_deny() -> None:
    decision = Pipeline([Named("one", CONTINUE), Named("two", CONTINUE)]).evaluate(ACTION)
    assert decision.outcome is Outcome.DENY
    assert decision.codes == ["pipeline.no_grant"]


def test_grant_allows_and_keeps_reasons_of_every_layer() -> None:
    note = Verdict(Step.CONTINUE, (Reason("n", "n.note", "noted"),))
    decision = Pipeline([Named("n", note), Named("g", GRANT)]).evaluate(ACTION)
    assert decision.allowed
    assert decision.codes == ["n.note", "g.ok"]
    assert [name for name, _ in decision.timings_ns] == ["n", "g"]


def test_first_deny_wins_and_later_layers_do_not_run() -> None:
    later = Named("later", GRANT)
    decision = Pipeline([Named("d", deny("d", "d.no", "no")), later]).evaluate(ACTION)
    assert not decision.allowed and decision.deciding_reason == Reason("d", "d.no", "no")
    assert later.seen == []


def test_deny_after_grant_still_denies() -> None:
    decision = Pipeline([Named("g", GRANT), Named("d", deny("d", "d.no", "no"))]).evaluate(ACTION)
    assert decision.outcome is Outcome.DENY


def test_layer_that_raises_denies_without_leaking_the_message() -> None:
    boom = Named("boom", RuntimeError("secret-value-123"))
    decision = Pipeline([boom, Named("g", GRANT)]).evaluate(ACTION)
    assert decision.outcome is Outcome.DENY
    assert decision.codes == ["pipeline.internal_error"]
    assert "secret-value-123" not in decision.deciding_reason.message  # type: ignore[union-attr]
    assert "RuntimeError" in decision.deciding_reason.message  # type: ignore[union-attr]


def test_store_down_in_a_layer_denies() -> None:
    decision = Pipeline([Named("s", StoreUnavailable("down")), Named("g", GRANT)]).evaluate(ACTION)
    assert not decision.allowed


def test_replaced_action_reaches_later_layers() -> None:
    changed = ACTION.with_changes(args={"x": 2})
    later = Named("later", GRANT)
    decision = Pipeline([Named("c", Verdict(Step.CONTINUE, (), changed)), later]).evaluate(ACTION)
    assert later.seen == [changed] and decision.action.args == {"x": 2}


def test_credential_is_not_in_repr() -> None:
    action = Action(agent="a", tool="t", args={}, credential="ag_secret")
    assert "ag_secret" not in repr(action)


# ------------------------------------------------------------- paths per (agent, tool)


class Scoped(Named):
    """A layer with something to do only for some (agent, tool) pairs."""

    def __init__(self, name: str, verdict: Verdict, pairs: set[tuple[str, str]] | Exception):
        super().__init__(name, verdict)
        self.pairs = pairs
        self.asked: list[tuple[str, str]] = []

    def applies(self, agent: str, tool: str) -> bool:
        self.asked.append((agent, tool))
        if isinstance(self.pairs, Exception):
            raise self.pairs
        return (agent, tool) in self.pairs


def test_a_layer_is_left_out_of_paths_it_has_nothing_to_do_on() -> None:
    gate = Scoped("gate", deny("gate", "gate.no", "no"), {("a", "t")})
    pipeline = Pipeline([gate, Named("g", GRANT)])
    assert pipeline.evaluate(ACTION).codes == ["gate.no"]
    other = Action(agent="a", tool="u", args={})
    assert pipeline.evaluate(other).allowed  # the gate has nothing to do for tool u
    assert pipeline.evaluate(other).allowed
    assert gate.seen == [ACTION]
    assert gate.asked == [("a", "t"), ("a", "u")]  # asked once per pair


def test_a_layer_whose_applies_fails_stays_on_the_path() -> None:
    gate = Scoped("gate", deny("gate", "gate.no", "no"), RuntimeError("boom"))
    assert Pipeline([gate, Named("g", GRANT)]).evaluate(ACTION).codes == ["gate.no"]


def test_the_path_follows_the_agent_a_key_resolves_to() -> None:
    resolved = Action(agent="a", tool="t", args={"x": 1})

    class Identity:
        name = "identity"

        def admit(self, action: Action) -> Verdict:
            return Verdict(Step.CONTINUE, action=resolved)

    gate = Scoped("gate", deny("gate", "gate.no", "no"), {("a", "t")})
    by_key = Action(agent="", tool="t", args={"x": 1})  # the agent is known after identity
    decision = Pipeline([Identity(), gate, Named("g", GRANT)]).evaluate(by_key)
    assert decision.codes == ["gate.no"]
    assert gate.seen == [resolved]
