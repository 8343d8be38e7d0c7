"""PHONE across regions: national formats of the default regions, +CC numbers, exact spans,
context scores, and the digit runs that must not become phones."""

from __future__ import annotations

import pytest

from agentguard.detect.pii import PIIDetector
from agentguard.detect.pii.detector import COMMON_PHONE_REGIONS

DETECTOR = PIIDetector(phone_regions=COMMON_PHONE_REGIONS)
EVERYTHING = PIIDetector(min_score=0.0, phone_regions=COMMON_PHONE_REGIONS)


def phones(text: str, detector: PIIDetector = DETECTOR) -> list[tuple[str, str | None]]:
    return [(text[f.start : f.end], f.subtype) for f in detector.detect(text) if f.type == "PHONE"]


@pytest.mark.parametrize(
    ("text", "value", "region"),
    [
        ("Ruf mich an: 030 12345678, danke.", "030 12345678", "de"),
        ("Appelez le 01 42 68 53 00 demain.", "01 42 68 53 00", "fr"),
        ("Call the office on 020 7946 1234.", "020 7946 1234", "gb"),
        ("Mobile 0412 345 678 after five.", "0412 345 678", "au"),
        ("Tel. (11) 3456-7890 em São Paulo", "(11) 3456-7890", "br"),
        ("Phone: 03-1234-5678 (Tokyo office)", "03-1234-5678", "jp"),
        ("Bel 020 123 4567 voor info", "020 123 4567", "nl"),
        ("Llámame al 912 345 678 por favor", "912 345 678", "es"),
        ("WhatsApp +34 612 34 56 78 anytime", "+34 612 34 56 78", "es"),
        ("Reach me at +1 (415) 555-2671 today", "+1 (415) 555-2671", "us"),
        ("Support: 0044 20 7123 4567", "0044 20 7123 4567", "gb"),
        ("Ask Mike [203-719-8385 (phone)]", "203-719-8385", "us"),
    ],
)
def test_national_and_international_formats_are_found_with_exact_spans(
    text: str, value: str, region: str
) -> None:
    got = dict(phones(text))
    assert value in got
    if value.startswith("+"):
        assert got[value] == region
    else:  # a national number is read in the first default region whose plan accepts it
        assert got[value] == region or PIIDetector(region=region.upper()).detect(text)


def test_numbers_in_a_list_and_in_a_long_numeric_run_are_each_found() -> None:
    text = "Phones: 020 7123 4567, 0161 496 0123 or 0131 496 0456."
    got = [value for value, _ in phones(text, PIIDetector(region="GB"))]
    assert got == ["020 7123 4567", "0161 496 0123", "0131 496 0456"]
    text = "Main line +44 20 7123 4567 (2019 - 2024 - 2025 - 2026 - 2027)"
    assert [value for value, _ in phones(text)] == ["+44 20 7123 4567"]


@pytest.mark.parametrize(
    "text",
    [
        "Released version 2.31.0.1 last week.",
        "Invoice dated 2024-12-31 for 1234567.89 EUR.",
        "The server at 10.12.0.5 answered.",
        "Order #12345678 shipped.",
        "It costs $4500000 in total.",
        "Updated on 31.12.2024 by the team.",
        "Ticket 555-1234 was closed.",
        "Chrome 120.0.6099.109 is the stable build.",
        "The run took 1234567890 ms.",
        "Stanford CA 94305-5015 USA",
    ],
)
def test_versions_dates_ips_amounts_and_ids_are_not_phones(text: str) -> None:
    assert phones(text) == []


def test_context_words_raise_and_order_words_lower_the_score() -> None:
    def score(text: str) -> float:
        return next(f.score for f in EVERYTHING.detect(text) if f.type == "PHONE")

    assert score("phone 030 12345678 please") > score("see 030 12345678 please")
    assert score("order 030 12345678 please") < score("see 030 12345678 please")


def test_a_number_of_the_home_region_scores_higher_than_one_another_region_accepts() -> None:
    home = PIIDetector(region="DE", min_score=0.0).detect("see 030 12345678 today")
    away = EVERYTHING.detect("see 030 12345678 today")
    assert home[0].score > away[0].score
