"""The external tone data (``data/tone/``, built by ``data/tone/build_tone_data.py``): both
splits parse, carry both labels, keep their sources apart and share no text; and the
word-homonym contexts tuned on HateCheck's ``slur_homonym_nh`` cases (in ``tune``) keep
those cases below the flag line. The texts are read from the data files, so none is
spelled out here."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from agentguard.detect.tone import FLAG_THRESHOLD, PROFANITY, ToneDetector

DATA = Path(__file__).resolve().parents[2] / "data" / "tone"
SPLITS = ("tune", "dev")
FIELDS = {"id", "text", "label", "source", "kind", "split"}


@cache
def load(split: str) -> tuple[dict[str, Any], ...]:
    with gzip.open(DATA / f"{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh)


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.mark.parametrize("split", SPLITS)
def test_a_split_parses_with_both_labels(split: str) -> None:
    rows = load(split)
    assert len(rows) >= 1000
    for row in rows:
        assert set(row) == FIELDS
        assert row["split"] == split
        assert row["label"] in (0, 1)
        assert isinstance(row["text"], str) and row["text"].strip()
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for source in {r["source"] for r in rows}:
        labels = {r["label"] for r in rows if r["source"] == source}
        assert labels == {0, 1}, source


def test_splits_share_no_id_source_or_text() -> None:
    tune, dev = load("tune"), load("dev")
    ids = [r["id"] for r in (*tune, *dev)]
    assert len(ids) == len(set(ids))
    assert not {r["source"] for r in tune} & {r["source"] for r in dev}
    assert not {_fold(r["text"]) for r in tune} & {_fold(r["text"]) for r in dev}


def test_files_stay_small() -> None:
    assert sum((DATA / f"{s}.jsonl.gz").stat().st_size for s in SPLITS) < 1_500_000


def test_word_homonyms_from_the_tune_split_stay_below_the_flag_line() -> None:
    """The dog, the cigarette, the meatball, the embankment (HateCheck ``slur_homonym_nh``):
    at most one of them flagged (the cigarette "in her mouth" is still missed)."""
    detector = ToneDetector()
    rows = [r for r in load("tune") if r["kind"] == "slur_homonym_nh"]
    assert len(rows) >= 25
    flagged = [
        r["id"]
        for r in rows
        if any(
            f.type == PROFANITY and f.score >= FLAG_THRESHOLD for f in detector.detect(r["text"])
        )
    ]
    assert len(flagged) <= 1, flagged
