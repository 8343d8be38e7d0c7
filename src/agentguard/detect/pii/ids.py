"""Checksum-validated identifiers: IBAN, US_SSN and NATIONAL_ID (see ``pii`` for the list).

Every candidate must pass its ``python-stdnum`` validator (UK NINO: the HMRC prefix rules,
and the Spanish social-security number: the Seguridad Social's mod-97 check, neither of
which stdnum ships). Bare digit runs that are too ambiguous on their own (9-digit SSN/BSN,
11-digit German tax id) need a context word nearby.
"""

from __future__ import annotations

import re

from stdnum import iban as _iban
from stdnum.de import idnr as _de_idnr
from stdnum.es import dni as _es_dni
from stdnum.es import nie as _es_nie
from stdnum.fr import nir as _fr_nir
from stdnum.it import codicefiscale as _it_cf
from stdnum.nl import bsn as _nl_bsn
from stdnum.se import personnummer as _se_pnr
from stdnum.us import ssn as _us_ssn

from agentguard.detect.pii.common import (
    EXAMPLE_SCORE,
    Hit,
    Span,
    clamp,
    digits_of,
    near,
    words_re,
)
from agentguard.detect.prepass import PreparedText

# ---------------------------------------------------------------- IBAN
_IBAN_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
_IBAN_CTX = words_re("iban", "bank", "account", "transfer", "wire", "sepa", "bic", "swift", "pay")
_IBAN_EXAMPLES = frozenset(
    {
        "GB82WEST12345698765432",
        "GB29NWBK60161331926819",
        "GB33BUKB20201555555555",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "ES9121000418450200051332",
        "IT60X0542811101000000123456",
        "BE68539007547034",
        "CH9300762011623852957",
    }
)


def scan_iban(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    for s, _, _ in islands:
        # an IBAN's first island is its check digits, right after the country code
        if s < 2 or not ("A" <= text[s - 2] <= "Z" and "A" <= text[s - 1] <= "Z"):
            continue
        m = _IBAN_RE.match(text, s - 2)
        if m is None:
            continue
        start, value = m.start(), m.group()
        while value:  # the greedy grouping may have eaten a trailing word: shrink it
            compact = value.replace(" ", "")
            if len(compact) >= 15 and _iban.is_valid(compact):
                break
            cut = value.rfind(" ")
            value = value[:cut] if cut > 4 else ""
        if not value:
            continue
        end = start + len(value)
        score = 0.85 + (0.1 if near(_IBAN_CTX, text, start, end) else 0.0)
        if value.replace(" ", "") in _IBAN_EXAMPLES:
            score = EXAMPLE_SCORE
        hits.append(Hit("IBAN", start, end, clamp(score), value[:2].lower()))
    return hits


# ---------------------------------------------------------------- US SSN
_SSN_RE = re.compile(r"(?<![0-9-])([0-9]{3})([- ]?)([0-9]{2})\2([0-9]{4})(?![0-9]|-[0-9])")
_SSN_CTX = words_re(
    "ssn", "ssn#", "social security", "social sec", "ss#", "ss no", "taxpayer", "tin", "itin"
)
_SSN_NEG = words_re(
    "part", "model", "sku", "order", "ticket", "case", "invoice", "serial", "tracking", "isbn"
)
_SSN_EXAMPLES = frozenset({"123456789", "078051120", "219099999", "457555462", "234567890"})
_BSN_CTX = words_re("bsn", "burgerservicenummer", "sofinummer", "sofi")


def _ssn_rules_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def scan_ssn(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    for s, e, digits in islands:
        if digits < 9:
            continue
        for m in _SSN_RE.finditer(text, s, e + 2):
            hit = _ssn_hit(text, m)
            if hit is not None:
                hits.append(hit)
    return hits


#: "+992 372 12 3456", "+672 10 6609": an SSN shape right after a country code is a phone
_AFTER_COUNTRY_CODE = re.compile(r"\+(?:[0-9]{1,4}[ .-]?)?\Z")


def _ssn_hit(text: str, m: re.Match[str]) -> Hit | None:
    area, sep, group, serial = m.groups()
    if not _ssn_rules_ok(area, group, serial):
        return None
    if _AFTER_COUNTRY_CODE.search(text, max(0, m.start() - 6), m.start()) is not None:
        return None
    start, end = m.span()
    compact = area + group + serial
    context = near(_SSN_CTX, text, start, end)
    if not sep and not context:
        return None  # a bare 9-digit run is only an SSN when something says so
    if compact in _SSN_EXAMPLES or len(set(compact)) == 1:
        return Hit("US_SSN", start, end, EXAMPLE_SCORE)
    if not _ssn_valid(m.group()):
        return None
    score = {"-": 0.7, " ": 0.55, "": 0.6}[sep] + (0.25 if context else 0.0)
    if not context and near(_SSN_NEG, text, start, end, 30, 0):
        score -= 0.3
    return Hit("US_SSN", start, end, clamp(score))


def _ssn_valid(value: str) -> bool:
    return bool(_us_ssn.is_valid(value.replace(" ", "-")))


# ---------------------------------------------------------------- national ids
_NINO_RE = re.compile(
    r"(?<![A-Za-z0-9])([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?([0-9]{2}) ?([0-9]{2}) ?([0-9]{2})"
    r" ?([A-D])(?![A-Za-z0-9])"
)
_NINO_BAD_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO_CTX = words_re("national insurance", "ni number", "ni no", "nino", "nic")
_DE_IDNR_RE = re.compile(r"(?<![0-9])[0-9]{2} ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}(?![0-9])")
_DE_CTX = words_re(
    "steuer-id", "steuerid", "idnr", "steueridentifikationsnummer", "identifikationsnummer",
    "tax id", "tax identification", "steuerliche", "tin",
)  # fmt: skip
_FR_NIR_RE = re.compile(
    r"(?<![0-9])[12] ?[0-9]{2} ?(?:0[1-9]|1[0-2]|[2-9][0-9]) ?(?:[0-9]{2}|2[AB]) ?[0-9]{3}"
    r" ?[0-9]{3} ?[0-9]{2}(?![0-9])"
)
_FR_CTX = words_re("nir", "insee", "sécurité sociale", "securite sociale", "social security")
_ES_RE = re.compile(r"(?<![\w-])(?:[XYZ]-?[0-9]{7}|[0-9]{8})-?[A-Z](?![\w-])")
_ES_CTX = words_re("dni", "nie", "nif", "documento", "identidad")
_IT_CF_RE = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z]"
    r"[0-9LMNPQRSTUV]{3}[A-Z](?![A-Za-z0-9])"
)
_NL_BSN_RE = re.compile(r"(?<![0-9-])(?:[0-9]{9}|[0-9]{4}\.[0-9]{2}\.[0-9]{3})(?![0-9])")
_SE_PNR_RE = re.compile(r"(?<![0-9+-])(?:19|20)?[0-9]{6}[-+][0-9]{4}(?![0-9]|-[0-9])")
_SE_PNR_BARE_RE = re.compile(r"(?<![0-9+-])(?:(?:19|20)[0-9]{10}|[0-9]{10})(?![0-9]|-[0-9])")
_SE_CTX = words_re("personnummer", "personnr", "pnr", "person number", "samordningsnummer")
# Spanish social-security number (NASS, "número de afiliación"): a 2-digit province, an
# 8-digit serial and 2 check digits. The check digits are the number mod 97, where the
# number is province * 10**8 + serial, or province * 10**7 + serial when the serial is
# below 10,000,000 (Tesorería General de la Seguridad Social; stdnum has no module for it)
_ES_NASS_RE = re.compile(r"(?<![0-9])[0-9]{2}([ /-]?)[0-9]{7,8}(?:\1[0-9]{2})?(?![0-9]|[ /-][0-9])")
#: the label a NASS is written after ("NASS: 28 12345678 40", "Nº de afiliación: …")
_ES_NASS_LABEL = re.compile(
    r"(?i:\bn\.?\s?a\.?\s?s\.?\s?s\b\.?|\bn\.?s\.?s\b\.?|afiliaci[oó]n|seguridad\s+social"
    r"|\bss\s?n[ºo°]\.?|\bn[ºo°]\.?\s*(?:de\s+)?(?:la\s+)?s\.\s?s\.)[\s:.#º°-]*\Z"
)
_ID_EXAMPLES = frozenset({"AB123456C", "RSSMRA85T10A562S", "12345678Z", "111222333", "123456782"})


def _id_hit(
    text: str, start: int, end: int, subtype: str, base: float, ctx: re.Pattern[str] | None
) -> Hit:
    score = base + (0.2 if ctx is not None and near(ctx, text, start, end) else 0.0)
    compact = re.sub(r"[\s.-]", "", text[start:end])
    if compact in _ID_EXAMPLES:
        score = EXAMPLE_SCORE
    return Hit("NATIONAL_ID", start, end, clamp(score), subtype)


def es_nass_valid(number: str) -> bool:
    """The mod-97 check of a Spanish social-security number (12 digits)."""
    if len(number) != 12 or not number.isdigit():
        return False
    province, serial, check = int(number[:2]), int(number[2:10]), int(number[10:])
    base = province * 10**7 + serial if serial < 10**7 else int(number[:10])
    return base % 97 == check


def fr_nir_valid(number: str) -> bool:
    """Whether ``number`` is a valid French NIR (for the card scanner: a 15-digit NIR can
    pass the Luhn check too)."""
    return len(number) == 15 and bool(_fr_nir.is_valid(number))


def _nass_hits(text: str, s: int, e: int) -> list[Hit]:
    hits: list[Hit] = []
    for m in _ES_NASS_RE.finditer(text, s, min(len(text), e + 2)):
        start, end = m.span()
        compact = digits_of(m.group())
        labelled = _ES_NASS_LABEL.search(text, max(0, start - 32), start) is not None
        if len(compact) == 12 and es_nass_valid(compact) and (labelled or m.group(1)):
            hits.append(_id_hit(text, start, end, "es_nass", 0.75 + 0.2 * labelled, None))
        elif labelled:
            # after its label, a number of this shape is the NASS even with a wrong check
            # (records keep mistyped and made-up numbers): still personal data
            hits.append(_id_hit(text, start, end, "es_nass", 0.6, None))
    return hits


def _se_pnr_hits(text: str, s: int, e: int) -> list[Hit]:
    hits: list[Hit] = []
    end_at = min(len(text), e + 2)
    for m in _SE_PNR_RE.finditer(text, s, end_at):
        if _se_pnr.is_valid(m.group()):
            hits.append(_id_hit(text, *m.span(), "se_personnummer", 0.7, _SE_CTX))
    if not hits:  # without its dash only next to "personnummer"
        for m in _SE_PNR_BARE_RE.finditer(text, s, end_at):
            start, end = m.span()
            if near(_SE_CTX, text, start, end) and _se_pnr.is_valid(m.group()):
                hits.append(_id_hit(text, start, end, "se_personnummer", 0.75, None))
    return hits


def scan_national_ids(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    n = len(text)
    for s, e, digits in islands:
        if digits < 6:
            continue
        if digits == 6 and text[max(0, s - 3) : s].rstrip()[-1:].isupper():
            for m in _NINO_RE.finditer(text, max(0, s - 3), min(n, e + 3)):
                if m.group(1) not in _NINO_BAD_PREFIX:
                    hits.append(_id_hit(text, *m.span(), "uk_nino", 0.7, _NINO_CTX))
        if s >= 6 and text[s - 6 : s].isalpha() and text[s - 6 : s].isupper():
            m2 = _IT_CF_RE.match(text, s - 6)
            if m2 is not None and _it_cf.is_valid(m2.group()):
                hits.append(_id_hit(text, *m2.span(), "it_codice_fiscale", 0.85, None))
        if digits in (7, 8):
            for m in _ES_RE.finditer(text, max(0, s - 2), min(n, e + 3)):
                value = m.group()
                nie = value[0] in "XYZ"
                if (_es_nie if nie else _es_dni).is_valid(value):
                    sub = "es_nie" if nie else "es_dni"
                    hits.append(_id_hit(text, *m.span(), sub, 0.7, _ES_CTX))
        if digits in (10, 12):
            hits += _se_pnr_hits(text, s, e)
        if 9 <= digits <= 12:
            hits += _nass_hits(text, s, e)
        if digits in (13, 14, 15):
            for m in _FR_NIR_RE.finditer(text, s, min(n, e + 2)):
                if _fr_nir.is_valid(m.group()):
                    hits.append(_id_hit(text, *m.span(), "fr_nir", 0.75, _FR_CTX))
        if digits == 11:
            for m in _DE_IDNR_RE.finditer(text, s, min(n, e + 2)):
                start, end = m.span()
                if near(_DE_CTX, text, start, end) and _de_idnr.is_valid(digits_of(m.group())):
                    hits.append(_id_hit(text, start, end, "de_idnr", 0.75, None))
        if digits == 9:
            for m in _NL_BSN_RE.finditer(text, s, min(n, e + 2)):
                start, end = m.span()
                if near(_BSN_CTX, text, start, end) and _nl_bsn.is_valid(m.group()):
                    hits.append(_id_hit(text, start, end, "nl_bsn", 0.85, None))
    return hits
