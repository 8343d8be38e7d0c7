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


# ---------------------------------------------------------------- national formats by default
DEFAULT = PIIDetector()


@pytest.mark.parametrize(
    ("text", "value", "region"),
    [
        ("Consulta externa. Tel.: 954 21 33 60 E-mail: consulta@hospital.es", "954 21 33 60", "es"),
        ("Servicio de Cardiología Tfno: 981176000", "981176000", "es"),
        ("Teléfono: 922 67 80 00. Correo: x@y.es", "922 67 80 00", "es"),
        ("Fax: 944 00 70 11.", "944 00 70 11", "es"),
        ("Móvil 678 123 904 (tardes)", "678 123 904", "es"),
        ("Tél. 04 91 38 00 00 (standard)", "04 91 38 00 00", "fr"),
        ("Handy: 0171 2345678", "0171 2345678", "de"),
        ("Ring the shop on 0131 332 2244 today", "0131 332 2244", "gb"),
        ("Kontor 08-519 515 00 vardagar", "08-519 515 00", "se"),
        ("Bureau 03 88 25 90 90, lundi", "03 88 25 90 90", "fr"),
        ("Praxis (06221) 567431 montags", "(06221) 567431", "de"),
    ],
)
def test_national_numbers_are_read_after_a_phone_word_or_with_a_trunk_zero(
    text: str, value: str, region: str
) -> None:
    got = dict(phones(text, DEFAULT))
    assert value in got
    assert got[value] == region or value.startswith("0")  # "0…" numbers fit several plans


def test_every_number_of_a_list_after_one_phone_word_is_read() -> None:
    text = "Telfs.: 918 82 38 84 / 619128686 y 918823985. Fax 918823990"
    got = [value for value, _ in phones(text, DEFAULT)]
    assert got == ["918 82 38 84", "619128686", "918823985", "918823990"]


@pytest.mark.parametrize(
    "text",
    [
        "NºCol: 28 28 41522. Historia clínica 20110 45093.",
        "Apartado de Correos 20134 48080 Bilbao.",
        "Lote 051207-2231 caducado el 12.06.2024.",
        "Totals: 0 0 0 0 0 0 0 and 0.5 0.5 0.5 0.5",
        "Registered under 01 23 45 67 in the ledger.",
        "Versions 2024 10 31 and 3.12.1 shipped; price 1 299 000 EUR.",
        "Art. 5, 3 of 2019 12 31",
        "Flights to Tel Aviv 2024 12 31 were full.",
    ],
)
def test_record_numbers_postcodes_and_counts_are_not_phones(text: str) -> None:
    assert phones(text, DEFAULT) == []


def test_an_ssn_shape_after_a_country_code_is_a_phone_number() -> None:
    for text in ("+992 372 12 3456", "Call +672 10 6609 now"):
        found = [(f.type, text[f.start : f.end]) for f in DEFAULT.detect(text)]
        assert [t for t, _ in found] == ["PHONE"], found
        assert found[0][1].startswith("+")


def test_phone_words_in_prose_do_not_turn_numbers_into_phones() -> None:
    assert phones("The cell count was 4 500 000 per ml", DEFAULT) == []
    assert phones("We call version 120 0 6099 109 stable", DEFAULT) == []


def test_pathological_number_runs_finish() -> None:
    # no timing assertion: they must simply return
    for text in ("Tel.: " + "9 " * 400_000, "0" + " 0" * 300_000, "Fax: 1 / " * 100_000):
        DEFAULT.detect(text)
