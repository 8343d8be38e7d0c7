"""Tone of outbound text: profanity, slurs, sexual terms, crude slang, shouting, banned
phrases and missing disclaimers — what an agent must not post or send as a brand.

Finding types (``Finding.subtype`` in brackets):

``PROFANITY`` [``profanity``, ``slur``, ``sexual``, ``slang``]
    A word of the built-in list (:mod:`agentguard.detect.tone.words`) or of ``extra_words``.
    Base scores by tier:

    ==============================================  ==================  =========
    tier                                            subtype             base
    ==============================================  ==================  =========
    slurs (ethnic, homophobic, ableist)             slur                0.60–0.98
    strong profanity (fuck, cunt, motherfucker)     profanity           0.85–0.95
    explicit sexual terms (blowjob, cumshot, slut)  sexual              0.80–0.90
    crude abbreviations (wtf, stfu, gtfo, kys)      slang               0.60–0.85
    other profanity (bitch, ass, dick, piss)        profanity           0.55–0.80
    other sexual terms (porn, tits, horny)          sexual              0.50–0.80
    “af” after a word (“lit af”), “deadass”         slang               0.50–0.55
    mild or ambiguous (damn, hell, bloody, crap)    profanity, sexual   0.25–0.45
    informal slang (bruh, hella, lmao, no cap)      slang               0.25–0.45
    ==============================================  ==================  =========

    Anything at or above :data:`FLAG_THRESHOLD` (0.5) is meant to be acted on, so one
    informal word (“bruh”) is reported but not flagged. Informal register is judged per
    post: a slang finding with another PROFANITY finding less than 100 characters away, or
    two more less than 200 away (not all the same word), is raised by 0.15, so “no cap
    bruh” and “bruh this drop is hella fire no cap” are flagged. Context then moves a score (quotes, moderation talk, code identifiers, names,
    innocent phrases such as “cum laude”; see :mod:`agentguard.detect.tone.context`).
``SHOUTING``
    A run of at least ``shouting_min_words`` (default 4) all-capital words. Acronyms do not
    count (a list — NASA, API, USA, HTTP … — plus any capital word without a vowel, and
    two-letter words other than common ones such as TO, OF, IS), nor do single letters, so
    “HTTP API”, “BUY NOW” and “NASA AND ESA” are not shouting; nor are CONSTANT_NAMES or
    lists of names (“DEBUG, INFO, WARNING, ERROR”). Score 0.5 at the threshold, +0.05 a
    word beyond it, +0.1 with an exclamation mark, at most 0.9; legal boilerplate in
    capitals (“PROVIDED AS IS, WITHOUT WARRANTY”) scores 0.25.
``BANNED_PHRASE`` [id of the phrase]
    One of ``banned_phrases``, matched case-insensitively, with any run of whitespace
    between its words, after the same folding as words (homoglyphs, zero-width characters),
    and as whole words. Score 1.0.
``MISSING_DISCLAIMER`` [id of the disclaimer]
    One of ``required_disclaimers`` is absent (compared case-insensitively with whitespace
    normalised; an empty text lacks it too). A zero-width finding at the end of the text
    (``start == end == len(text)``), score 1.0.

Phrase and disclaimer ids: the keys when a mapping is given, else a slug of the first four
words, with a short hash of the whole text when it is longer (``not-financial-advice``,
``past-performance-is-not-92b164`` for “Past performance is not a guarantee of future
results”).

Obfuscation. Text is lower-cased and folded to ASCII (:mod:`agentguard.detect.tone.text`):
homoglyphs (Cyrillic/Greek look-alikes), full-width and mathematical letters (NFKD),
accents, and invisible characters (zero-width space/joiners, soft hyphen …) removed. Words
are then matched (:mod:`agentguard.detect.tone.scan`) through leetspeak (``sh1t``, ``$hit``,
``@ss``, ``f4ck``; at least two real letters, and no fewer letters than symbols, so “A55” is
a phone), stretched letters (``fuuuuck``), spaced-out letters (``f u c k``, ``f.u.c.k``,
``f-u-c-k``; strong single words, base score 0.7 or more), asterisk and dash masks
(``f*ck``, ``f**k``, ``sh-t``) and, for ``fuck`` and ``shit``, inside longer unknown words.
Offsets always point into the original text: ``text[start:end]`` is the word as written,
zero-width characters and all.

Matching is by whole token, so Scunthorpe, cocktail, Dickens, assessment, class, shell,
shiitake, therapist, document and Sussex never match; ``allowed_words`` removes a word (or a
term with all its forms) from the list for one detector.

Speed. ASCII text is only lower-cased (other text is folded in a few C-level passes plus
a step per non-ASCII character); the word list compiles to about fifteen patterns, each
anchored on one rare letter (:mod:`agentguard.detect.tone.compile`), so that ``re`` skips
through text with a C loop and tries a match only at that letter. Masks, stretched vowels
and infixes cost one literal scan each; shouting one ``bytes.translate`` and a pattern
anchored on two capitals. On stdlib docstring prose, one core shared with other work:
17–20 MB/s in 2.6 KB documents, 13–15 MB/s in 0.7 KB ones, 50–70 µs for a 1 KB text (the
pii family measured 22–26 MB/s beside it). Work per finding is bounded (context for the
first :data:`MAX_SCORED` hits, the rest keep their base score; a backtick span is looked up
among the text's newlines and backticks, found once), and shouting's SQL check reads each
line once, so dense input stays linear.

Known limits: English only (“af” is also Danish and Dutch; “af en toe” is excused, other
sentences are not); no sense disambiguation beyond the flags and safe phrases (“the cock
crowed” is covered, a rooster in other words is not); a word list cannot see intent, so a
quoted slur in a moderation note still scores above 0.5; leetspeak at the anchor letter of
a word (``a$s``), a stretched anchor letter (``dammmn``), two-letter stretches (``fuuck``)
and stretched consonants before the anchor are missed; masks are matched against single
words only; insults without profanity (“idiot”), threats, harassment and sarcasm are out of
scope; non-Latin scripts are only folded where they look like Latin letters.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from agentguard.detect.base import Finding
from agentguard.detect.tone.context import Context
from agentguard.detect.tone.phrases import phrase_id, phrases
from agentguard.detect.tone.scan import WordScanner
from agentguard.detect.tone.shouting import shouting_runs
from agentguard.detect.tone.text import Normalized, normalize
from agentguard.detect.tone.words import SUBTYPES, TERMS, Term

__all__ = [
    "BANNED_PHRASE",
    "FLAG_THRESHOLD",
    "MAX_SCORED",
    "MISSING_DISCLAIMER",
    "PROFANITY",
    "PROFANITY_SUBTYPES",
    "SHOUTING",
    "ToneDetector",
    "phrase_id",
]

NAME = "tone"
PROFANITY = "PROFANITY"
SHOUTING = "SHOUTING"
BANNED_PHRASE = "BANNED_PHRASE"
MISSING_DISCLAIMER = "MISSING_DISCLAIMER"
PROFANITY_SUBTYPES: tuple[str, ...] = SUBTYPES
#: the line for acting on a finding
FLAG_THRESHOLD = 0.5
#: word-list hits scored from their context per text; later ones keep their base score
MAX_SCORED = 2000
_CLUSTER_SPAN = 200
_CLUSTER_MIN = 3
_CLUSTER_BOOST = 0.15


@lru_cache(maxsize=8)
def _scanner(terms: tuple[Term, ...]) -> WordScanner:
    return WordScanner(terms)


def _word_list(extra: Iterable[str], allowed: Iterable[str]) -> tuple[Term, ...]:
    allowed_set = {" ".join(normalize(w).text.split()) for w in allowed}
    allowed_set.discard("")
    terms = []
    for term in TERMS:
        if term.canonical in allowed_set:
            continue
        forms = tuple(f for f in term.forms if f not in allowed_set)
        if forms:
            terms.append(
                term
                if forms == term.forms
                else Term(term.canonical, term.subtype, term.score, forms, term.flags)
            )
    for word in extra:
        form = " ".join(re.sub(r"[^a-z0-9 ]", " ", normalize(word).text).split())
        if not form:
            raise ValueError(f"extra word {word!r} has no letters or digits")
        terms.append(Term(form, "profanity", 0.9, (form,)))
    return tuple(terms)


class ToneDetector:
    """Tone of outbound text (see the module docstring for types, scores and limits).

    ``banned_phrases`` and ``required_disclaimers``: phrases (ids derived by
    :func:`~agentguard.detect.tone.phrases.phrase_id`) or a mapping of id to phrase.
    ``extra_words``: words or phrases added to the list (subtype ``profanity``, score 0.9,
    obfuscations included). ``allowed_words``: words the detector must let through, or
    whole terms (``"damn"`` drops damn, dammit …). ``shouting_min_words``: capital words in
    a row that count as shouting. ``min_score``: weaker findings are dropped.

    >>> [f.type for f in ToneDetector().detect("This sale is lit af, wtf")]
    ['PROFANITY', 'PROFANITY']
    """

    name: str = NAME
    types: frozenset[str] = frozenset({PROFANITY, SHOUTING, BANNED_PHRASE, MISSING_DISCLAIMER})

    def __init__(
        self,
        *,
        banned_phrases: Sequence[str] | Mapping[str, str] = (),
        required_disclaimers: Sequence[str] | Mapping[str, str] = (),
        extra_words: Sequence[str] = (),
        allowed_words: Sequence[str] = (),
        shouting_min_words: int = 4,
        min_score: float = 0.25,
    ) -> None:
        if shouting_min_words < 2:
            raise ValueError("shouting_min_words must be at least 2")
        if isinstance(extra_words, str) or isinstance(allowed_words, str):
            raise TypeError("extra_words and allowed_words must be sequences of strings")
        self.shouting_min_words = shouting_min_words
        self.min_score = min_score
        self._scanner = _scanner(_word_list(extra_words, allowed_words))
        self._banned = phrases(banned_phrases, "banned_phrases")
        self._disclaimers = phrases(required_disclaimers, "required_disclaimers")

    def detect(self, text: str) -> list[Finding]:
        """Findings in ``text``, ordered by position; offsets index ``text``."""
        norm = normalize(text) if text else None
        findings: list[Finding] = []
        if norm is not None:
            findings.extend(self._profanity(text, norm))
            findings.extend(self._shouting(text))
            for phrase in self._banned:
                for m in phrase.finditer(norm.text):
                    start, end = norm.span(m.start(), m.end())
                    findings.append(Finding(BANNED_PHRASE, start, end, 1.0, NAME, phrase.id))
        for phrase in self._disclaimers:
            if norm is None or phrase.search(norm.text) is None:
                findings.append(
                    Finding(MISSING_DISCLAIMER, len(text), len(text), 1.0, NAME, phrase.id)
                )
        findings.sort(key=lambda f: (f.start, f.end, f.type))
        return findings

    def _profanity(self, text: str, norm: Normalized) -> list[Finding]:
        hits = self._scanner.scan(norm.text)
        if not hits:
            return []
        context = Context(text, norm.text)
        scored: list[tuple[int, int, float, Term]] = []
        for i, hit in enumerate(sorted(hits, key=lambda h: (h.start, -h.end))):
            start, end = norm.span(hit.start, hit.end)
            score = context.score(hit, start, end) if i < MAX_SCORED else hit.term.score
            if score > 0.0:
                scored.append((start, end, score, hit.term))
        kept = _disjoint(scored)
        _boost_clusters(kept)
        return [
            Finding(PROFANITY, start, end, round(score, 3), NAME, term.subtype)
            for start, end, score, term in kept
            if score >= self.min_score
        ]

    def _shouting(self, text: str) -> list[Finding]:
        return [
            Finding(SHOUTING, start, end, score, NAME)
            for start, end, score in shouting_runs(text, self.shouting_min_words)
            if score >= self.min_score
        ]


def _disjoint(
    scored: list[tuple[int, int, float, Term]],
) -> list[tuple[int, int, float, Term]]:
    """Of overlapping hits (``go to hell`` and ``hell``) the one with the higher score, then
    the longer, is kept; one pass in order of position."""
    kept: list[tuple[int, int, float, Term]] = []
    for item in sorted(scored, key=lambda s: (s[0], -s[1])):
        if kept and item[0] < kept[-1][1]:
            last = kept[-1]
            if (item[2], item[1] - item[0]) > (last[2], last[1] - last[0]):
                kept[-1] = item
            continue
        kept.append(item)
    return kept


def _boost_clusters(kept: list[tuple[int, int, float, Term]]) -> None:
    """Raise slang in a cluster of word-list findings (see the module docstring): with
    another word less than 100 characters away, or two more less than 200 away (not all
    the same word). Findings that context has lowered (quoted, code) are left as they
    are."""
    if len(kept) < 2:
        return
    starts = [k[0] for k in kept]
    for i, (start, end, score, term) in enumerate(kept):
        if term.subtype != "slang" or score < term.score:
            continue
        for span, need in ((_CLUSTER_SPAN // 2, 2), (_CLUSTER_SPAN, _CLUSTER_MIN)):
            lo = bisect.bisect_left(starts, start - span)
            hi = bisect.bisect_right(starts, start + span)
            if hi - lo >= need and len({k[3].canonical for k in kept[lo:hi]}) > 1:
                kept[i] = (start, end, min(1.0, score + _CLUSTER_BOOST), term)
                break
