"""ADDRESS beyond the US/UK ``number name suffix`` form of :mod:`agentguard.detect.pii.text`:

* a street-type word before the name, then a house number, ``s/n`` or a kilometre point
  (``C/ La Tablada, 3``, ``Avda. de la Constitución s/n``, ``Via Garibaldi 12``,
  ``ul. Kwiatowa 5/3``, ``Rua Augusta, 274``), with an optional floor/door and postcode + town;
* a house number before a French street type (``33, rue des Lilas``, ``5 AVENUE FOCH``),
  with an optional postcode + town on the same or the next line;
* a compound street name and a house number (``Lindenstr. 12``, ``Am Hafenweg 3/1``,
  ``Storgatan 9``, ``Kerkstraat 14``), with an optional postcode + town;
* the rest of the line after an address label (``Domicilio:``, ``Dirección:``,
  ``Anschrift:``, ``Home address:``) when it holds a house number;
* US forms without a suffix: a street and a ``City, ST 12345`` ending (``1111 Broadway,
  Suite 15, Oakland, CA 94607``), highways and routes (``3313 Hwy. 31``, ``197 State Route
  690``), grid addresses (``239 South 500 East``) and rural routes (``RR 1 Box 34``).

The street-type, compound and label forms start where :data:`STREET_PROBE` fires; the US
forms start at a numeric island. A lower-case street word with a lower-case name (``la
calle principal tiene 3 carriles``) needs a postcode after it or an address word nearby.
"""

from __future__ import annotations

import re

from agentguard.detect.pii.common import (
    COMPOUND_ENDS,
    LABEL_WORDS,
    NUMBER_FIRST_TYPES,
    STREET_PROBE,
    TYPE_WORDS,
    Hit,
    clamp,
    near,
    word_set,
    words_re,
)
from agentguard.detect.prepass import PreparedText

_UP = "A-ZÀ-ÖØ-Þ"
_LO = "a-zß-öø-ÿ"
_W = rf"[{_UP}{_LO}][{_UP}{_LO}'’´`.-]*"
_CAP_W = rf"[{_UP}][{_UP}{_LO}'’´`.-]*"
_TOWN = rf"{_W}(?:[ \t]+{_CAP_W}|[ \t]+(?:de|del|la|le|les|sur|am|an|im|bei)[ \t]+{_W}){{0,3}}"
#: postcode + town after a street: 28036 Madrid, E-28046 Madrid, D-12345 Berlin, 123 45 Umeå
_PC_TOWN = (
    rf"(?P<tail>(?:[ \t]*[,.]?[ \t]*-?[ \t]*\n?[ \t]*)(?:[A-Z]{{1,2}}-)?"
    rf"(?:[0-9]{{5}}|[0-9]{{3}}[ \t][0-9]{{2}}|[0-9]{{4}}[ \t]?[A-Z]{{2}}|[0-9]{{2}}-[0-9]{{3}})"
    rf"\.?,?[ \t]+{_TOWN})?"
)


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_TYPE_WORD = rf"(?i:(?:{_alt(TYPE_WORDS)})\.?|c/)"
_FR_TYPES = _alt(NUMBER_FIRST_TYPES)
_NAME = rf"(?P<name>{_W}(?:[ \t]+{_W}){{0,6}}?)"
_HOUSE = (
    r"(?P<num>(?:n[º°o]\.?[ \t]*)?[0-9]{1,4}[A-Za-zªº]?(?:[ \t]?[-/][ \t]?[0-9]{1,4}[A-Za-z]?)?"
    r"|[sS]/[nN]\b|[kK]m\.?[ \t]*[0-9]{1,3}(?:[.,][0-9]{1,3})?)(?![0-9])"
)
_DOOR = (
    r"(?:(?:,[ \t]*|[ \t]+|[ \t]*-[ \t]*)(?:[0-9]{1,2}(?![0-9])[ºª°]?(?:[ \t]?[A-Za-z](?!\w))?"
    r"|[A-Z](?!\w)|(?i:bajo|piso|planta|puerta|pta\.|esc\.|izq(?:da|uierda)?\.?|dcha\.?|derecha"
    r"|izda\.?|apt\.?|apto\.?|int\.|interno|scala|lok\.|m\.)(?:[ \t]*[0-9A-Z]{1,3}(?!\w))?)){0,3}"
)
_TYPE_FIRST_RE = re.compile(
    rf"(?<![\w/.])(?P<type>{_TYPE_WORD})(?:[ \t]+|(?<=/)[ \t]*){_NAME}"
    rf"(?:[ \t]*,[ \t]*|[ \t]+){_HOUSE}{_DOOR}{_PC_TOWN}"
)
_NUM_FIRST_RE = re.compile(
    rf"(?<![\w,.])(?P<num>[0-9]{{1,4}}(?:[A-Da-d]|[ \t]?(?i:bis|ter))?),?[ \t]*\n?[ \t]*"
    rf"(?P<type>(?i:{_FR_TYPES}))[ \t]+(?P<name>{_W}(?:[ \t]+{_W}){{0,5}})(?![\w'’-])"
    rf"{_PC_TOWN}"
)
_COMPOUND_RE = re.compile(
    rf"(?P<name>[{_UP}{_LO}][{_UP}{_LO}'’-]*?"
    rf"(?i:{_alt(COMPOUND_ENDS)}))[ \t]?"
    r"(?P<num>[0-9]{1,4}[A-Za-z]?(?:[ \t]?[-/][ \t]?[0-9]{1,4}[A-Za-z]?)?)"
    rf"(?![0-9]|[.,][0-9]){_PC_TOWN}"
)
_LABEL_RE = re.compile(
    rf"(?<![\w])(?P<label>(?i:{_alt(LABEL_WORDS)}))[ \t]*:[ \t]*"
    r"(?P<value>[^\n]{3,90}?)[ \t]*(?=\.?[ \t]*(?:\n|$)|\.[ \t]|;)"
)
_LABEL_VALUE_OK = re.compile(
    rf"(?=.*(?<![0-9.,:])[0-9]{{1,5}}(?![0-9.:])|.*\b[sS]/[nN]\b)(?=.*[{_UP}{_LO}]{{3}})"
)
#: only these may stand before an English "address:" label
_EN_ADDRESS_KIND = re.compile(
    r"(?i:home|postal|mailing|street|billing|shipping|delivery|residential|business|office"
    r"|current|permanent|new|old|my|his|her|their|your)[ \t]+\Z"
)
_STOP = word_set(
    "the a an of to in on at for with and or is are was were be by from it this that these "
    "those your my our their his her its as than then not no yes we you they he she i"
)
_ADDR_NEAR = words_re(
    "address", "domicilio", "dirección", "direccion", "vive en", "reside en", "adresse",
    "anschrift", "wohnhaft", "indirizzo", "endereço", "live at", "lives at", "ship to",
)  # fmt: skip
_CONNECTOR = word_set(
    "de del dels della dei degli di da do dos das la las los le les el y i e du des van von "
    "der den het d' l' sur sous san santa sant st st. sta. s. da"
)
#: English words that end like a German "-ring" street but are not one
_NOT_RING = word_set("spring string bring ring offspring wring")


def _hit(text: str, start: int, end: int, score: float, subtype: str) -> Hit:
    """An ADDRESS hit without the punctuation that closes its sentence."""
    while end > start and text[end - 1] in " \t\n.,;:":
        end -= 1
    return Hit("ADDRESS", start, end, clamp(score), subtype)


def _first_content_is_lower(name: str) -> bool:
    for word in name.split():
        if word.lower() not in _CONNECTOR:
            return word[:1].islower()
    return True


def _name_ok(name: str) -> bool:
    words = name.lower().split()
    return bool(words) and not any(w in _STOP for w in words)


def scan_street_words(prepared: PreparedText) -> list[Hit]:
    """ADDRESS hits that start at a street word, a compound street name or a label."""
    text = prepared.text
    hits: list[Hit] = []
    starts = prepared.starts(STREET_PROBE)
    if starts is None:  # the engine does not scan: every place a needle could fire
        starts = [m.start() for m in _ANY_START.finditer(text)]
    done = -1
    for pos in starts:
        if pos < done:
            continue
        hit = _at(text, pos)
        if hit is not None:
            hits.append(hit)
            done = hit.end
    return hits


_STARTS = (*TYPE_WORDS, *LABEL_WORDS, *NUMBER_FIRST_TYPES, "c/")
_ANY_START = re.compile(
    rf"(?<![A-Za-z0-9\xaa-\xff])(?i:{_alt(_STARTS)})"
    rf"|(?<=[{_UP}{_LO}-]{{2}})(?i:{_alt(COMPOUND_ENDS)})[ \t]?[0-9]"
)
#: what a probe position at a word's start may begin with
_WORD_STARTS = tuple(set(_STARTS))
_NUM_BEFORE = re.compile(
    r"(?<![\w,.])[0-9]{1,4}(?:[A-Da-d]|[ \t]?(?i:bis|ter))?,?[ \t]*\n?[ \t]*\Z"
)


def _at(text: str, pos: int) -> Hit | None:
    """The hit around a probe position: the start of a street word, a French street type
    or a label, or the ending of a compound street name (inside a word)."""
    if pos >= len(text):
        return None
    if pos and (text[pos - 1].isalpha() or text[pos - 1] == "-"):
        return _compound_at(text, pos)
    if not text[pos : pos + 14].lower().startswith(_WORD_STARTS):
        return None
    m = _NUM_BEFORE.search(text, max(0, pos - 14), pos)
    if m is not None:
        m2 = _NUM_FIRST_RE.match(text, m.start())
        hit = _num_first_hit(text, m2) if m2 is not None else None
        if hit is not None:
            return hit
    m = _TYPE_FIRST_RE.match(text, pos)
    if m is not None:
        hit = _type_first_hit(text, m)
        if hit is not None:
            return hit
    m = _LABEL_RE.match(text, pos)
    return _label_hit(text, m) if m is not None else None


def _type_first_hit(text: str, m: re.Match[str]) -> Hit | None:
    name, kind = m.group("name"), m.group("type")
    if not _name_ok(name):
        return None
    tail = m.group("tail") is not None
    lower = kind[:1].islower() and _first_content_is_lower(name)
    if lower and not tail and not near(_ADDR_NEAR, text, m.start(), m.end(), 48, 0):
        return None  # "la calle principal tiene 3 carriles"
    score = 0.7 + (0.15 if tail else 0.0)
    return _hit(text, m.start(), m.end(), clamp(score), "street")


def _num_first_hit(text: str, m: re.Match[str]) -> Hit | None:
    name, kind = m.group("name"), m.group("type")
    tail = m.group("tail") is not None
    if not _name_ok(name) or (not tail and _first_content_is_lower(name)):
        return None  # "3 place settings", "12 rue de la paix" only with its postcode
    if not tail and kind.lower() in ("place", "route", "cours") and kind[:1].islower():
        return None
    return _hit(text, m.start(), m.end(), 0.85 if tail else 0.7, "street")


def _label_hit(text: str, m: re.Match[str]) -> Hit | None:
    value = m.group("value")
    if "@" in value or "://" in value or _LABEL_VALUE_OK.match(value) is None:
        return None
    label = m.group("label").lower()
    if label == "address" and _EN_ADDRESS_KIND.search(text, max(0, m.start() - 16), m.start()):
        pass
    elif label in ("address", "adress") and m.start() > 0 and text[m.start() - 1] not in "\n":
        return None  # "IP address: …", "MAC address: …"
    start = m.start("value")
    return _hit(text, start, m.end("value"), 0.8, "labelled")


def _compound_at(text: str, at: int) -> Hit | None:
    # ``at`` is inside a word (the ending of a compound name): go back to where it starts
    start = at
    while start > 0 and at - start < 48 and (text[start - 1].isalpha() or text[start - 1] in "-'"):
        start -= 1
    if start and text[start - 1].isalnum():
        return None
    m = _COMPOUND_RE.match(text, start)
    if m is None:
        m = _COMPOUND_RE.match(text, at) if at != start else None
        if m is None:
            return None
    name = m.group("name")
    last = name.split()[-1]
    low = last.lower()
    tail = m.group("tail") is not None
    english = low in _NOT_RING or low[-5:-4] in "aeiou" or not last[:1].isupper()
    if low.endswith("ring") and not tail and english:
        return None  # "during 5", "string 2"
    if not tail and last[:1].islower() and "-" not in last:
        return None  # a lower-case compound needs its postcode ("faustweg 2\n12289 hildburghausen")
    if not _name_ok(name):
        return None
    return _hit(text, m.start(), m.end(), 0.85 if tail else 0.7, "street")


# ---------------------------------------------------------------- US forms without a suffix
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV"
    "|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_DIR = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST|WEST|So)\.?"
_US_WORD = r"(?:[A-Z][A-Za-z'’.-]*|[0-9]{1,3}(?:st|nd|rd|th|ST|ND|RD|TH))"
_US_UNIT = (
    r"(?:,?[ \t]+(?:Suite|SUITE|Ste|STE|Apt|APT|Unit|UNIT|Fl|FL|Flr|FLR|Floor|FLOOR|Room|Rm|#)"
    r"\.?[ \t]*#?[A-Za-z0-9-]{1,6}(?!\w)|,[ \t]*[0-9]{1,5}(?=,))?"
)
_US_CITY = r"[A-Z][A-Za-z.'-]+(?:[ \t]+[A-Z][A-Za-z.'-]+){0,2}"
_US_TAIL = rf",?[ \t]+{_US_CITY},?[ \t]+(?:{_STATES})[ \t]+[0-9]{{5}}(?:-[0-9]{{4}})?(?![0-9])"
_HOUSE_NO = r"(?<![\w./,-])[0-9]{1,6}[A-Za-z]?(?:[ \t]1/2)?"
_US_RES = (
    # "1111 Broadway, Suite 1515, Oakland, CA 94607": a name and a City, ST ZIP ending
    re.compile(
        rf"{_HOUSE_NO}[ \t]+(?:{_DIR}[ \t]+)?{_US_WORD}(?:[ \t]+{_US_WORD}){{0,3}}?"
        rf",?{_US_UNIT}{_US_TAIL}"
    ),
    # highways and routes: "3313 Hwy. 31", "830 NW LOOP 410", "197 STATE ROUTE 690"
    re.compile(
        rf"{_HOUSE_NO}[ \t]+(?:{_DIR}[ \t]+)?(?:(?i:state|county|old|us|u\.s\.|farm|fm|"
        rf"ranch)[ \t]+|(?:{_STATES})[ \t]+)?(?i:highway|hwy|route|rte|rt|loop|road|rd|spur)"
        r"\.?[ \t]+#?[ \t]?[0-9]{1,4}[A-Za-z]?(?![\w.-]|\.[0-9])"
    ),
    # grid: "239 South 500 East", "6641 N 2200 W"
    re.compile(rf"{_HOUSE_NO}[ \t]+{_DIR}[ \t]+[0-9]{{1,5}}[ \t]+{_DIR}(?![\w])"),
)
_RURAL_RE = re.compile(
    r"(?<!\w)(?i:rr|r\.r\.|rural[ \t]+route|hc|star[ \t]+route)[ \t]*#?[0-9]{1,4},?[ \t]+"
    r"(?i:box)[ \t]*#?[ \t]*[0-9]{1,6}(?![0-9])"
)
#: lower-case "261 anderson rd": an abbreviated suffix only, no function words
_US_LOWER_RE = re.compile(
    r"(?<![\w./,-])[0-9]{3,6}[ \t]+(?:[nsew][ \t]+)?(?P<name>[a-z]{2,}(?:[ \t]+[a-z]{2,}){0,2})"
    r"[ \t]+(?:st|rd|ave|blvd|ln|pkwy|hwy|cir)\.?(?!\w)"
)


def scan_us_extra(text: str, s: int, e: int) -> Hit | None:
    """A US address without a suffix starting at the island ``text[s:e]`` (or a rural
    route just before it)."""
    if text[e + 1 : e + 2].isupper():
        for i, rx in enumerate(_US_RES):
            m = rx.match(text, s)
            if m is not None:
                return _hit(text, m.start(), m.end(), 0.85 if i == 0 else 0.7, "street")
        return None
    if e - s < 3:  # lower case: "3313 hwy. 31", "261 anderson rd" (three digits or more)
        return None
    m = _US_RES[1].match(text, s)
    if m is not None:
        return _hit(text, m.start(), m.end(), 0.7, "street")
    m = _US_LOWER_RE.match(text, s)
    if m is not None and _name_ok(m.group("name")):
        return _hit(text, m.start(), m.end(), 0.6, "street")
    return None


def scan_rural_route(text: str, s: int, e: int) -> Hit | None:
    """A rural route whose box number is the island ``text[s:e]`` ("RR 1 Box 3468")."""
    m = _RURAL_RE.search(text, max(0, s - 28), min(len(text), e + 1))
    if m is None or m.end() < e:
        return None
    return _hit(text, m.start(), m.end(), 0.7, "rural_route")
