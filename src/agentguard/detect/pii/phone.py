"""PHONE: ``phonenumbers.PhoneNumberMatcher`` (leniency VALID) over a set of regions, run only
on windows around the numeric islands that hold at least 7 digits and look like a phone
number; see :mod:`agentguard.detect.pii.detector`.

A number written with ``+CC`` is found whatever the region (the matcher reads the country
from it). A number in national format (``07911 123456``, ``030 1234 5678``) is read as a
number of the detector's own region first, then of each region of ``regions`` in turn (as
Presidio does with its supported regions); one that only another region accepts scores
lower, since a national-format number is valid in several plans at once (``0612345678`` is
French, Dutch, Italian and Japanese).

Two more readings need no ``regions`` (each costs matcher passes only for numbers that
neither the home region nor ``regions`` read):

* a number right after a phone word (``Tel.:``, ``Tfno:``, ``Fax:``, ``Teléfono:``,
  ``Handy``, ``mobile`` …, or after an earlier number of the same list) is read in each of
  :data:`CUE_PHONE_REGIONS` in turn;
* a formatted number that starts with a trunk ``0`` (``0118 496 0410``, ``05 87 98 36 67``,
  ``(07140) 477034``) is read in each of :data:`TRUNK_PHONE_REGIONS`, and kept only when
  its grouping is that plan's own (``STRICT_GROUPING``): a date, a version or a run of
  counts is never grouped the way a national plan writes its numbers.

A number the home region reads as a North American one but that is not grouped like one
(``48 48 792364``, ``510330-3334``), with no phone word near, scores below the default
minimum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from agentguard.detect.pii.common import EXAMPLE_SCORE, Hit, Span, clamp, near, words_re

#: regions whose national formats are tried besides the detector's own, by default: none.
#: Each one costs another pass of the matcher over every phone-shaped number the home
#: region does not read (number-heavy text scanned 4-5x slower with the list below), and no
#: labelled external data has yet shown what it gains.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ()
#: a list to pass as ``PIIDetector(phone_regions=COMMON_PHONE_REGIONS)`` for mixed traffic
COMMON_PHONE_REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "IN", "BR", "AU", "CA", "ES", "IT", "NL", "MX", "JP",
)  # fmt: skip

#: regions tried, after the home region and ``regions``, for a national number that a phone
#: word stands right before
CUE_PHONE_REGIONS: tuple[str, ...] = (
    *COMMON_PHONE_REGIONS, "SE", "CH", "AT", "BE", "IE", "PT", "PL", "DK", "NO", "AR",
)  # fmt: skip
#: regions whose national numbers start with a trunk ``0`` (tried for a formatted ``0…``)
TRUNK_PHONE_REGIONS: tuple[str, ...] = (
    "GB", "DE", "FR", "IT", "NL", "SE", "AU", "IN", "BR", "JP", "CH", "AT", "BE", "IE",
)  # fmt: skip
#: words that name a phone number, written right before it (a list of numbers may follow)
_PHONE_CUE = words_re(
    "phone", "phone no", "phone number", "telephone", "tel", "tel.", "tel no", "tfno", "tfno.",
    "tlf", "tlf.", "tlfno", "tlfn", "telf", "telf.", "telfs", "telfs.", "telef", "telef.",
    "teléf", "teléf.", "teléfono", "teléfonos", "telefono", "telefonos", "fax", "telefax",
    "móvil", "movil", "mobile", "mobile no", "mob", "mob.", "cell", "cellphone", "cell phone",
    "ph", "ph.", "tél", "tél.", "téléphone", "portable", "telefon", "telefonnummer", "handy",
    "mobil", "mobilnummer", "telefoon", "mobiel", "cellulare", "celular", "whatsapp", "sms",
    "hotline", "landline", "call", "call me on", "call me at", "ring",
)  # fmt: skip
#: what may stand between a phone word and its number: punctuation, and earlier numbers of
#: a list joined by "/", "y", "or" … ("Telfs.: 918823884 / 918823984 / 619128686")
_CUE_GAP = re.compile(
    r"(?:[\s.:;,/()+\-]|[0-9]|(?<![^\W\d_])(?:y|o|e|or|and|et|ou|und|oder|och|eller|ext|"
    r"extension|no|nº|n°|num|número|numero|nummer|number|de|del|al|at|on|is|es)(?![^\W\d_]))*",
    re.IGNORECASE,
)
_CUE_SPAN = 48
#: "051207-2231" (a date and a serial: a lot, a personnummer), "093 22 0512" (an SSN shape)
_DATE_SERIAL = re.compile(r"(?:[0-9]{6}-[0-9]{4}|[0-9]{3}([ -])[0-9]{2}\1[0-9]{4})(?![0-9])")
_STRICT = phonenumbers.Leniency.STRICT_GROUPING
_PHONE_CTX = words_re(
    "phone", "call", "called", "calling", "tel", "tel.", "telephone", "mobile", "cell", "fax",
    "contact", "text", "sms", "whatsapp", "dial", "reach", "number", "hotline", "ring", "ph",
    "mob", "cellphone", "landline", "extension", "ext", "voicemail", "telefon", "téléphone",
    "teléfono", "telefono", "tlf", "handy",
)  # fmt: skip
_PHONE_NEG = words_re(
    "order", "invoice", "ticket", "ref", "reference", "id", "sku", "serial", "isbn", "account",
    "acct", "tracking", "transaction", "txn", "confirmation", "po", "case", "build", "version",
    "zip", "postcode", "total", "amount", "balance", "price", "qty",
)  # fmt: skip
_VALID = phonenumbers.Leniency.VALID
# The matcher compiles regexes from the metadata of every region it considers, far more than
# the re module's cache of 512 holds, so every scan recompiled some (ours included) until
# phonenumbers kept its own compiled patterns (9.0.x: enable_pattern_cache).
_enable_pattern_cache = getattr(phonenumbers, "enable_pattern_cache", None)
if _enable_pattern_cache is not None:
    _enable_pattern_cache()

#: dates, IPv4 addresses, version strings, decimal amounts: never phone numbers
_NOT_PHONE_RE = re.compile(
    r"[0-9]{4}[-.][0-9]{1,2}[-.][0-9]{1,2}"  # 2024-12-31
    r"|[0-9]{1,2}[-.][0-9]{1,2}[-.](?:19|20)[0-9]{2}"  # 31.12.2024
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}"  # 10.12.0.5, 1.2.3.4
    r"|[0-9]+(?:\.[0-9]+){3,}"  # 120.0.6099.109
    r"|[0-9]+\.[0-9]+"  # 1234567.89, 2.718281828459045: one dot is a decimal
    r"|[0-9]{5}-[0-9]{4}"  # a US ZIP+4 code, 94305-5015
)
#: characters right before an island that make it an id, an amount or a version, not a phone
_BAD_BEFORE = frozenset("#$€£¥.,_/\\=vV")
#: an island longer than this (digits) is read in overlapping chunks, at most _MAX_CHUNKS
_MAX_DIGITS = 17
_CHUNK = 48
_OVERLAP = 24
_MAX_CHUNKS = 16


def _fictional(num: phonenumbers.PhoneNumber) -> bool:
    national = str(num.national_number)
    if num.country_code == 1:
        return national[3:8].startswith("55501")
    if num.country_code == 44:
        return national.startswith(("2079460", "1632960", "1134960", "7700900"))
    return False


def _cue_before(text: str, start: int) -> bool:
    """Whether a phone word stands right before ``text[start:]`` (only punctuation and the
    earlier numbers of a list between them)."""
    a = max(0, start - _CUE_SPAN)
    last = None
    for last in _PHONE_CUE.finditer(text, a, start):  # noqa: B007 (the last one counts)
        pass
    return last is not None and _CUE_GAP.fullmatch(text, last.end(), start) is not None


def _nanp_grouped(raw: str) -> bool:
    """Whether ``raw`` is grouped as North American numbers are written (3-3-4, 3-7 or ten
    digits, behind an optional 1 / 001, before an optional extension)."""
    lengths = [len(g) for g in re.findall(r"[0-9]+", raw)]
    if (
        len(lengths) > 1
        and lengths[0] in (1, 3)
        and raw.lstrip("(")[:1] in "10"
        and (sum(lengths) > 10)
    ):
        lengths = lengths[1:]  # the 1 or 001 before the area code
    if len(lengths) > 1 and sum(lengths[:-1]) == 10 and re.search(r"(?i)x|ext|#", raw):
        lengths = lengths[:-1]  # an extension
    return lengths in ([10], [3, 7], [3, 3, 4])


def _phone_shaped(text: str, s: int, e: int) -> bool:
    """Cheap shape checks that keep most non-phones away from the phone matcher."""
    before = text[s - 1] if s > 0 else ""
    if before.isalnum() or before in _BAD_BEFORE:
        return False
    value = text[s:e]
    if ":" in value or "/" in value or not value.isascii() or value.upper() != value.lower():
        return False  # times, dates, letters (IBAN/ID/hex fragments)
    return _NOT_PHONE_RE.fullmatch(value) is None


def _windows(text: str, s: int, e: int, digits: int) -> list[tuple[int, int]]:
    """Bounded windows over the island ``text[s:e]`` (plus a ``+`` or ``(`` before it)."""
    a, b = max(0, s - 2), min(len(text), e + 1)
    if digits <= _MAX_DIGITS:
        return [(a, b)]
    # a list of numbers run together ("020 7123 4567 0161 496 0000"): overlapping chunks,
    # each long enough to hold any one number whole; a long digit run holds none
    if text[s:e].isdigit():
        return []
    step = _CHUNK - _OVERLAP
    count = min(_MAX_CHUNKS, max(1, -(-(b - a - _OVERLAP) // step)))
    return [(a + i * step, min(b, a + i * step + _CHUNK)) for i in range(count)]


def scan_phone(
    text: str, islands: list[Span], region: str, regions: Iterable[str] = DEFAULT_PHONE_REGIONS
) -> list[Hit]:
    """PHONE hits in ``islands``; numbers without ``+`` are read as numbers of ``region``,
    else of the first of ``regions`` whose numbering plan accepts them."""
    others = [r for r in dict.fromkeys(regions) if r != region]
    hits: list[Hit] = []
    prev_end = -1
    for s, e, digits in islands:
        if digits < 7 or not _phone_shaped(text, s, e):
            continue  # the phone matcher only runs where >= 7 digits are close together
        for i, (a, b) in enumerate(_windows(text, s, e, digits)):
            if i == 0:
                a = max(a, prev_end)  # never read the previous island's window again
            for hit in _match(text, a, b, region, others, cut_left=a > s, cut_right=b < e):
                if not hits or hit.start >= hits[-1].end:
                    hits.append(hit)
            prev_end = b
    return hits


def _match(
    text: str, a: int, b: int, region: str, others: list[str], *, cut_left: bool, cut_right: bool
) -> list[Hit]:
    window = text[a:b]
    out: dict[int, Hit] = {}
    taken: list[tuple[int, int]] = []
    # other regions only for a formatted number, or one a phone word stands next to, that
    # the home region did not read: a bare run of digits (an id, a constant) would cost 12
    # more passes of the matcher for a finding scored 0.25 at best
    formatted = any(ch in window for ch in " -()")
    others_too = formatted or near(_PHONE_CTX, text, a, b, 40, 16)
    readings = [(region, _VALID), *((r, _VALID) for r in others if others_too)]
    extended = False
    rank = 0
    while rank < len(readings):
        if rank and (out or window.lstrip("( ").startswith("+")):
            break  # read already, or an international number: the others read it the same
        where, leniency = readings[rank]
        for m in phonenumbers.PhoneNumberMatcher(window, where, leniency=leniency):
            start, end = a + m.start, a + m.end
            if m.raw_string[0] in "([" and ")]"["([".index(m.raw_string[0])] not in m.raw_string:
                start += 1  # "[203-719-8385 (phone)": the bracket opens a list, not the number
            if (cut_left and m.start == 0) or (cut_right and m.end == len(window)):
                continue  # a number cut by the chunk's edge: the next chunk holds it whole
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            international = m.raw_string.startswith("+") or text[start - 2 : start].endswith(
                ("+", "00")
            )
            home = rank == 0 or international
            taken.append((start, end))
            out[start] = _hit(text, start, end, m, home, where)
        rank += 1
        if rank == len(readings) and not out and not extended:
            extended = True
            readings += _more_readings(text, a, window, {r for r, _ in readings})
    return [out[k] for k in sorted(out)]


def _more_readings(text: str, a: int, window: str, tried: set[str]) -> list[tuple[str, int]]:
    """The readings tried when the home region and ``regions`` read nothing: every region of
    :data:`CUE_PHONE_REGIONS` after a phone word, else those of :data:`TRUNK_PHONE_REGIONS`
    for a formatted number with a trunk 0 (grouped as that plan groups its numbers)."""
    first = next((i for i, ch in enumerate(window) if "0" <= ch <= "9"), -1)
    pos = a + first
    if first < 0 or "+" in text[max(0, pos - 2) : pos]:
        return []  # "+CC …": the home region read it already
    if _cue_before(text, pos):
        return [(r, _VALID) for r in CUE_PHONE_REGIONS if r not in tried]
    trunk = window[first] == "0" and window[first + 1 : first + 2] != "0"
    if _DATE_SERIAL.match(window, first):
        return []  # not read in other plans
    if trunk and any(ch in window[first:] for ch in " -()"):
        return [(r, _STRICT) for r in TRUNK_PHONE_REGIONS if r not in tried]
    return []


def _hit(
    text: str, start: int, end: int, m: phonenumbers.PhoneNumberMatch, home: bool, where: str
) -> Hit:
    raw = m.raw_string
    cue = _cue_before(text, start)
    context = cue or near(_PHONE_CTX, text, start, end, 40, 16)
    if raw.isdigit() and not context:
        score = 0.25  # a bare digit run is as likely an id or a count as a phone
    else:
        score = (0.6 if home else 0.45) + (0.1 if not raw.isdigit() else 0.0)
        score += 0.25 if context else 0.0
    if not context and near(_PHONE_NEG, text, start, end, 24, 0):
        score -= 0.3
    if _fictional(m.number):
        score = min(score, EXAMPLE_SCORE)
    if (
        home
        and m.number.country_code == 1
        and not raw.startswith("+")
        and not _nanp_grouped(raw)
        and not cue
    ):
        score = min(score, 0.2)  # "48 48 792364", "510330-3334": not how NANP numbers look
    subtype = phonenumbers.region_code_for_number(m.number) or where
    return Hit("PHONE", start, end, clamp(score), subtype.lower())
