"""PERSON: names where the context makes them likely, and names a small learned tagger finds.

Two rules:

* a cue right before a capitalised name: an honorific (``Mr.``, ``Ms``, ``Dr.`` …),
  ``my name is``, ``Dear``, a sign-off (``Sincerely,``), a role (``customer``, ``patient``,
  ``tenant`` …), ``Name:`` — score 0.8;
* a first name from the built-in list below followed by a capitalised surname (optionally
  a middle initial) — score 0.65, 0.8 with a cue. First names that are also common words
  (Will, May, Grace, Mark …) are left out of the list, so they need a cue.

And the learned tagger (:mod:`agentguard.models.person`, shipped in the wheel, pure
Python): each run of capitalised words is a candidate, each word gets a probability, and
neighbouring words at or above the model's threshold form a name, reported with subtype
``learned`` and a score from 0.5 (probability at the threshold) to 0.95 (probability 1),
so the default ``min_score`` 0.3 and a 0.5 cut-off keep the same findings. A rule's name
and an overlapping learned one become one finding: the rule's, with the higher score.
"""

from __future__ import annotations

import re

from agentguard.detect import prepass
from agentguard.detect.pii.common import Hit, Span, word_set
from agentguard.detect.prepass import WS, Pattern, PreparedText, matches_at
from agentguard.models.person import PersonModel

FIRST_NAMES: frozenset[str] = word_set("""
    Aaron Abdul Abigail Adam Adrian Ahmed Aisha Alan Albert Alejandro Alex Alexander Alexandra
    Alexis Alfred Ali Alice Alicia Alison Allison Amanda Amber Amelia Amir Amy Ana Andrea
    Andrew Angela Anita Ann Anna Anne Anthony Antonio Arjun Arthur Ashley Audrey Barbara
    Benjamin Bernard Beth Betty Beverly Brandon Brenda Brian Bruce Bryan Carl Carla Carlos
    Carmen Carol Caroline Catherine Charles Charlotte Chen Cheryl Chloe Christina Christine
    Christopher Cindy Claire Clara Claudia Connor Craig Cynthia Daniel Daniela David Deborah
    Debra Dennis Diana Diane Diego Dmitri Donald Donna Doris Dorothy Douglas Dylan Edward
    Elena Elijah Elizabeth Ella Ellen Emily Emma Eric Erica Erin Ethan Eugene Eva Evelyn
    Fatima Felix Fernando Fiona Francesca Francisco Gabriel Gabriela Gary George Gerald
    Giovanni Gloria Gregory Hannah Hans Harold Harry Heather Helen Henry Hiroshi Hugo Ian
    Igor Isabel Isabella Ivan Jacob James Jamie Janet Janice Jason Javier Jeffrey Jennifer
    Jeremy Jerry Jessica Joan Joanna Joe John Jonathan Jorge Jose José Joseph Joshua Joyce
    Juan Judith Julia Julie Justin Karen Katherine Kathleen Kathryn Kelly Kenneth Kevin
    Kimberly Klaus Kyle Larry Laura Lauren Lawrence Leah Liam Linda Lisa Lucas Lucia Luis
    Luke Lydia Madison Maria Marco Margaret Maria Marie Marilyn Marina Mario Martha Martin
    Mary Matthew Megan Melissa Michael Michelle Miguel Mohammed Muhammad Nancy Natalie Nathan
    Nicholas Nicole Noah Nora Olga Olivia Oscar Pablo Pamela Patricia Patrick Paul Paula
    Pedro Peter Philip Pierre Priya Rachel Rahul Ralph Raj Rebecca Richard Robert Roberto
    Roger Ronald Ruth Ryan Samantha Samuel Sandra Sara Sarah Scott Sean Sergei Sharon Shirley
    Simon Sofia Sophia Sophie Stephanie Stephen Steven Susan Tatiana Teresa Theresa Thomas
    Timothy Tyler Valentina Vanessa Victoria Vincent Virginia Walter Wayne Wei William Yuki
    Zachary Zoe
    """)

#: capitalised words that end or break a name (surname position, or after a cue)
_NOT_NAME = word_set("""
    A An And The This That These Those It He She We They I You Our Your Their My His Her Its
    Is Are Was Were Be Been Has Have Had Do Does Did Not No Yes Of In On At To For From With
    By As Or But If So Then Than When Where Who What Which How Why All Any Some Each Every
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April
    May June July August September October November December Street Avenue Road Lane Drive
    Boulevard Court Place Square Inc Ltd LLC Corp Company Bank University College School
    Hospital Team Support Service Services Department Group Customer Customers Manager Office
    Center Centre Sir Madam Madame Colleague Colleagues Friends Friend Valued Hiring Members
    Member Everyone Team Thanks Thank Hello Hi Dear Please Regards Sincerely Best Kind Warm
    Care Number Account Name Card Phone Email Address Code Data Report Project New North
    South East West Texas California London Paris York Airlines Airways Street Foundation
    Institute Club Hotel Restaurant Cafe Store Shop Museum Park Church Labs Lab Health
    Insurance Capital Holdings Partners Systems Software Technologies Ventures Studio Studios
    Agent Admin Administrator User Users Guest Guests Patient Client Staff
    County City State Island Valley Beach Bay River Lake Mountain Hall Bridge Tower Airport
    """)

#: Latin Extended-A (Polish, Czech, Turkish … letters) mixes both cases in one range
_EXT_A = [chr(c) for c in range(0x100, 0x180)]
_UP = "A-ZÀ-ÖØ-Þ" + "".join(c for c in _EXT_A if c.isupper())
_LO = "a-zß-öø-ÿ" + "".join(c for c in _EXT_A if c.islower())
_TOKEN = rf"(?:Mc|Mac|O['’]|D['’])?[{_UP}][{_LO}]+(?:-[{_UP}][{_LO}]+)?"
_NAME_RE = re.compile(rf"{_TOKEN}(?:[ \t]+[{_UP}]\.)?(?:[ \t]+{_TOKEN}){{0,2}}")
_FULL_RE = re.compile(rf"({_TOKEN})[ \t]+(?:[{_UP}]\.?[ \t]+)?({_TOKEN})(?![\w@])")
#: a capitalised word followed by another: the anchor of every name rule but "name is X"
_CAP_RE = re.compile(rf"[{_UP}][{_LO}]*[.,:]?(?=\s{{1,4}}[{_UP}])")
#: "my name is X", "Name: X" (literal prefix "ame" keeps the scan fast; N/n checked after)
_NAME_IS_RE = re.compile(rf"ame(?: is|:)[ \t]+(?={_TOKEN})")
_HONORIFICS = word_set("Mr Mrs Ms Mx Miss Dr Prof Sir Dame Rev Capt")
_GREETINGS = word_set("Dear Hi Hello Hey")
_SIGN_OFFS = word_set("Regards Sincerely Thanks Cheers Best Signed Yours")
_ROLES = word_set(
    "Customer Patient Client Employee Applicant Tenant Cardholder Passenger Attn Name Contact"
)
#: a lower-case word right before a capitalised pair that makes it a name ("customer X Y")
_LOWER_CUES = word_set("""
    customer patient client employee applicant tenant cardholder passenger dear mr mr. ms ms.
    mrs mrs. dr dr. is holder by person signed signed,
    """)
_LOWER_CUE_TWO = {
    "is": "name is",
    "holder": "account holder",
    "by": "signed by",
    "person": "contact person",
}


# Pre-pass probes. A capitalised word only becomes a name when it is a cue or a known first
# name followed by another capitalised word, or when a lower-case cue ends right before it
# ("customer Jane", "my name is Jane"); each needle fires where such a word starts.
_UP_BYTE = r"[A-Z\xc0-\xd6\xd8-\xde]"
_NOT_LOWER_BYTE = r"[^a-z\xdf-\xf6\xf8-\xff]"  # the name is a whole capitalised word
_NAMES_BY_LENGTH: dict[int, list[str]] = {}
for _word in sorted(FIRST_NAMES | _HONORIFICS | _GREETINGS | _ROLES | _SIGN_OFFS):
    _NAMES_BY_LENGTH.setdefault(len(_word), []).append(_word)
_LOWER_CUE_WORDS = [w for w in sorted(_LOWER_CUES) if w.isalpha() and w not in _LOWER_CUE_TWO]
_CUE_PROBE = prepass.probe(
    # one needle per name length, so that the name starts a fixed offset before the end
    *(
        Pattern(f"(?:{'|'.join(map(prepass.escape, words))}){_NOT_LOWER_BYTE}", width=n + 1)
        for n, words in _NAMES_BY_LENGTH.items()
    ),
    Pattern(f"(?i:{'|'.join(_LOWER_CUE_WORDS)}) {_UP_BYTE}", width=1),
    *(
        Pattern(rf"(?i:{two.replace(' ', f'){WS}+(?i:')}) {_UP_BYTE}", width=1)
        for two in _LOWER_CUE_TWO.values()
    ),
)
_NAME_IS_PROBE = prepass.pattern(rf"ame(?: is|:)[ \t]+{_UP_BYTE}")
#: the pre-pass probes every PERSON finding starts at
PROBES = frozenset({_CUE_PROBE, _NAME_IS_PROBE})


def _lower_cued(text: str, start: int) -> bool:
    """Whether a lower-case cue ends right before ``start`` ("customer ", "my name is ")."""
    before = text[max(0, start - 24) : start].lower().split()
    if not before or before[-1] not in _LOWER_CUES:
        return False
    two = _LOWER_CUE_TWO.get(before[-1])
    return two is None or " ".join(before[-2:]) == two


def _trim_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop trailing tokens that are not names; ``None`` when nothing is left."""
    tokens = [t.span() for t in re.finditer(r"\S+", text[start:end])]
    while tokens and text[start + tokens[-1][0] : start + tokens[-1][1]] in _NOT_NAME:
        tokens.pop()
    if not tokens or text[start : start + tokens[0][1]] in _NOT_NAME:
        return None
    return start, start + tokens[-1][1]


def _cued_name(text: str, pos: int, cue: str) -> tuple[int, int] | None:
    name = _NAME_RE.match(text, pos)
    if name is None:
        return None
    span = _trim_name(text, *name.span())
    if span is None:
        return None
    first = text[span[0] : span[1]].split()[0]
    if cue in _GREETINGS and first not in FIRST_NAMES:
        return None  # "Hello World", "Dear Customer"
    return span


def scan_person(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    """PERSON hits of the cue rules and the learned tagger; ``islands`` is unused (the
    scanners share one signature)."""
    return _merge([*scan_person_rules(prepared, islands), *learned_person(prepared.text)])


def scan_person_rules(prepared: PreparedText, islands: list[Span]) -> list[Hit]:
    """PERSON hits of the cue rules and the first-name list alone (no tagger)."""
    text = prepared.text
    hits: list[Hit] = []
    last_end = 0
    # capitalised words the probes skip are neither cues nor first names nor lower-cued:
    # the loop below would drop them without a trace
    for m in matches_at(_CAP_RE, text, prepared.starts(_CUE_PROBE)):
        s, e = m.span()
        word = m.group()
        punct = word[-1] if word[-1] in ".,:" else ""
        if punct:
            word = word[:-1]
        cue = word in _HONORIFICS or word in _GREETINGS or word in _ROLES
        if not cue and punct == "," and word in _SIGN_OFFS:
            cue = True
        first = not cue and word in FIRST_NAMES
        if not (cue or first) and not (
            s >= 2 and text[s - 1] == " " and text[s - 2].islower() and word not in _NOT_NAME
        ):
            continue
        if s < last_end or (s > 0 and (text[s - 1].isalnum() or text[s - 1] in "@.'’-_/")):
            continue
        span: tuple[int, int] | None = None
        score = 0.8
        if cue:
            if word == "Dr" and _after_street_name(text, s):
                continue  # "Oak Dr. Springfield" is an address, not a doctor
            nxt = e + len(text[e : e + 5]) - len(text[e : e + 5].lstrip())
            span = _cued_name(text, nxt, word)
        else:
            cued = _lower_cued(text, s)
            if first or cued:
                full = _FULL_RE.match(text, s)
                if full is not None and full.group(2) not in _NOT_NAME:
                    span = full.span()
                    score = 0.8 if cued else 0.65
        if span is not None:
            hits.append(Hit("PERSON", span[0], span[1], score))
            last_end = span[1]
    for m in matches_at(_NAME_IS_RE, text, prepared.starts(_NAME_IS_PROBE)):
        if m.start() == 0 or text[m.start() - 1] not in "Nn":
            continue
        span = _cued_name(text, m.end(), "name")
        if span is not None:
            hits.append(Hit("PERSON", span[0], span[1], 0.8))
    return _merge(hits)


#: the score of a learned name whose probability is at the model's threshold, and of one
#: whose probability is 1
LEARNED_SCORES = (0.5, 0.95)


def learned_person(text: str) -> list[Hit]:
    """PERSON hits of the learned tagger, subtype ``learned`` (see the module docstring)."""
    model = PersonModel.load()
    low, high = LEARNED_SCORES
    t = model.threshold
    return [
        Hit("PERSON", s, e, round(low + (high - low) * (p - t) / (1.0 - t), 4), "learned")
        for s, e, p in model.names(text)
    ]


_STREET_BEFORE_RE = re.compile(r"[0-9]+[A-Za-z]?(?:[ \t]+[A-Z][a-z]+){1,3}[ \t]+\Z")


def _after_street_name(text: str, pos: int) -> bool:
    """Whether ``text[:pos]`` ends with "<number> <Capitalised words> " ("42 Oak ")."""
    return _STREET_BEFORE_RE.search(text, max(0, pos - 40), pos) is not None


def _merge(hits: list[Hit]) -> list[Hit]:
    hits.sort(key=lambda h: (h.start, -h.end))
    out: list[Hit] = []
    for hit in hits:
        if out and hit.start < out[-1].end:
            prev = out[-1]
            out[-1] = prev._replace(
                end=max(prev.end, hit.end),
                score=max(prev.score, hit.score),
                subtype=prev.subtype and hit.subtype,  # a rule's finding is a rule's
            )
        else:
            out.append(hit)
    return out
