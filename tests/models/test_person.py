"""The shipped PERSON tagger: it loads from the package, is deterministic, finds names that
no list holds, stays quiet on lower-case prose and code, and stays linear on odd input."""

from __future__ import annotations

import gzip
import json
import math
import threading
from importlib import resources

import pytest

from agentguard.models import person
from agentguard.models.person import (
    THRESHOLD,
    WEIGHTS_FILE,
    Candidate,
    PersonModel,
    candidates,
    is_title,
)


@pytest.fixture(scope="module")
def model() -> PersonModel:
    return PersonModel.load()


def found(model: PersonModel, text: str) -> list[str]:
    return [text[s:e] for s, e, _ in model.names(text)]


def reference_names(model: PersonModel, text: str) -> list[tuple[int, int, float]]:
    """``names`` the slow way: every candidate, every feature, no cache and no skipping."""
    out: list[tuple[int, int, float]] = []
    for cand in candidates(text):
        pos = cand.start
        run: list[float] = []
        first = last = 0
        for word, feats in zip(cand.words, model.features(cand), strict=True):
            at = text.index(word, pos)
            pos = at + len(word)
            z = model.bias + sum(model.weights.get(f, 0.0) for f in feats)
            p = 1.0 / (1.0 + math.exp(-z))
            if p >= model.threshold and not is_title(word):
                first = at if not run else first
                run.append(p)
                last = pos
            elif run:
                out.append((first, last, sum(run) / len(run)))
                run = []
        if run:
            out.append((first, last, sum(run) / len(run)))
    return out


def test_weights_ship_in_the_package_and_agree_with_the_module() -> None:
    blob = resources.files(person.__package__).joinpath(WEIGHTS_FILE).read_bytes()
    doc = json.loads(gzip.decompress(blob))
    assert doc["format"] == person.FORMAT_VERSION
    assert doc["threshold"] == THRESHOLD
    assert doc["weights"] and doc["first"] and doc["last"] and doc["common"] and doc["freq"]
    assert len(blob) < 2_000_000


def test_load_is_cached_and_thread_safe() -> None:
    seen: list[PersonModel] = []
    threads = [threading.Thread(target=lambda: seen.append(PersonModel.load())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(m is PersonModel.load() for m in seen)


def test_unknown_format_is_refused() -> None:
    blob = gzip.compress(json.dumps({"format": 999}).encode())
    with pytest.raises(ValueError, match="format"):
        PersonModel.from_bytes(blob)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I met Jonathan Okafor yesterday.", "Jonathan Okafor"),
        ("Dr. Helena Marchetti will see you now.", "Helena Marchetti"),
        ("Zhang Wei and Oluwaseun Adeyemi arrived late.", "Zhang Wei"),
        ("I spoke to George W. Bush about it.", "George W. Bush"),
    ],
)
def test_finds_names_not_in_any_rule_list(model: PersonModel, text: str, name: str) -> None:
    assert name in found(model, text)


def test_scores_are_deterministic_and_above_the_threshold(model: PersonModel) -> None:
    text = "Yesterday I met Jonathan Okafor and Dr. Helena Marchetti in Leeds."
    first = model.names(text)
    assert (
        first
        == model.names(text)
        == PersonModel.from_bytes(
            resources.files(person.__package__).joinpath(WEIGHTS_FILE).read_bytes()
        ).names(text)
    )
    assert first and all(THRESHOLD <= p <= 1.0 for _, _, p in first)


def test_unicode_names(model: PersonModel) -> None:
    names = found(model, "We had lunch with Siobhán Ní Bhriain and Łukasz Żółkiewski.")
    assert any("Siobhán" in n for n in names)
    assert any("Żółkiewski" in n for n in names)


@pytest.mark.parametrize(
    "text",
    [
        "the quick brown fox jumps over the lazy dog, and then it went back to sleep.",
        "please send me the report by friday so we can review it before the meeting.",
        "def main(argv):\n    if not argv:\n        return None\n    raise ValueError(argv)\n",
        "for i in range(10):\n    total += values[i] * weights[i]\n",
        "The Python Software Foundation manages the language.",
        "This is a test. It has no names at all. However, it is long enough.",
    ],
)
def test_no_names_in_plain_prose_or_code(model: PersonModel, text: str) -> None:
    assert model.names(text) == []


def test_titles_are_not_part_of_the_name(model: PersonModel) -> None:
    assert found(model, "Mr. Jonathan Okafor called.") == ["Jonathan Okafor"]


def test_handles_hashtags_and_words_are_not_candidates() -> None:
    assert [c.words for c in candidates("@Jonathan #Okafor camelCase Smith")] == [["Smith"]]
    assert [c.words for c in candidates("cc @Jane Doe and snake_Case")] == [["Doe"]]


def test_candidates_carry_initials_and_titles() -> None:
    (cand,) = candidates("met Dr. J. Smith today")
    assert cand == Candidate(4, 16, ["Dr.", "J.", "Smith"], "met", "today", False)


def test_fast_path_matches_the_reference_scoring(model: PersonModel) -> None:
    text = (
        "Dear Ms. Adeyemi,\nThanks for the call. Jonathan Okafor and I met Mr. Smith at "
        "the Python Software Foundation offices. RT @someone: Lohan faces more jail "
        "#news. J. R. R. Tolkien wrote The Hobbit. Yesterday Priyanka Chaudhary called. "
        "OSError: [Errno 2] No such file. Happy Birthday Justin Bieber!! Alan's bike.\n"
    ) * 3
    fast, slow = model.names(text), reference_names(model, text)
    assert [(s, e) for s, e, _ in fast] == [(s, e) for s, e, _ in slow]
    assert [p for _, _, p in fast] == pytest.approx([p for _, _, p in slow])


def test_huge_runs_of_capitalised_words_complete(model: PersonModel) -> None:
    for text in ("Aa " * 333_334, "A. " * 333_334, "Aa-" * 333_334, "A" * 1_000_000):
        model.names(text)  # returns (a run is read for its first words only)
    model.names("Aa " * 333_334)
    assert model.last_words <= 12


def test_work_is_bounded_by_candidates(model: PersonModel) -> None:
    prose = "the report was sent to the team on time and nobody complained about it. " * 200
    assert model.names(prose) == []
    assert model.last_words == 0


def test_long_capitalised_tokens_are_not_read_or_cached(model: PersonModel) -> None:
    """No name has a 40-character word: such runs are skipped, so a stream of distinct long
    tokens cannot fill the per-word caches with megabytes."""
    alone, runs = len(model._alone), len(model._runs)
    for i in range(50):
        assert model.names(f"Q{i:05d}{'x' * 5000} said Z{i:05d}{'y' * 5000} Smith") == []
    assert (len(model._alone), len(model._runs)) == (alone, runs)
    assert model.names("I met Tobiah Okafor yesterday")  # ordinary names still read
