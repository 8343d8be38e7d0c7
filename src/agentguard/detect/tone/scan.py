"""Finding word-list terms in normalised text through their obfuscations.

The forms of the terms (and a spaced-out variant, ``f u c k``, of each strong single word)
are compiled into a few anchored patterns (:mod:`agentguard.detect.tone.compile`) that find
them as whole words, through leetspeak (``sh1t``, ``$hit``, ``f4ck``) and stretched letters
after the anchor (``fuuuck``). A match is read back into a term by its key: leetspeak read
as letters, letter runs collapsed (:func:`word_key`); leetspeak needs at least two real
letters and no fewer letters than symbols, so a model number (A55) is not a word.

Also, each from one literal scan of the text: stretched vowels before the anchor
(``fuuuucking``), from ``uuu`` and ``iii``; asterisk and dash masks (``f*ck``, ``f**k``,
``f***``, ``sh-t``), resolved against the forms by wildcard; ``fuck`` and ``shit`` inside
longer unknown words (``fuckwaffle``, not ``shitake`` or ``mishit``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from agentguard.detect.tone.compile import LEET_CHARS, compile_forms
from agentguard.detect.tone.words import Term

__all__ = ["Hit", "WordScanner", "word_key"]

_DELEET = str.maketrans("0134578@$!", "oieastbasi")
_DELEET_L = str.maketrans("0134578@$!", "oleastbasi")
#: characters that may not come right before a word
_BEFORE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789$")
#: strong single words also get a spaced-out variant (f u c k)
_SPACED_MIN_SCORE = 0.7
#: a vowel stretched before the anchor of a word is found from these (``daaamn``)
_STRETCH_GATES = ("uuu", "iii")
_LOOKUP_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$")
_INFIX = ("fuck", "shit")
_INFIX_SAFE = frozenset(
    {"shitake", "shitakes", "shittah", "shittahs", "shittim", "mishit", "mishits", "mishitting"}
)
#: an asterisk after a letter (f*ck, f**k, f***); the token around it is resolved in Python
_MASK_STAR = re.compile(r"\*(?<=[a-z]\*)")
#: a dash between a word of one or two letters and one of up to four (f-ck, sh-t, f--k)
_MASK_DASH = re.compile(
    r"-(?:(?<=[^a-z0-9][a-z]-)|(?<=[^a-z0-9][a-z][a-z]-))-?[a-z]{1,4}(?![a-z0-9])"
)
_MAX_WORD_CHARS = 40
_MASK_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!*-")


def _collapse(word: str) -> str:
    out: list[str] = []
    for ch in word:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


def word_key(text: str, *, l_for_1: bool = False) -> str:
    """The lookup key of a matched span or a form: leetspeak read as letters, separators
    dropped between single letters (``f u c k``) and collapsed between words, runs of one
    letter collapsed (``fuuuck`` → ``fuck``, and so ``ass`` → ``as``)."""
    plain = text.translate(_DELEET_L if l_for_1 else _DELEET)
    words = [w for w in re.split(r"[^a-z]+", plain) if w]
    if len(words) > 1 and all(len(w) == 1 for w in words):
        words = ["".join(words)]
    return " ".join(_collapse(w) for w in words)


@dataclass(frozen=True, slots=True)
class Hit:
    """A term found in the normalised text: span there, term, and how it was written."""

    start: int
    end: int
    term: Term
    how: str  # "plain", "leet", "spaced", "stretched", "masked", "infix"


class WordScanner:
    """Finds the forms of ``terms`` as whole tokens, and their obfuscations."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self.terms = tuple(terms)
        self._keys: dict[str, Term] = {}
        self._plain = frozenset(form for term in self.terms for form in term.forms)
        self._by_shape: dict[tuple[int, str], list[tuple[str, Term]]] = defaultdict(list)
        forms: list[tuple[str, ...]] = []
        for term in self.terms:
            for text in term.forms:
                self._add_key(word_key(text), term)
                forms.append(tuple(text))
                if " " not in text:
                    self._by_shape[(len(text), text[0])].append((text, term))
            word = term.canonical
            if term.score >= _SPACED_MIN_SCORE and " " not in word and 3 <= len(word) <= 8:
                forms.append(tuple("_".join(word)))
        self._patterns = compile_forms(forms)

    def _how(self, span: str) -> str:
        words = " ".join(w for w in re.split(r"[^a-z0-9@$!]+", span) if w)
        if words in self._plain:
            return "plain"
        if any(c in LEET_CHARS for c in span):
            return "leet"
        if " " in words and all(len(w) == 1 for w in words.split()):
            return "spaced"
        return "stretched"

    def _add_key(self, key: str, term: Term) -> None:
        known = self._keys.get(key)
        if known is None or term.score > known.score:
            self._keys[key] = term

    @property
    def anchors(self) -> list[str]:
        """The anchor letters, one pattern scan each."""
        return [p.pattern[0] for p, _ in self._patterns]

    def lookup(self, span: str) -> Term | None:
        """The term whose form ``span`` spells, if any."""
        term = self._keys.get(word_key(span)) or self._keys.get(word_key(span, l_for_1=True))
        if term is None and " " not in span and not span.isalpha():
            # a vowel written as another vowel's symbol (f4ck): read symbols as wildcards,
            # but only among more real letters (c14n is not "coon")
            letters = sum(c.isalpha() for c in span)
            if letters >= 3 and letters > len(span) - letters:
                term = self._wildcard(span, lambda form, i: form[i] in "aeiou")
        return term

    def _wildcard(self, token: str, fits: Callable[[str, int], bool]) -> Term | None:
        """The strongest single-word term of the same length and first letter whose form
        has the token's letters where it has letters, and a letter ``fits`` elsewhere."""
        shown = token.translate(_DELEET) if token[:1] in LEET_CHARS else token
        holes = [i for i, c in enumerate(shown) if not c.isalpha()]
        best: Term | None = None
        for form, term in self._by_shape.get((len(shown), shown[0]), ()):
            if (
                (best is None or term.score > best.score)
                and all(form[i] == c for i, c in enumerate(shown) if c.isalpha())
                and all(fits(form, i) for i in holes)
            ):
                best = term
        return best

    @staticmethod
    def _real_letters(span: str) -> bool:
        """Leetspeak needs at least two real letters and no more symbols than letters, so
        that a model number (A55) or a price ($5) is not a word."""
        letters = sum(c.isalpha() for c in span)
        symbols = sum(c in LEET_CHARS for c in span)
        return symbols == 0 or (letters >= 2 and letters >= symbols)

    def scan(self, text: str) -> list[Hit]:
        """All hits in ``text`` (lower-case ASCII, see
        :func:`~agentguard.detect.tone.text.normalize`)."""
        padded = " " + text + " "
        hits = list(self._scan_words(text, padded))
        hits.extend(self._scan_stretched(text, hits))
        hits.extend(self._scan_masks(text, _MASK_STAR))
        hits.extend(self._scan_masks(padded, _MASK_DASH, 1))
        for stem in _INFIX:
            hits.extend(self._scan_infix(text, stem, hits))
        return hits

    def _scan_words(self, text: str, padded: str) -> Iterator[Hit]:
        for pattern, back in self._patterns:
            # search, not finditer: most texts have no match, and a search that finds
            # nothing costs half as much as setting up an iterator
            m = pattern.search(padded)
            while m is not None:
                hit = self._word_at(text, m.start() - 1, m.end() - 1, back)
                if hit is not None:
                    yield hit
                # after a miss, go on right after the anchor: the match may have swallowed
                # the start of a real word
                m = pattern.search(padded, hit.end + 1 if hit is not None else m.start() + 1)

    def _word_at(self, text: str, anchor: int, end: int, back: int) -> Hit | None:
        """The hit ending at ``end`` whose word starts at most ``back`` characters before
        ``anchor``: the nearest word start that spells a form."""
        end = min(end, len(text))
        ends = [end]
        if not text[end - 1].isalnum():
            # the character after the word, read where the anchor ends it (or a "!" that
            # is leetspeak for i: try both)
            ends.insert(0, end - 1)
        for start in range(anchor, max(anchor - back, 0) - 1, -1):
            if start and text[start - 1] in _BEFORE_CHARS:
                continue
            for stop in ends:
                span = text[start:stop]
                term = self.lookup(span) if self._real_letters(span) else None
                if term is not None:
                    return Hit(start, stop, term, self._how(span))
        return None

    def _scan_stretched(self, text: str, found: list[Hit]) -> Iterator[Hit]:
        """Words with a vowel stretched before their anchor (``fuuuucking``): the token
        around each tripled vowel, looked up with its letter runs collapsed."""
        covered: set[int] | None = None
        for gate in _STRETCH_GATES:
            pos = text.find(gate)
            if pos != -1 and covered is None:
                covered = {h.start for h in found}
            while pos != -1:
                start, end = pos, pos + len(gate)
                floor = max(0, start - _MAX_WORD_CHARS)
                while start > floor and text[start - 1] in _LOOKUP_CHARS:
                    start -= 1
                ceiling = min(len(text), end + _MAX_WORD_CHARS)
                while end < ceiling and text[end] in _LOOKUP_CHARS:
                    end += 1
                pos = text.find(gate, end)
                token = text[start:end]
                if covered is None or start in covered or not self._real_letters(token):
                    continue
                covered.add(start)
                term = self.lookup(token)
                if term is not None:
                    yield Hit(start, end, term, "stretched")

    def _scan_masks(self, text: str, pattern: re.Pattern[str], pad: int = 0) -> Iterator[Hit]:
        last = 0
        m = pattern.search(text)
        while m is not None:
            # the token around the mask, at most _MAX_WORD_CHARS long (no word is longer)
            start, end = m.start(), m.end()
            floor = max(last, start - _MAX_WORD_CHARS)
            while start > floor and text[start - 1] in _MASK_TOKEN_CHARS:
                start -= 1
            ceiling = min(len(text), end + _MAX_WORD_CHARS)
            while end < ceiling and text[end] in _MASK_TOKEN_CHARS:
                end += 1
            last = end
            m = pattern.search(text, end)
            if end - start > _MAX_WORD_CHARS:
                continue
            hit = self._resolve_mask(text, start, end)
            if hit is not None:
                yield Hit(hit.start - pad, hit.end - pad, hit.term, hit.how)

    def _resolve_mask(self, text: str, start: int, end: int) -> Hit | None:
        token = text[start:end]
        if token.startswith("*") and token.endswith("*"):  # *emphasis*, **bold**
            core = token.strip("*")
            start += len(token) - len(token.lstrip("*"))
            end = start + len(core)
            token = core
        token = token.strip("-!")
        if not token or ("*" not in token and "-" not in token):
            return None
        shown = token.translate(_DELEET)
        letters = sum(c.isalpha() for c in shown)
        if letters == 0 or (not shown[0].isalpha() and not shown[-1].isalpha()):
            return None
        unmasked = shown.replace("*", "").replace("-", "")
        term = self._keys.get(word_key(unmasked)) if len(unmasked) > 2 else None
        if term is None and shown[0].isalpha():
            term = self._wildcard(shown.replace("-", "*"), lambda form, i: form[i].isalpha())
        if term is None:
            return None
        offset = text.find(token, start, end)
        return Hit(offset, offset + len(token), term, "masked")

    def _scan_infix(self, text: str, stem: str, found: list[Hit]) -> Iterator[Hit]:
        pos = text.find(stem)
        term = self._keys.get(word_key(stem)) if pos != -1 else None
        if term is None:
            return
        covered = {h.start for h in found}
        while pos != -1:
            start, end = pos, pos + len(stem)
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and text[end].isalnum():
                end += 1
            token = text[start:end]
            if (
                start not in covered
                and len(token) <= _MAX_WORD_CHARS
                and token.isalpha()
                and token not in _INFIX_SAFE
            ):
                covered.add(start)
                yield Hit(start, end, term, "infix")
            pos = text.find(stem, end)
