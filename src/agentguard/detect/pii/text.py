"""Context-shaped PII: DATE_OF_BIRTH (a date near a birth cue) and ADDRESS (street
addresses with an optional unit, city, state and ZIP; UK postcodes; PO boxes; and the forms
of :mod:`agentguard.detect.pii.address`)."""

from __future__ import annotations

import datetime as _dt
import re

from agentguard.detect.pii.address import scan_rural_route, scan_street_words, scan_us_extra
from agentguard.detect.pii.common import (
    EXAMPLE_SCORE,
    Hit,
    Span,
    clamp,
    near,
    word_set,
    words_re,
)
from agentguard.detect.prepass import PreparedText

# ---------------------------------------------------------------- DATE_OF_BIRTH
_DOB_CUE = words_re(
    "born", "dob", "d.o.b", "date of birth", "birth date", "birthdate", "birthday", "b-day",
    "geboren", "née", "fecha de nacimiento",
)  # fmt: skip
_DOB_STRONG = frozenset({"dob", "d.o.b", "date of birth", "birth date", "birthdate"})
_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?P<iy>[0-9]{4})[-/.](?P<im>[0-9]{1,2})[-/.](?P<id>[0-9]{1,2})"
    r"|(?P<a>[0-9]{1,2})(?P<s>[/.-])(?P<b>[0-9]{1,2})(?P=s)(?P<y>[0-9]{4}|[0-9]{2})"
    rf"|(?P<mn>{_MONTHS})\.?\s+(?P<md>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<my>[0-9]{{4}})"
    rf"|(?P<dd>[0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dm>{_MONTHS})\.?,?\s+"
    r"(?P<dy>[0-9]{4}))(?![0-9])",
    re.IGNORECASE,
)
#: a year alone ends a date only when a month name comes before it ("March 3rd, 1985"):
#: a numeric date around a four-digit island would have joined the island
_MONTH_NAME = re.compile(_MONTHS, re.IGNORECASE)
_MONTH_ABBR = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NUM = {m: i for i, m in enumerate(_MONTH_ABBR, 1)}


_THIS_YEAR = _dt.date.today().year


def _valid_date(year: int, month: int, day: int) -> bool:
    if year < 100:
        year += 1900 if year > _THIS_YEAR % 100 else 2000
    if not 1900 <= year <= _THIS_YEAR:
        return False
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _date_ok(m: re.Match[str]) -> bool:
    g = m.groupdict()
    if g["iy"]:
        return _valid_date(int(g["iy"]), int(g["im"]), int(g["id"]))
    if g["a"]:
        a, b, y = int(g["a"]), int(g["b"]), int(g["y"])
        return _valid_date(y, a, b) or _valid_date(y, b, a)
    if g["mn"]:
        return _valid_date(int(g["my"]), _MONTH_NUM[g["mn"][:3].lower()], int(g["md"]))
    return _valid_date(int(g["dy"]), _MONTH_NUM[g["dm"][:3].lower()], int(g["dd"]))


def _dob_cue(text: str, start: int, end: int) -> float | None:
    """The score the birth cues near ``text[start:end]`` give, or ``None`` without one."""
    cues = [*_DOB_CUE.finditer(text, max(0, start - 48), start)]
    cues += _DOB_CUE.finditer(text, end, end + 32)
    if not cues:
        return None
    strong = any(re.sub(r"\s+", " ", c.group().lower()) in _DOB_STRONG for c in cues)
    return 0.9 if strong else 0.8


def scan_dob(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    for s, e, _ in islands:
        found: re.Match[str] | None = None
        if e - s == 4 and text[s] in "12":  # a year: maybe the end of "March 3rd, 1985"
            if _MONTH_NAME.search(text, max(0, s - 26), s) is None:
                continue
            for m in _DATE_RE.finditer(text, max(0, s - 26), e):
                if m.end() == e and m.start() < s:
                    found = m
                    break
        elif e - s >= 6:
            found = _DATE_RE.match(text, s)
        if found is None or (hits and found.start() < hits[-1].end) or not _date_ok(found):
            continue
        score = _dob_cue(text, found.start(), found.end())
        if score is not None:
            hits.append(Hit("DATE_OF_BIRTH", found.start(), found.end(), score))
    return hits


# ---------------------------------------------------------------- ADDRESS
_SUFFIX = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Place|Pl|Way"
    "|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Crescent|Close|Row"
    "|Plaza|Alley|Loop|Grove|Mews|Walk|Gardens"
)
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV"
    "|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_UP = "A-ZÀ-ÖØ-Þ"
_WORD = rf"(?:[{_UP}][A-Za-zß-öø-ÿ'’.-]*|[0-9]{{1,3}}(?:st|nd|rd|th|ST|ND|RD|TH))"
_CITY = rf"[{_UP}][A-Za-zß-öø-ÿ.'’-]+(?:[ \t]+[{_UP}][A-Za-zß-öø-ÿ.'’-]+){{0,2}}"
_ZIP = r"[0-9]{5}(?:-[0-9]{4})?"
_UKPC = r"[A-Z]{1,2}[0-9][A-Z0-9]?[ \t]?[0-9][A-Z]{2}"
_STREET_RE = re.compile(
    rf"(?<![\w./,-])(?P<num>[0-9]{{1,5}}[A-Za-z]?(?:-[0-9]{{1,5}})?),?[ \t]+"
    rf"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?[ \t]+)?"
    rf"(?P<name>{_WORD}(?:[ \t]+{_WORD}){{0,3}}?)[ \t]+(?:{_SUFFIX}|{_SUFFIX.upper()})\b\.?"
    r"(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?"
    r"(?P<unit>,?[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|#)\.?[ \t]*#?"
    r"[A-Za-z0-9-]{1,6}\b)?"
    rf"(?P<tail>(?:,[ \t]*|[ \t]+){_CITY}(?:,[ \t]*|[ \t]+)(?:(?:{_STATES})\b(?:[ \t]+{_ZIP})?"
    rf"|[{_UP}][a-z]+(?:[ \t][{_UP}][a-z]+)?[ \t]+{_ZIP}|{_UKPC}\b)|,[ \t]*{_CITY}[ \t]+{_ZIP})?"
    r"(?![0-9])"
)
_POSTCODE_RE = re.compile(
    r"(?<![\w-])(?P<area>[A-Z]{1,2})[0-9][A-Z0-9]?[ \t][0-9][ABD-HJLNP-UW-Z]{2}(?![\w-])"
)
_PO_BOX_RE = re.compile(
    r"(?<!\w)(?:P\.?[ \t]?O\.?[ \t]*Box|POB|Box[ \t]*#)[ \t]*#?[ \t]*[0-9]{1,6}(?![0-9])",
    re.IGNORECASE,
)
_UK_AREAS = word_set("""
    AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN
    DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY
    L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S
    SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR
    WS WV YO ZE""")
_ADDR_CTX = words_re(
    "address", "addr", "live at", "lives at", "living at", "located at", "ship to", "shipping",
    "deliver", "delivery", "mail to", "residence", "reside", "resides", "home", "billing",
    "moved to", "send it to", "postcode", "post code", "zip",
)  # fmt: skip
_ADDR_EXAMPLES = ("123 main st", "123 main street", "1234 main st", "742 evergreen terrace")


def scan_address(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    n = len(text)
    for s, e, _ in islands:
        if e - s > 12:
            continue
        after = text[e : e + 2]
        street = None
        if (after[:1] in (" ", "\t") and (after[1:].isupper() or after[1:].isdigit())) or (
            after in ("st", "nd", "rd", "th") and " " in text[s:e]
        ):
            m = _STREET_RE.match(text, s)
            if m is not None:
                street = _street_hit(text, m)
        if after[:1] in (" ", "\t") and after[1:].isalpha():
            extra = scan_us_extra(text, s, e)
            if extra is not None and (street is None or extra.end > street.end):
                street = extra
        if street is not None:
            hits.append(street)
        if text[e - 2 : e].isupper() and text[e - 2 : e].isalpha():
            for m in _POSTCODE_RE.finditer(text, max(0, s - 2), min(n, e + 1)):
                if m.group("area") in _UK_AREAS:
                    start, end = m.span()
                    score = 0.5 + (0.3 if near(_ADDR_CTX, text, start, end, 48, 0) else 0.0)
                    hits.append(Hit("ADDRESS", start, end, score, "uk_postcode"))
        if "ox" in (before := text[max(0, s - 6) : s].lower()) or "pob" in before:
            for m in _PO_BOX_RE.finditer(text, max(0, s - 14), e):
                hits.append(Hit("ADDRESS", m.start(), m.end(), 0.75, "po_box"))
            rural = scan_rural_route(text, s, e)
            if rural is not None:
                hits.append(rural)
    hits += scan_street_words(prepared)
    return hits


def _street_hit(text: str, m: re.Match[str]) -> Hit:
    start, end = m.span()
    if text[end - 1] == "." and m.group("tail") is None and m.group("unit") is None:
        end -= 1  # the full stop after "St" is more likely the sentence's
    score = 0.6 + (0.05 if m.group("unit") else 0.0) + (0.25 if m.group("tail") else 0.0)
    if near(_ADDR_CTX, text, start, end, 40, 0):
        score += 0.15
    if text[start:end].lower().startswith(_ADDR_EXAMPLES):
        score = min(score, EXAMPLE_SCORE)
    return Hit("ADDRESS", start, end, clamp(score), "street")
