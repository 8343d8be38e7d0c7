"""Shouting: runs of all-capital words (scores: see :mod:`agentguard.detect.tone.detector`).

A text is mapped to a capital-letter signature with one ``bytes.translate`` (``A`` capital,
``a`` lower case, ``0`` digit), and a pattern anchored on two capitals in a row finds runs of
capital words in it; each run is then judged word by word in Python. Acronyms (a list, and
any capital word without a vowel), single letters and two-letter words other than common
ones do not count; CONSTANT_NAMES and PATH/PARTS are not words (underscores and slashes read
as lower case); lists and tables (“DEBUG, INFO, WARNING”), SQL and PEM armour are not
sentences.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

__all__ = ["shouting_runs"]

#: capital-letter signature of a text: A upper, a lower, 0 digit, ' inside a word (an
#: apostrophe or hyphen), space else; underscores and slashes read as lower case
_SIGNATURE = bytes(
    ord("A") if chr(i).isupper() else ord("a") if chr(i).islower() or chr(i) in "_/\\" else
    ord("0") if chr(i).isdigit() else ord("'") if chr(i) in "'-" else ord(" ")
    for i in range(256)
)  # fmt: skip
_CAPS_WORD = re.compile(r"[A-Z][A-Z'\-]*")
#: what separates the words of a list or a table rather than of a sentence
_LIST_SEPARATOR = re.compile(r",|\n|\t|\|| {2,}")
_ACRONYMS = frozenset(
    """NASA NATO USA API APIS AWS GCP GPU CPU CEO CFO CTO COO CMO CIO FAQ URL URI UTC GMT JSON
    YAML UUID ASAP FYI IBM IOS UEFA FIFA UNESCO UNICEF OPEC ISO IEEE RAM ROM OAUTH AJAX ASCII
    EU UN UK US AI OK TV ID PR HR IT IP UI UX VP AM PM BC AD ETA EDT EST PST CET USD EUR GBP
    AUD CAD JPY INR VAT GDPR HIPAA SOC IPO ETF ESG ROI KPI OKR SEO SAAS B2B B2C NGO FBI CIA
    NSA IRS FDA EPA WHO CDC NHS BBC CNN ESPN NBA NFL NHL MLB NYSE NASDAQ LLC INC LTD PLC CORP
    AMEX VISA DIY RSVP OEM ODM SKU UPC EAN IOU AKA DOB PIN OTP MFA SSO VPN LAN WAN IOT AR VR
    XR AGI LLM GPT NLP OCR ASIC FPGA SOAP REST GRAPHQL SQL NOSQL CRUD MVP POC UEFI BIOS OS
    NAS SAN CDN DNS TLS SSL SSH FTP SFTP HTTP HTTPS SMTP IMAP POP TCP UDP""".split()  # noqa: SIM905
)
#: two-letter words that count as shouted (others, like OK or AI, are taken for acronyms)
_TWO_LETTER_WORDS = frozenset(
    "TO OF IN IS ON AT BE BY DO GO NO SO UP WE MY ME HE OR AN AS IF".split()  # noqa: SIM905
)
_VOWELS = frozenset("AEIOUY")
_LEGAL = re.compile(
    r"WARRANT|LIABILIT|LIABLE|MERCHANTAB|INDEMNI|DISCLAIM|\bAS IS\b|INFRINGE|CONSEQUENTIAL"
)
#: the score of shouting in legal boilerplate (PROVIDED AS IS, WITHOUT WARRANTY …)
LEGAL_SCORE = 0.25
#: capitals that are code, not a voice: SQL (a statement word, then a clause word later on
#: the same line), PEM armour (-----END RSA PRIVATE KEY-----)
_SQL_VERB = re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE|UNION)\b")
_SQL_CLAUSE = re.compile(r"\b(?:FROM|INTO|SET|WHERE|SELECT)\b")


def _is_code(text: str, lo: int, hi: int) -> bool:
    """Whether ``text[lo:hi]`` holds SQL or PEM armour. Only the first statement word of a
    line is followed to a clause word (a later one sees less of the same line), so each
    line is read once however many statement words it has (``UNION UNION UNION …``)."""
    if text.find("-----", lo, hi) >= 0:
        return True
    pos = lo
    while (verb := _SQL_VERB.search(text, pos, hi)) is not None:
        line_end = text.find("\n", verb.end(), hi)
        if line_end < 0:
            line_end = hi
        if _SQL_CLAUSE.search(text, verb.end(), line_end) is not None:
            return True
        pos = line_end + 1
        if pos >= hi:
            break
    return False


@lru_cache(maxsize=16)
def _caps_run(min_words: int) -> re.Pattern[bytes]:
    # on the signature: a capital word of two letters or more, then min_words - 1 more
    # words, separated by spaces and numbers. Starting at two capitals lets re skip through
    # the text for "AA"; single letters (I, A) never count, so a run loses nothing by
    # starting after them. The signature is searched with a space in front, so every word
    # has a character before it; capitals inside a mixed-case word (McDONALD) do not start
    # a run.
    word = rb"A[A']*(?![a0])"
    more = rb"(?:[ 0]{1,6}" + word + rb"){%d,}+" % (min_words - 1)
    return re.compile(rb"AA(?<= AA)[A']*(?![a0])" + more)


def _shouted(word: str) -> bool:
    letters = word.replace("'", "").replace("-", "")
    if len(letters) < 2 or letters in _ACRONYMS or not _VOWELS & set(letters):
        return False
    return len(letters) > 2 or letters in _TWO_LETTER_WORDS


def shouting_runs(text: str, min_words: int) -> list[tuple[int, int, float]]:
    """``(start, end, score)`` of each run of at least ``min_words`` shouted words."""
    signature = b" " + text.encode("ascii", "replace").translate(_SIGNATURE)
    runs = []
    for m in _caps_run(min_words).finditer(signature):
        start, end = m.start() - 1, m.end() - 1
        words = list(_CAPS_WORD.finditer(text, start, end))
        counted = sum(_shouted(w.group()) for w in words)
        if counted < min_words:
            continue
        if _is_code(text, max(0, start - 5), min(len(text), end + 5)):
            continue
        gaps = [text[a.end() : b.start()] for a, b in itertools.pairwise(words)]
        if sum(bool(_LIST_SEPARATOR.search(g)) for g in gaps) * 2 > len(gaps):
            continue  # DEBUG, INFO, WARNING, ERROR: a list of names, not a sentence
        bang = "!" in text[start : end + 3]
        score = round(min(0.9, 0.5 + 0.05 * (counted - min_words) + (0.1 if bang else 0.0)), 3)
        if _LEGAL.search(text, start, end):
            score = LEGAL_SCORE
        runs.append((start, end, score))
    return runs
