"""ADDRESS beyond the US/UK suffix form: street-type words first (Spanish, Italian,
Portuguese, Polish, French), French house numbers first, compound street names (German,
Swedish, Dutch), labelled lines, and US forms without a suffix; with the prose, numbers and
words that must not become addresses."""

from __future__ import annotations

import pytest

from agentguard.detect import prepass
from agentguard.detect.pii import PIIDetector

DETECTOR = PIIDetector()
NO_PERSON = PIIDetector(types=["ADDRESS"])


def addresses(text: str, detector: PIIDetector = DETECTOR) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(text) if f.type == "ADDRESS"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Vive en C/ Huertas, 12, 3º B desde 2019.", "C/ Huertas, 12, 3º B"),
        (
            "Remitir a Avda. de la Paz, 41, 1 D 41004 Sevilla.",
            "Avda. de la Paz, 41, 1 D 41004 Sevilla",
        ),
        ("Consulta: Calle Santa Engracia 87, Madrid", "Calle Santa Engracia 87"),
        (
            "Hospital General, Paseo de la Habana, 75 - 28036 Madrid",
            "Paseo de la Habana, 75 - 28036 Madrid",
        ),
        ("Unidad de Nefrología, Ctra. de Andalucía s/n, Getafe", "Ctra. de Andalucía s/n"),
        ("Servicio de Urgencias Plaza del Pilar 9, Zaragoza", "Plaza del Pilar 9"),
        ("Ufficio in Via Garibaldi 27, 10122 Torino.", "Via Garibaldi 27, 10122 Torino"),
        ("Escritório: Rua Augusta, 274, Lisboa", "Rua Augusta, 274"),
        ("Biuro: ul. Kwiatowa 14/2, Kraków", "ul. Kwiatowa 14/2"),
        ("Livraison au 18, rue des Lilas\n69003 Lyon", "18, rue des Lilas\n69003 Lyon"),
        ("Siège: 7 BOULEVARD HAUSSMANN 75009 PARIS", "7 BOULEVARD HAUSSMANN 75009 PARIS"),
        ("Bitte an Lindenstr. 12, 10115 Berlin schicken.", "Lindenstr. 12, 10115 Berlin"),
        ("Wir wohnen in der Karl-Marx-Allee 93/4.", "Karl-Marx-Allee 93/4"),
        ("Paket an Birkenweg 8\n34117 Kassel", "Birkenweg 8\n34117 Kassel"),
        ("Kontor på Storgatan 9, 11455 Stockholm", "Storgatan 9, 11455 Stockholm"),
        ("Bezoek Prinsengracht 263, 1016 GV Amsterdam", "Prinsengracht 263, 1016 GV Amsterdam"),
        ("Domicilio: Travesía Fuente 3, 2 izq.\nLocalidad: León", "Travesía Fuente 3, 2 izq"),
        ("Home address: 14 Elm Crescent Flat 2\n", "14 Elm Crescent Flat 2"),
        (
            "Ship to 2200 Mission College, Santa Clara, CA 95054",
            "2200 Mission College, Santa Clara, CA 95054",
        ),
        (
            "Office: 700 Pennsylvania, Suite 12, Denver, CO 80203",
            "700 Pennsylvania, Suite 12, Denver, CO 80203",
        ),
        ("Farm at 4120 Hwy. 61 north of town", "4120 Hwy. 61"),
        ("Store #12, 915 STATE ROUTE 7, open daily", "915 STATE ROUTE 7"),
        ("Lives at 451 East 1700 South now", "451 East 1700 South"),
        ("mail to rr 2 box 118 please", "rr 2 box 118"),
        ("Send it to P.O.Box 915, Tulsa", "P.O.Box 915"),
        ("Deliver to 1820 W 22ND ST today", "1820 W 22ND ST"),
        ("meet at 418 maple ave at noon", "418 maple ave"),
    ],
)
def test_street_addresses_are_found(text: str, value: str) -> None:
    assert value in addresses(text)


@pytest.mark.parametrize(
    "text",
    [
        "La calle principal tiene 3 carriles y 2 aceras.",
        "Art. 5, 3 del reglamento; véase el punto 2.",
        "I have 3 place settings and 2 routes home.",
        "During 5 minutes the string 3 was re-read; bring 2 copies.",
        "Flights to Tel Aviv 2024 cost $450.",
        "The ZIP 94103 alone is not an address.",
        "Order 12345 shipped on 2024-03-01, version 2.3.1.",
        "The IP address: 10.0.0.1 answered.",
        "Email address: ana.garcia@hospital.es",
        "Pasaremos la calle y luego 2 plazas más.",
        "Prices went up 12 percent via 3 channels.",
        "We sold 300 units in Q3 and 120 in Q4.",
        "Call the API 5 times, then wait 30 seconds.",
    ],
)
def test_prose_and_numbers_are_not_addresses(text: str) -> None:
    assert addresses(text) == []


@pytest.mark.parametrize("engine", ["re", "hyperscan"])
def test_both_prepass_engines_find_the_same_addresses(engine: str) -> None:
    texts = [
        "Avda. de América, 10 y c/ Alcalá 45, 28028 Madrid",
        "vivo en calle mayor 5, 28013 madrid",
        "Kyrkogränd 3\n75310 Uppsala; 5 rue Colbert 13001 Marseille",
    ]
    try:
        prepass.set_engine(engine)
    except (ImportError, ValueError):
        pytest.skip(f"{engine} is not available here")
    try:
        got = [addresses(t, NO_PERSON) for t in texts]
    finally:
        prepass.set_engine("hyperscan" if engine == "re" else "re")
        prepass.set_engine(engine)
    assert got == [
        ["Avda. de América, 10", "c/ Alcalá 45, 28028 Madrid"],
        ["calle mayor 5, 28013 madrid"],
        ["Kyrkogränd 3\n75310 Uppsala", "5 rue Colbert 13001 Marseille"],
    ]


def test_pathological_input_finishes() -> None:
    # no timing assertion: these must simply return (no runaway backtracking)
    for text in ("Calle 1 " * 130_000, "Avda. " * 150_000 + "5", "1 " * 500_000, "rue " * 250_000):
        DETECTOR.detect(text)
