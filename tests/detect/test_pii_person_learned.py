"""The learned PERSON tagger as wired into ``PIIDetector``: subtype, scores, gating."""

from __future__ import annotations

import pytest

from agentguard.detect.pii import PIIDetector
from agentguard.detect.pii.names import LEARNED_SCORES, learned_person
from agentguard.models.person import PersonModel


def persons(text: str, **kwargs: object) -> list[tuple[str, str | None, float]]:
    return [
        (text[f.start : f.end], f.subtype, f.score)
        for f in PIIDetector(**kwargs).detect(text)  # type: ignore[arg-type]
        if f.type == "PERSON"
    ]


def test_learned_name_is_a_person_finding_with_its_subtype() -> None:
    # neither name is in the rules' first-name list, and no cue stands before them
    (hit,) = persons("We invited Oluwaseun Adeyemi to the launch.")
    assert hit[:2] == ("Adeyemi", "learned")
    assert LEARNED_SCORES[0] <= hit[2] <= LEARNED_SCORES[1]


def test_learned_scores_survive_both_usual_cut_offs() -> None:
    text = "We invited Oluwaseun Adeyemi and Priya Raman to the launch."
    assert persons(text, min_score=0.3) == persons(text, min_score=0.5)
    assert persons(text, min_score=0.5)


def test_score_maps_the_threshold_to_half() -> None:
    model = PersonModel.load()
    text = "I met Jonathan Okafor yesterday."
    ((s, e, p),) = model.names(text)
    ((hit),) = learned_person(text)
    low, high = LEARNED_SCORES
    assert (hit.start, hit.end) == (s, e)
    assert hit.score == pytest.approx(
        low + (high - low) * (p - model.threshold) / (1 - model.threshold), abs=1e-4
    )


def test_a_rule_and_the_tagger_make_one_finding_of_the_rule() -> None:
    found = persons("Dear Jonathan Okafor, thanks for the report.")
    assert [(name, sub) for name, sub, _ in found] == [("Jonathan Okafor", None)]


def test_text_without_capitals_skips_the_tagger() -> None:
    assert persons("jonathan okafor sent the report to priya raman.") == []


def test_person_type_can_be_left_out() -> None:
    assert persons("I met Jonathan Okafor yesterday.", types=["EMAIL"]) == []


def test_learned_names_can_be_left_out_and_the_cue_rules_still_run() -> None:
    text = "I met Tobiah Okafor yesterday. Dear Ms. Wiśniewska, thanks."
    with_tagger = [text[f.start : f.end] for f in PIIDetector(types=["PERSON"]).detect(text)]
    rules_only = PIIDetector(types=["PERSON"], learned_names=False)
    without = [text[f.start : f.end] for f in rules_only.detect(text)]
    assert "Tobiah Okafor" in with_tagger
    assert "Tobiah Okafor" not in without
    assert "Wiśniewska" in without  # the "Dear Ms." cue, letters beyond Latin-1 included
    assert all(f.subtype != "learned" for f in rules_only.detect(text))
