"""NATIONAL_ID formats met in external labelled data: the Spanish social-security number
(NASS), the Swedish personnummer, and French NIRs for Corsica; plus what must stay a phone
number or nothing at all."""

from __future__ import annotations

import pytest

from agentguard.detect.pii import PIIDetector
from agentguard.detect.pii.ids import es_nass_valid

DETECTOR = PIIDetector()


def ids(text: str) -> list[tuple[str, str | None]]:
    return [
        (text[f.start : f.end], f.subtype) for f in DETECTOR.detect(text) if f.type == "NATIONAL_ID"
    ]


def _nass(province: int, serial: int) -> str:
    base = province * 10**7 + serial if serial < 10**7 else province * 10**8 + serial
    return f"{province:02d} {serial:08d} {base % 97:02d}"


def test_the_nass_check_digits() -> None:
    good = _nass(28, 12345678)
    assert es_nass_valid(good.replace(" ", ""))
    bad = good[:-2] + f"{(int(good[-2:]) + 1) % 97:02d}"
    assert not es_nass_valid(bad.replace(" ", ""))
    assert es_nass_valid(_nass(8, 345612).replace(" ", ""))  # a serial below 10,000,000


def test_a_valid_nass_is_found_with_or_without_its_label() -> None:
    value = _nass(46, 10293847)
    assert ids(f"Afiliado {value} desde 2001") == [(value, "es_nass")]
    assert ids(f"NASS: {value}.") == [(value, "es_nass")]


def test_a_labelled_nass_with_a_wrong_check_is_still_personal_data() -> None:
    value = _nass(33, 44556677)
    wrong = value[:-2] + f"{(int(value[-2:]) + 3) % 97:02d}"
    assert ids(f"Nº de afiliación a la Seguridad Social: {wrong}") == [(wrong, "es_nass")]
    assert ids(f"NASS: {wrong}.") == [(wrong, "es_nass")]
    assert ids(f"Historia clínica {wrong}.") == []  # no label, no check: nothing


def test_swedish_personnummer() -> None:
    assert ids("Personnummer 811228-9874 enligt Skatteverket") == [
        ("811228-9874", "se_personnummer")
    ]
    assert ids("Kund 19811228-9874 registrerad") == [("19811228-9874", "se_personnummer")]
    assert ids("personnummer: 8112289874") == [("8112289874", "se_personnummer")]
    assert ids("Lot 8112289874 shipped") == []  # bare digits only next to its name
    assert ids("Ref 811228-9875 closed") == []  # Luhn fails
    assert ids("Ref 811328-9874 closed") == []  # month 13


def test_a_personnummer_is_not_a_phone_number() -> None:
    types = [f.type for f in DETECTOR.detect("Her number 811228-9874 is on file")]
    assert "PHONE" not in types


def test_corsican_nir() -> None:
    # the key of a Corsican NIR reads 2A as 19 and 2B as 18 (97 - number mod 97)
    body = "285022B004123"
    value = body + f"{97 - int(body.replace('2B', '18')) % 97:02d}"
    assert ids(f"Numéro de sécurité sociale {value}") == [(value, "fr_nir")]
    spaced = f"{value[0]} {value[1:3]} {value[3:5]} {value[5:7]} {value[7:10]} {value[10:13]} {value[13:]}"
    assert ids(f"NIR {spaced} sur la carte") == [(spaced, "fr_nir")]


@pytest.mark.parametrize(
    "text",
    [
        "Invoice 2024-000123 dated 2024-03-01",
        "NHC: 4528193. CIPA: 123456.",
        "Order 46 10293847 12 shipped",
        "Version 20.01.2023-1234 released",
    ],
)
def test_ids_and_record_numbers_are_not_national_ids(text: str) -> None:
    assert ids(text) == []
