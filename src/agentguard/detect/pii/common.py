"""Shared pieces of the PII scanners: the raw hit tuple, numeric islands, context look-ups.

Speed comes from scanning the text once for *numeric islands* (a digit followed by digits,
upper-case letters, or one or two separators that lead to another digit: ``415) 555-2671``,
``4111 1111 1111 1111``, ``85T10A562S``). Every scanner of numeric PII only looks at the
islands that could hold its type, with small regex windows around them, and runs its
validator on those candidates alone.

Most islands are a lone digit or two in code (``x[0]``, ``range(1, 3)``) that no scanner
wants. The pre-pass probe :data:`ISLAND_PROBE` marks every island some scanner can act
on (four characters or more; two capitals before it; what an address needs after it); when
the pre-pass found them, :func:`islands_at` reads the islands of those runs of island
characters only, else :func:`find_islands` reads them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from agentguard.detect import prepass
from agentguard.detect.prepass import WS, Pattern


class Hit(NamedTuple):
    """A raw PII candidate that passed its validator."""

    type: str
    start: int
    end: int
    score: float
    subtype: str | None = None


#: ``(start, end, digits)`` of a numeric island: its span and how many ASCII digits it holds
Span = tuple[int, int, int]

#: score ceiling for well-known test/example values (4111 1111 1111 1111, 123-45-6789 …)
EXAMPLE_SCORE = 0.5

# possessive: nothing follows the repeat, and a long island (a run of digits, "1 1 1 …")
# is then read without keeping a way back for every step of it
_ISLAND_RE = re.compile(r"[0-9](?:[0-9A-Z]|[ ./:()\-]{1,2}(?=[0-9]))*+")


_DROP_DIGITS = str.maketrans("", "", "0123456789")


def _island(m: re.Match[str]) -> Span:
    value = m.group()
    digits = len(value) if value.isdigit() else len(value) - len(value.translate(_DROP_DIGITS))
    return m.start(), m.end(), digits


def find_islands(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """The numeric islands of ``text`` (or of ``text[start:end]``), in order."""
    return list(map(_island, _ISLAND_RE.finditer(text, start, len(text) if end is None else end)))


_ISLAND_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ./:()-")
_RUN_RE = re.compile(r"[0-9A-Z ./:()\-]*")
_NOT_WORD = r"[^A-Za-z0-9\xaa-\xff]"
#: street-type words written before the street's name (Spanish, Catalan, Galician,
#: Portuguese, Italian, French, Polish), lower case; a full stop may follow each
TYPE_WORDS = (
    "calle", "c.", "carrer", "avda", "avd", "av", "avenida", "avinguda", "paseo", "passeig",
    "plaza", "pza", "pl.", "pla\xe7a", "pra\xe7a", "praca", "r\xfaa", "rua", "ronda", "rambla",
    "traves\xeda", "travesia", "travessera", "travessa", "camino", "cam\xed", "carretera",
    "ctra", "crta", "callej\xf3n", "callejon", "ca\xf1ada", "pasaje", "pasadizo", "glorieta",
    "alameda", "urbanizaci\xf3n", "urbanizacion", "urb.", "bulevar", "vial", "cuesta", "via",
    "viale", "v.le", "piazza", "p.za", "p.zza", "corso", "largo", "vicolo", "strada",
    "contrada", "rodovia", "estrada", "rue", "avenue", "boulevard", "bd", "chemin", "all\xe9e",
    "allee", "impasse", "quai", "ul.", "ulica", "aleja", "al.", "plac", "os.", "osiedle",
)  # fmt: skip
#: French street types written after the house number ("33, rue des Lilas")
NUMBER_FIRST_TYPES = (
    "rue", "avenue", "av.", "boulevard", "bd", "bld", "chemin", "all\xe9e", "allee", "impasse",
    "place", "quai", "route", "cours",
)  # fmt: skip
#: compound street names end in one of these, then the number follows
COMPOUND_ENDS = (
    "str.", "stra\xdfe", "strasse", "gasse", "weg", "ring", "allee", "platz", "damm", "ufer",
    "chaussee", "steig", "pfad", "gatan", "v\xe4gen", "gr\xe4nd", "torget", "stigen", "backen",
    "straat", "laan", "plein", "gracht", "kade", "dijk", "singel", "vej", "gade", "veien",
)  # fmt: skip
LABEL_WORDS = (
    "domicilio", "direcci\xf3n", "direccion", "address", "adresse", "anschrift", "indirizzo",
    "endere\xe7o", "endereco", "morada", "adres", "adress",
)  # fmt: skip
_LETTER = r"[A-Za-z\xc0-\xd6\xd8-\xf6\xf8-\xff]"


def _needle_word(word: str) -> str:
    """``word`` in a pattern needle, either case (a Latin-1 letter as a class of its two
    cases: the needle's caseless flag only folds ASCII)."""
    out = []
    for ch in word:
        up, low = ch.upper(), ch.lower()
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch.isalpha() and len(up) == 1 and up <= "\xff" and up != low:
            out.append(f"[\\x{ord(low):02x}\\x{ord(up):02x}]")
        else:
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out)


def _by_length(words: tuple[str, ...], before: str, after: str = "") -> list[Pattern]:
    """One needle per word length, positioned where the word starts (``after`` is one
    character wide)."""
    groups: dict[int, list[str]] = {}
    for word in words:
        groups.setdefault(len(word), []).append(_needle_word(word))
    extra = 1 if after else 0
    return [
        Pattern(f"{before}(?i:{'|'.join(alts)}){after}", width=n + extra)
        for n, alts in sorted(groups.items())
    ]


#: ADDRESS (:mod:`agentguard.detect.pii.address`): fires where a street word starts
#: ("Calle ", "Avda.", "C/"), a French street type after a house number ("33, rue "), an
#: address label ("Domicilio:") and the ending of a compound street name before its number
#: ("Lindenstr. 12")
STREET_NEEDLES: tuple[Pattern, ...] = (
    *_by_length(TYPE_WORDS, f"(?:^|{_NOT_WORD})", r"[ \t./]"),
    Pattern(f"(?:^|{_NOT_WORD})(?i:c)/", width=2),
    *_by_length(NUMBER_FIRST_TYPES, rf"[0-9](?:[A-Za-z]|{WS}?(?i:bis|ter))?,?{WS}*", r"[ \t]"),
    *_by_length(LABEL_WORDS, f"(?:^|{_NOT_WORD})", r"[ \t:]"),
    *_by_length(COMPOUND_ENDS, r"[A-Za-z\xc0-\xd6\xd8-\xf6\xf8-\xff-]{2}", "[0-9]"),
    *(  # the same with one space before the number
        Pattern(needle.text + "[0-9]", width=(needle.width or 0) + 1)
        for needle in _by_length(
            COMPOUND_ENDS, r"[A-Za-z\xc0-\xd6\xd8-\xf6\xf8-\xff-]{2}", r"[ \t]"
        )
    ),
)

#: what ``str.isupper()`` or ``str.isdigit()`` accepts, over the pre-pass bytes
_UPPER_OR_DIGIT = r"[A-Z0-9\xaa\xb2\xb3\xb9\xc0-\xd6\xd8-\xde]"
#: fires inside every island some scanner can act on (see ids, text, detector)
ISLAND_PROBE = prepass.probe(
    # four characters or more (an island never starts right after a digit)
    Pattern(r"(?:^|[^0-9])[0-9][0-9A-Z ./:()\-]{3}", width=4),
    Pattern(r"[A-Z]{2}[0-9]", width=1),  # IBAN: two capitals right before
    Pattern(r"[0-9][A-Z]*[ \t]" + _UPPER_OR_DIGIT, width=3),  # ADDRESS: "12 Main"
    Pattern(r"[0-9][A-Z]*(?:st|nd|rd|th)", width=3),  # ADDRESS: "12 1st"
    Pattern(r"[0-9][A-Z]{2}", width=3),  # ADDRESS: postcodes ending in two capitals
    Pattern(r"(?i:ox)[\x00-\xff]{0,4}[0-9]", width=1),  # ADDRESS: PO boxes
    Pattern(r"(?i:pob)[ \t]+[0-9]", width=1),  # ADDRESS: "POB 1906"
    *STREET_NEEDLES,  # ADDRESS: street words, labels, compound names (see STREET_PROBE)
)
#: the street-word scanner reads the island probe's positions: one probe, so that a text
#: whose only candidate is a street ("calle mayor 5") passes the detector's first gate
STREET_PROBE = ISLAND_PROBE


def islands_at(text: str, positions: Iterable[int]) -> list[Span]:
    """The islands of the runs of island characters that hold one of ``positions``
    (ascending): for each run, what :func:`find_islands` finds in it. A run is maximal, so
    no island crosses its ends."""
    out: list[Span] = []
    done = -1
    chars = _ISLAND_CHARS
    run_end = _RUN_RE.match
    islands = _ISLAND_RE.finditer
    for pos in positions:
        if pos < done or text[pos] not in chars:
            continue
        start = pos
        while start and text[start - 1] in chars:
            start -= 1
        run = run_end(text, pos)
        done = run.end() if run is not None else pos + 1
        out.extend(map(_island, islands(text, start, done)))
    return out


def word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words``, as a set (for long literal lists)."""
    return frozenset(words.split())


def words_re(*words: str) -> re.Pattern[str]:
    """A case-insensitive whole-word alternation (spaces match any whitespace run)."""
    alts = sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)


def near(
    pattern: re.Pattern[str], text: str, start: int, end: int, before: int = 40, after: int = 24
) -> bool:
    """Whether ``pattern`` occurs within ``before`` chars before or ``after`` chars after."""
    if pattern.search(text, max(0, start - before), start) is not None:
        return True
    return after > 0 and pattern.search(text, end, end + after) is not None


def clamp(score: float) -> float:
    return 0.0 if score < 0.0 else 1.0 if score > 1.0 else score


def digits_of(value: str) -> str:
    return "".join(ch for ch in value if "0" <= ch <= "9")
