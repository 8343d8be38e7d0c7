"""The external PII data in data/pii/ parse, their spans fit their texts, and no text sits in
two splits (see the data/pii section of data/README.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from agentguard.detect.pii import PII_TYPES

DATA = Path(__file__).resolve().parents[2] / "data" / "pii"
FILES = ("tune", "dev", "structured_tune", "structured_dev")
#: LOCATION (a named place) is labelled by the NER sources; the detector has no such type
TYPES = PII_TYPES | {"LOCATION"}


def _load(name: str) -> list[dict[str, Any]]:
    path = DATA / f"{name}.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path.name} not built")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.mark.parametrize("name", FILES)
def test_records_are_well_formed(name: str) -> None:
    records = _load(name)
    assert records
    split = name.rsplit("_", 1)[-1]
    ids = set()
    for r in records:
        assert set(r) == {"id", "text", "spans", "source", "split"}
        assert r["split"] == split
        assert r["id"] not in ids
        ids.add(r["id"])
        text = r["text"]
        for start, end, kind in r["spans"]:
            assert kind in TYPES, r["id"]
            assert 0 <= start < end <= len(text), r["id"]
            surface = text[start:end]
            assert surface == surface.strip(), (r["id"], surface)


def test_structured_spans_look_like_their_type() -> None:
    for name in ("structured_tune", "structured_dev"):
        for r in _load(name):
            for start, end, kind in r["spans"]:
                surface = r["text"][start:end]
                if kind == "EMAIL":
                    assert "@" in surface, (r["id"], surface)
                elif kind in {"PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS"}:
                    assert any(ch.isdigit() for ch in surface), (r["id"], surface)


def test_no_text_in_two_splits() -> None:
    tune = {r["text"] for name in ("tune", "structured_tune") for r in _load(name)}
    dev = {r["text"] for name in ("dev", "structured_dev") for r in _load(name)}
    assert not tune & dev
