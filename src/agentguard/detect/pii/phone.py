"""PHONE: ``phonenumbers.PhoneNumberMatcher`` (leniency VALID) over a set of regions, run only
on windows around the numeric islands that hold at least 7 digits and look like a phone
number; see :mod:`agentguard.detect.pii.detector`.

A number written with ``+CC`` is found whatever the region (the matcher reads the country
from it). A number in national format (``07911 123456``, ``030 1234 5678``) is read as a
number of the detector's own region first, then of each region of ``regions`` in turn (as
Presidio does with its supported regions); one that only another region accepts scores
lower, since a national-format number is valid in several plans at once (``0612345678`` is
French, Dutch, Italian and Japanese).
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
    for rank, where in enumerate((region, *others)):
        if rank and "+" in window and window.lstrip("( ").startswith("+"):
            break  # an international number: the other regions would read it the same
        if rank and (out or not others_too):
            break
        for m in phonenumbers.PhoneNumberMatcher(window, where, leniency=_VALID):
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
    return [out[k] for k in sorted(out)]


def _hit(
    text: str, start: int, end: int, m: phonenumbers.PhoneNumberMatch, home: bool, where: str
) -> Hit:
    raw = m.raw_string
    context = near(_PHONE_CTX, text, start, end, 40, 16)
    if raw.isdigit() and not context:
        score = 0.25  # a bare digit run is as likely an id or a count as a phone
    else:
        score = (0.6 if home else 0.45) + (0.1 if not raw.isdigit() else 0.0)
        score += 0.25 if context else 0.0
    if not context and near(_PHONE_NEG, text, start, end, 24, 0):
        score -= 0.3
    if _fictional(m.number):
        score = min(score, EXAMPLE_SCORE)
    subtype = phonenumbers.region_code_for_number(m.number) or where
    return Hit("PHONE", start, end, clamp(score), subtype.lower())
