"""PII detection: ``PIIDetector`` (name ``"pii"``): cheap candidates, validators, context.

Usage::

    PIIDetector(region="US", min_score=0.3, types=None, phone_regions=None,
                learned_names=True).detect(text)

``region`` is the first region tried for phone numbers written without ``+``,
``phone_regions`` the others (default none; :data:`COMMON_PHONE_REGIONS` is a list of
thirteen); ``+CC`` numbers are read from their country code whatever the list; ``min_score`` drops
weaker findings; ``types`` restricts the search to some of :data:`PII_TYPES`;
``learned_names=False`` leaves the PERSON tagger out (about twice the speed on prose, names
then found only next to cues).

Types (``Finding.type``) and how they are found (``Finding.subtype`` in brackets):

* ``EMAIL`` — ``local@domain.tld`` around each ``@``, letters of any script included
  (``josé@bücher.de``); ``icon@2x.png`` is skipped.
* ``PHONE`` [the number's region, e.g. ``us``, ``gb``] — ``phonenumbers.PhoneNumberMatcher``
  (leniency VALID, ``region`` then ``phone_regions``), run only on windows around numeric
  islands holding >= 7 digits that no stronger type already claimed (see
  :mod:`agentguard.detect.pii.phone`). Right after a phone word ("Tel.", "Tfno", "Handy" …)
  a national number is also read in ``CUE_PHONE_REGIONS``, and a formatted trunk-0 number
  in ``TRUNK_PHONE_REGIONS`` when its grouping is that country's own. An unformatted digit
  run without a context word ("call", "phone", "mobile" …) scores 0.25; "order",
  "ticket", "invoice" … lower the score.
* ``CREDIT_CARD`` [brand] — 13–19 digits, contiguous (a CSV field included) or grouped by
  spaces/dashes, Luhn-valid (a valid French NIR is not a card);
  a known IIN (brand prefix + length) raises the score; ISBN-13s and one-digit runs are not
  cards; "order"/"invoice"/"tracking" nearby lowers it.
* ``IBAN`` [country] — ``stdnum.iban`` (country format + mod-97).
* ``US_SSN`` — ``AAA-GG-SSSS`` / ``AAA GG SSSS`` with the area/group/serial rules (no 000,
  666, 9xx, 00, 0000); a bare 9-digit run only next to "SSN"/"social security".
* ``NATIONAL_ID`` [``es_dni``, ``es_nie``, ``es_nass``, ``it_codice_fiscale``, ``fr_nir``,
  ``de_idnr``, ``nl_bsn``, ``se_personnummer``, ``uk_nino``] — stdnum checksums (``de_idnr``
  and ``nl_bsn`` also need a context word); ``uk_nino`` uses the HMRC prefix rules and
  ``es_nass`` its mod-97 check (see :mod:`agentguard.detect.pii.ids`), as stdnum has neither.
* ``IP_ADDRESS`` [``v4``, ``v6``] — validated by ``ipaddress``. Version strings
  (``version 1.2.3.4``, ``v1.2.3.4``, ``1.2.3.4-beta``, "upgraded to 3.2.1.0") score 0.1.
* ``DATE_OF_BIRTH`` — a valid date (1900 to this year) with a birth cue ("born", "DOB",
  "date of birth", "birthday" …) up to 48 chars before it or 32 after it.
* ``ADDRESS`` [``street``, ``uk_postcode``, ``po_box``, ``labelled``, ``rural_route``] —
  house number + street name + suffix (Street/St/Avenue/Rd/Lane …) with optional unit,
  city, state + ZIP or UK postcode; US highways, routes, grid and suffix-less addresses
  ending in ", City, ST ZIP"; continental forms (``C/ …, 3``, ``33, rue …``, ``…straße 5``)
  and compound street names; the line after an address label (``Dirección:``); UK
  postcodes alone (known area codes); PO boxes (see :mod:`agentguard.detect.pii.address`).
* ``PERSON`` [``learned`` when only the tagger found it] — see
  :mod:`agentguard.detect.pii.names` (cues, a built-in first-name list, and the small
  learned tagger of :mod:`agentguard.models.person` shipped in the wheel; no network).

Scores are in [0, 1]: the validator sets a base, context words ("card", "IBAN", "call" …)
raise it, negative context ("order", "invoice" …) lowers it. Well-known test/example values
(``4111 1111 1111 1111``, ``123-45-6789``, ``GB82 WEST …``, ``@example.com`` addresses,
``555-01xx`` and Ofcom drama numbers, documentation IP ranges, ``123 Main St``) are still
reported, with a score of at most 0.5. Overlapping findings are resolved by type priority
(checksummed types first), then score, then length, so the output never overlaps.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import sys
from collections.abc import Callable, Iterable

import phonenumbers

from agentguard.detect import prepass
from agentguard.detect.base import Finding
from agentguard.detect.pii.common import (
    EXAMPLE_SCORE,
    ISLAND_PROBE,
    Hit,
    Span,
    clamp,
    digits_of,
    find_islands,
    islands_at,
    near,
    word_set,
    words_re,
)
from agentguard.detect.pii.ids import fr_nir_valid, scan_iban, scan_national_ids, scan_ssn
from agentguard.detect.pii.names import PROBES as _NAME_PROBES
from agentguard.detect.pii.names import learned_person, scan_person, scan_person_rules
from agentguard.detect.pii.phone import COMMON_PHONE_REGIONS, DEFAULT_PHONE_REGIONS, scan_phone
from agentguard.detect.pii.text import scan_address, scan_dob
from agentguard.detect.prepass import PreparedText, prepare, search_at
from agentguard.models.person import CANDIDATE_RE

__all__ = ["COMMON_PHONE_REGIONS", "DEFAULT_PHONE_REGIONS", "PII_TYPES", "PIIDetector"]

PII_TYPES: frozenset[str] = frozenset(
    {
        "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "NATIONAL_ID", "IP_ADDRESS",
        "DATE_OF_BIRTH", "ADDRESS", "PERSON",
    }
)  # fmt: skip
#: overlap resolution: higher wins
_PRIORITY = {
    "EMAIL": 9, "IBAN": 9, "CREDIT_CARD": 8, "US_SSN": 7, "NATIONAL_ID": 7, "IP_ADDRESS": 6,
    "DATE_OF_BIRTH": 5, "PHONE": 5, "ADDRESS": 4, "PERSON": 3,
}  # fmt: skip

# ---------------------------------------------------------------- EMAIL
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
#: labels of letters and digits in any script (``bücher.de``, RFC 6531 addresses), hyphens
#: inside; the last label (the TLD) letters only
_DOMAIN_RE = re.compile(r"(?:[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?\.)+[^\W\d_]{2,24}\b")
_FILE_EXT = word_set("png jpg jpeg gif svg webp ico bmp js css py txt md pdf")
_EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net", ".example", ".test", ".invalid")
_AT = prepass.literal("@")


def _local_char(ch: str) -> bool:
    """A character of an address's local part: ASCII ones, and letters or digits of any
    script (``josé``; internationalised addresses, RFC 6531)."""
    return ch in _LOCAL_CHARS or (ch > "\x7f" and ch.isalnum())


def _scan_email(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    for at in prepared.positions(_AT):
        start = at
        while start > 0 and at - start < 64 and _local_char(text[start - 1]):
            start -= 1
        while start < at and text[start] in ".-":
            start += 1
        dom = _DOMAIN_RE.match(text, at + 1)
        if dom is not None and start < at and text[at - 1] != ".":
            domain = dom.group().lower()
            if domain.rsplit(".", 1)[1] not in _FILE_EXT:
                example = domain.endswith(_EXAMPLE_DOMAINS) or domain == "localhost"
                hits.append(Hit("EMAIL", start, dom.end(), EXAMPLE_SCORE if example else 0.95))
    return hits


# ---------------------------------------------------------------- CREDIT_CARD
#: a run of 13-19 digits may touch commas (a CSV field: no thousands grouping or plausible
#: decimal has that many digits in a row); grouped forms may not (``1,234 5678 …``)
_CARD_RE = re.compile(
    r"(?<![0-9./-])(?<![0-9],)[0-9]{13,19}(?![0-9]|[./-][0-9])"
    r"|(?<![0-9.,/-])(?:[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}(?:\1[0-9]{1,3})?"
    r"|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5})(?![0-9]|[.,/-][0-9])"
)
_CARD_CTX = words_re(
    "card", "credit", "debit", "visa", "mastercard", "amex", "american express", "discover",
    "payment", "pay", "cc", "billing", "charge", "charged", "pan", "cardholder",
)  # fmt: skip
_CARD_NEG = words_re(
    "order", "invoice", "tracking", "ref", "reference", "isbn", "timestamp", "epoch", "serial",
    "sku", "barcode", "confirmation", "ticket", "id", "imei", "account number",
)  # fmt: skip
_CARD_EXAMPLES = word_set("""
    4111111111111111 4242424242424242 4012888888881881 4000056655665556 5555555555554444
    5105105105105100 5200828282828210 378282246310005 371449635398431 6011111111111117
    6011000990139424 3530111333300000 3566002020360505 30569309025904 38520000023237
    4222222222222 4000000000000002 4000000000000077""")


def _card_brand(number: str) -> str | None:
    n, p2, p4, p6 = len(number), int(number[:2]), int(number[:4]), int(number[:6])
    if number[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 2221 <= p4 <= 2720) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (number.startswith("6011") or p2 == 65 or 644 <= p6 // 1000 <= 649) and n in (16, 19):
        return "discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (p2 in (36, 38, 39) or 300 <= p4 // 10 <= 305) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    if (p2 == 50 or 56 <= p2 <= 69) and 12 <= n <= 19:
        return "maestro"
    return None


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _isbn13_ok(number: str) -> bool:
    return (
        len(number) == 13
        and number[:3] in ("978", "979")
        and sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(number)) % 10 == 0
    )


def _scan_card(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    for s, e, digits in islands:
        if digits >= 13:
            for m in _CARD_RE.finditer(text, s, e + 2):
                hit = _card_hit(text, m)
                if hit is not None:
                    hits.append(hit)
    return hits


def _card_hit(text: str, m: re.Match[str]) -> Hit | None:
    start, value = m.start(), m.group()
    number = digits_of(value)
    sep = m.group(1)
    if sep and value.count(sep) == 4 and luhn_ok(digits_of(value[: value.rfind(sep)])):
        value = value[: value.rfind(sep)]  # "4-4-4-4 CVV": the 16 digits are the card
        number = digits_of(value)
    elif not (13 <= len(number) <= 19 and luhn_ok(number)):
        return None
    if len(set(number)) == 1 or _isbn13_ok(number):
        return None
    end = start + len(value)
    brand = _card_brand(number)
    if brand is None and fr_nir_valid(number):
        return None  # a French NIR (15 digits, mod 97) that happens to pass Luhn
    score = (0.75 if brand else 0.5) + (0.1 if not value.isdigit() else 0.0)
    if near(_CARD_CTX, text, start, end, 48, 24):
        score += 0.15
    elif near(_CARD_NEG, text, start, end, 32, 0):
        score -= 0.25
    if number in _CARD_EXAMPLES:
        score = min(score, EXAMPLE_SCORE)
    return Hit("CREDIT_CARD", start, end, clamp(score), brand)


# ---------------------------------------------------------------- IP_ADDRESS
_V4_RE = re.compile(r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
_V6_HINT_RE = re.compile(r"::|:[0-9A-Fa-f]{1,4}:")
_V6_TOKEN_RE = re.compile(
    r"[0-9A-Fa-f:]{2,39}(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?(?:%[0-9A-Za-z]+)?"
)
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_VERSION_BEFORE = re.compile(
    r"(?:(?<![A-Za-z])(?:version|ver\.?|v|release|build|rev|firmware)|==|>=|<=|~=)\s*\Z",
    re.IGNORECASE,
)
_VERSION_AFTER = re.compile(r"[-+~](?:alpha|beta|rc|dev|pre|snapshot|build|post)|-[0-9A-Za-z]")
_VERSION_CTX = words_re(
    "upgrade", "upgraded", "downgrade", "downgraded", "update", "updated", "release", "patch",
    "version", "build", "firmware", "installed", "changelog",
)  # fmt: skip
_IP_WORD = words_re("ip", "ipv4", "ipv6", "ip address", "host", "server")
_IP_CTX = words_re(
    "ip", "ipv4", "ipv6", "address", "server", "host", "connect", "connected", "ping", "ssh",
    "dns", "gateway", "subnet", "router", "client", "login", "logged", "from", "firewall",
)  # fmt: skip
_V6_PROBE = prepass.probe(
    prepass.Literal("::"),
    *(prepass.Pattern(f":[0-9A-Fa-f]{{{n}}}:", width=n + 2) for n in range(1, 5)),
)
_IP_DOC_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _ip_hit(
    text: str, start: int, end: int, addr: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> Hit:
    if (
        _VERSION_BEFORE.search(text, max(0, start - 12), start)
        or _VERSION_AFTER.match(text, end)
        or (near(_VERSION_CTX, text, start, end, 40, 0) and not near(_IP_WORD, text, start, end))
    ):
        return Hit("IP_ADDRESS", start, end, 0.1, f"v{addr.version}")
    public = not (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_unspecified)
    score = (0.75 if public else 0.6) + (0.2 if near(_IP_CTX, text, start, end, 32, 16) else 0.0)
    if any(addr in net for net in _IP_DOC_NETS):
        score = EXAMPLE_SCORE
    return Hit("IP_ADDRESS", start, end, clamp(score), f"v{addr.version}")


def _scan_ip(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    text = prepared.text
    hits: list[Hit] = []
    for s, e, _ in islands:
        if e - s < 7 or text.count(".", s, e) < 3:
            continue
        for m in _V4_RE.finditer(text, s, e + 2):
            try:
                v4 = ipaddress.IPv4Address(m.group())
            except ValueError:
                continue
            hits.append(_ip_hit(text, m.start(), m.end(), v4))
    pos = 0
    starts = prepared.starts(_V6_PROBE)
    while (hint := search_at(_V6_HINT_RE, text, pos, starts)) is not None:
        start = hint.start()
        while start > 0 and hint.start() - start < 40 and text[start - 1] in _HEX_COLON:
            start -= 1
        tok = _V6_TOKEN_RE.match(text, start)
        pos = max(hint.end(), tok.end() if tok else 0)
        if tok is None:
            continue
        value = tok.group().rstrip(":") if not tok.group().endswith("::") else tok.group()
        end = start + len(value)
        before, after = text[start - 1 : start], text[end : end + 1]
        if (before and (before.isalnum() or before in ":._")) or (after and after.isalnum()):
            continue
        if value.count(":") < 2 or not any(c.isdigit() for c in value):
            continue
        try:
            v6 = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        hits.append(_ip_hit(text, start, end, v6))
    return hits


# ---------------------------------------------------------------- the detector
#: every scanner starts where one of these fires
_PROBES = frozenset({ISLAND_PROBE, _AT, _V6_PROBE, *_NAME_PROBES})

_Scanner = Callable[[PreparedText, list[Span]], list[Hit]]
#: (type, scanner, whether it looks only at islands of 4 characters or more)
_SCANNERS: tuple[tuple[str, _Scanner, bool], ...] = (
    ("EMAIL", _scan_email, False),
    ("PERSON", scan_person, False),
    ("CREDIT_CARD", _scan_card, True),
    ("IBAN", scan_iban, False),
    ("US_SSN", scan_ssn, True),
    ("NATIONAL_ID", scan_national_ids, True),
    ("IP_ADDRESS", _scan_ip, True),
    ("DATE_OF_BIRTH", scan_dob, True),
    ("ADDRESS", scan_address, False),
)


class PIIDetector:
    """Personal data in free text; ``detect`` returns disjoint findings sorted by offset.

    See the module docstring for the types, scores and the meaning of the arguments.
    """

    name = "pii"

    def __init__(
        self,
        *,
        region: str = "US",
        min_score: float = 0.3,
        types: Iterable[str] | None = None,
        phone_regions: Iterable[str] | None = None,
        learned_names: bool = True,
    ) -> None:
        region = region.upper()
        regions = tuple(r.upper() for r in (phone_regions or DEFAULT_PHONE_REGIONS))
        for r in (region, *regions):
            if r not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"unknown phone region {r!r}")
        wanted = PII_TYPES if types is None else frozenset(types)
        unknown = wanted - PII_TYPES
        if unknown:
            raise ValueError(f"unknown PII types: {', '.join(sorted(unknown))}")
        self.region = region
        self.phone_regions = regions
        self.min_score = min_score
        self.types: frozenset[str] = wanted
        self.learned_names = learned_names
        self._scanners = [
            (scan_person_rules if scan is scan_person and not learned_names else scan, wide)
            for kind, scan, wide in _SCANNERS
            if kind in wanted
        ]

    def detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        return self.detect_prepared(prepare(text))

    def detect_prepared(self, prepared: PreparedText) -> list[Finding]:
        """:meth:`detect` on a text prepared once for several families."""
        text = prepared.text
        if not text:
            return []
        if not prepared.any_fires(_PROBES):
            # no rule can fire, but the learned PERSON tagger reads capitalised words (which
            # no probe marks): only a text where it has no candidate at all is done (one C
            # scan; not "no upper case": its candidates also start at a few lower-case
            # letters, and the two pre-pass engines must agree)
            if (
                "PERSON" not in self.types
                or not self.learned_names
                or CANDIDATE_RE.search(text) is None
            ):
                return []
            return self._findings(learned_person(text))
        starts = prepared.starts(ISLAND_PROBE)
        islands = find_islands(text) if starts is None else islands_at(text, starts)
        # most islands are one to three characters ("0", "x[2]"): only IBAN and ADDRESS
        # look at those, every other scanner starts at 4 characters or 6 digits
        wide = [span for span in islands if span[1] - span[0] >= 4]
        hits = [h for scan, w in self._scanners for h in scan(prepared, wide if w else islands)]
        if "PHONE" in self.types and wide:
            # numbers already claimed by a stronger type never reach the (slow) phone matcher
            claimed = sorted(
                (h.start, h.end) for h in hits if _PRIORITY[h.type] > _PRIORITY["PHONE"]
            )
            free = [span for span in wide if not _covered(claimed, span)]
            hits.extend(scan_phone(text, free, self.region, self.phone_regions))
        return self._findings(hits)

    def _findings(self, hits: list[Hit]) -> list[Finding]:
        kept = _resolve(h for h in hits if h.score >= self.min_score)
        return [Finding(h.type, h.start, h.end, h.score, self.name, h.subtype) for h in kept]


def _covered(claimed: list[tuple[int, int]], span: Span) -> bool:
    i = bisect.bisect_right(claimed, (span[0], sys.maxsize)) - 1
    return i >= 0 and claimed[i][0] <= span[0] and claimed[i][1] >= span[1]


def _resolve(hits: Iterable[Hit]) -> list[Hit]:
    """Non-overlapping hits, preferring type priority, then score, then length."""
    order = sorted(hits, key=lambda h: (-_PRIORITY[h.type], -h.score, h.start - h.end, h.start))
    starts: list[int] = []
    kept: list[Hit] = []
    for hit in order:
        i = bisect.bisect_right(starts, hit.start)
        if i > 0 and kept[i - 1].end > hit.start:
            continue
        if i < len(kept) and kept[i].start < hit.end:
            continue
        starts.insert(i, hit.start)
        kept.insert(i, hit)
    return kept
