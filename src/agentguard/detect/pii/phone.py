"""PHONE: ``phonenumbers.PhoneNumberMatcher`` (leniency VALID) on the numeric islands that
hold at least 7 digits and look like a phone number; see :mod:`agentguard.detect.pii.detector`."""

from __future__ import annotations

import phonenumbers

from agentguard.detect.pii.common import EXAMPLE_SCORE, Hit, Span, clamp, near, words_re

_PHONE_CTX = words_re(
    "phone", "call", "called", "calling", "tel", "telephone", "mobile", "cell", "fax", "contact",
    "text", "sms", "whatsapp", "dial", "reach", "number", "hotline", "ring",
)  # fmt: skip
_VALID = phonenumbers.Leniency.VALID
# The matcher compiles regexes from the metadata of every region it considers, far more than
# the re module's cache of 512 holds, so every scan recompiled some (ours included) until
# phonenumbers kept its own compiled patterns (9.0.x: enable_pattern_cache).
_enable_pattern_cache = getattr(phonenumbers, "enable_pattern_cache", None)
if _enable_pattern_cache is not None:
    _enable_pattern_cache()


def _fictional(num: phonenumbers.PhoneNumber) -> bool:
    national = str(num.national_number)
    if num.country_code == 1:
        return national[3:8].startswith("55501")
    if num.country_code == 44:
        return national.startswith(("2079460", "1632960", "1134960", "7700900"))
    return False


def _phone_shaped(text: str, s: int, e: int, digits: int) -> bool:
    """Cheap shape checks that keep most non-phones away from the phone matcher."""
    if digits > 17 or (s > 0 and text[s - 1].isalnum()):
        return False
    value = text[s:e]
    if ":" in value or "/" in value or not value.isascii() or value.upper() != value.lower():
        return False  # times, dates, letters (IBAN/ID/hex fragments)
    return not (value.isdigit() and digits > 12 and text[s - 1 : s] != "+")


def scan_phone(text: str, islands: list[Span], region: str) -> list[Hit]:
    """PHONE hits in ``islands``; numbers without ``+`` are read as numbers of ``region``."""
    hits: list[Hit] = []
    last_end = -1
    n = len(text)
    for s, e, digits in islands:
        if digits < 7 or not _phone_shaped(text, s, e, digits):
            continue  # the phone matcher only runs where >= 7 digits are close together
        a, b = max(0, s - 2, last_end), min(n, e + 1)
        last_end = b
        for m in phonenumbers.PhoneNumberMatcher(text[a:b], region, leniency=_VALID):
            start, end = a + m.start, a + m.end
            raw = m.raw_string
            context = near(_PHONE_CTX, text, start, end, 40, 16)
            if raw.isdigit() and not context:
                score = 0.25  # a bare digit run is as likely an id or a count as a phone
            else:
                score = 0.6 + (0.1 if not raw.isdigit() else 0.0) + (0.25 if context else 0.0)
            if _fictional(m.number):
                score = min(score, EXAMPLE_SCORE)
            where = phonenumbers.region_code_for_number(m.number) or region
            hits.append(Hit("PHONE", start, end, clamp(score), where.lower()))
    return hits
