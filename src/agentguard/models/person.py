"""A small learned PERSON-name tagger that ships inside the wheel (pure Python, no network).

Candidates are runs of capitalised words found by one compiled regex with no look-around
(carried past the full stop of an initial or title: "Dr. J. Smith"). Each word of a run is
scored by a logistic regression over string features looked up in one dict: the word, its
shape, affixes, neighbours, place in the run, sentence start, US Census 1990 first/last-name
lists, wordfreq Zipf band. Neighbouring words at or above the threshold form a name (never
a title such as "Dr."), scored by their mean probability. A word's own weight and a run's
inner weights are cached, and a one-word run that no context could lift to the threshold
("The", "None") is dropped before its neighbours are read: both exact, so ``names`` equals
scoring every feature of every candidate. Weights: ``training/train_person.py``.

>>> PersonModel.load().names("I met Jonathan Okafor yesterday.")[0][:2]
(6, 21)
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Iterator
from typing import Any, ClassVar, NamedTuple

from agentguard.models._packaged import Packaged

WEIGHTS_FILE = "person_weights.json.gz"
FORMAT_VERSION = 1

# Chosen by training/train_person.py (F1 on data/pii/tune.jsonl.gz, with the model fitted
# on the other sources); the weights file records the same value (tests check they agree).
THRESHOLD = 0.5
"""A word is part of a name when its probability is at least this."""

_UP = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f\u0391-\u03a9\u0410-\u042f\u0401"
_WORD = rf"[{_UP}][\w'\u2019]*(?:-[\w'\u2019]+)*"
#: a run of capitalised words separated by spaces or tabs (the scan's only regex: with no
#: look-around it runs at the speed of the regex engine's first-character search)
CANDIDATE_RE = re.compile(rf"{_WORD}(?:[ \t]+{_WORD})*")
#: what continues a run past a full stop, when the word before it is an initial or title
_AFTER_DOT_RE = re.compile(rf"\.[ \t]+({_WORD}(?:[ \t]+{_WORD})*)")
_TITLES = frozenset({"Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr"})
#: a run is not a candidate when the character before it is one of these (inside a word,
#: a handle, a hashtag, a path, a dotted name)
_GLUE = frozenset("@#'\u2019.-/\\_0123456789")
_NAME_PREFIXES = ("mc", "mac", "de", "di", "da", "la", "le", "du", "van", "von", "o'", "o\u2019")
_SENTENCE_END = frozenset('.!?:;"\u201c\u201d\u2026*>\u2022|([{')
_CONTEXT = 40  # characters read before and after a run for its neighbours
_MAX_RUN = 12  # a longer run is a title or a heading: only its first words are read
#: no word of a name is this long: a run holding one is not read (and never cached, so a
#: stream of long distinct capitalised tokens cannot fill the caches with megabytes)
_MAX_WORD = 40


class Candidate(NamedTuple):
    """A run of capitalised words: its characters, words, neighbours, sentence start.

    An initial or a title keeps its full stop (``"J."``, ``"Dr."``) and the run goes on
    past it ("Dr. J. Smith" is one candidate of three words)."""

    start: int
    end: int
    words: list[str]
    before: str  # the word before the run, lower-cased ("" at the start)
    after: str  # the word after it, lower-cased ("" at the end)
    initial: bool  # whether the run starts a sentence


def _shape(word: str) -> str:
    if word[-1] == ".":
        return "X."
    rest = word[1:]
    shape = (
        "X" if not rest
        else "Xx" if rest.islower()
        else "XX" if word.isupper()
        else "Xmc" if word.lower().startswith(_NAME_PREFIXES)  # McDonald, DeAndre, O'Brien
        else "Xm"  # OSError, YouTube
    )  # fmt: skip
    if "-" in word:
        shape += "-"
    if "'" in word or "\u2019" in word:
        shape += "'"
    if not word.isalpha() and any(c.isdigit() for c in word):
        shape += "9"
    return shape


def is_title(word: str) -> bool:
    """Whether a word is a title with its full stop ("Dr."): never part of a name found."""
    return word[-1] == "." and word[:-1] in _TITLES


def _base(word: str) -> str:
    """A word lower-cased, without a possessive ``'s``."""
    low = word.lower()
    return low[:-2] if len(low) > 3 and low[-2:] in ("'s", "\u2019s") else low


def _extend(text: str, start: int, end: int) -> tuple[int, str]:
    """The end and text of the run ``text[start:end]``, carried past the full stop of an
    initial or a title ("J. R. Smith", "Dr. Jones"), for at most ``_MAX_RUN`` full stops."""
    last = text[start:end]
    for _ in range(_MAX_RUN):
        last = last[max(last.rfind(" "), last.rfind("\t")) + 1 :]
        if not text.startswith(".", end) or not (len(last) == 1 or last in _TITLES):
            break
        more = _AFTER_DOT_RE.match(text, end)
        if more is None:
            break
        end, last = more.end(), more.group(1)
    return end, text[start:end]


def _unglue(text: str, start: int, end: int) -> int:
    """Where a run glued to what comes before it ("camelCase Smith", "@Jane Doe") goes on
    as a candidate: its second word, or ``end`` when it has one word."""
    run = text[start:end]
    cut = min((i for i in (run.find(" "), run.find("\t")) if i >= 0), default=-1)
    if cut < 0:
        return end
    return start + len(run) - len(run[cut:].lstrip(" \t"))


def _neighbours(text: str, start: int, end: int) -> tuple[str, str, bool]:
    """The words before and after ``text[start:end]`` (lower-cased, ``""`` at an end) and
    whether it starts a sentence."""
    left = text[max(0, start - _CONTEXT) : start]
    stripped = left.rstrip()
    initial = not stripped or stripped[-1] in _SENTENCE_END or "\n" in left[len(stripped) :]
    prev = _neighbour(stripped.rsplit(None, 1)[-1]) if stripped else ""
    right = text[end : end + _CONTEXT].split(None, 1)
    return prev, _neighbour(right[0]) if right else "", initial


def _neighbour(word: str) -> str:
    """A neighbouring word as a feature: lower-cased; a handle, hashtag, link or number by
    its kind."""
    first = word[0]
    if first == "@" and len(word) > 1:
        return "@user"
    if first == "#" and len(word) > 1:
        return "#tag"
    if first.isdigit():
        return "0"
    if word.startswith(("http:", "https:", "www.")):
        return "<url>"
    return word.lower()


def _after(text: str, start: int, words: list[str]) -> int:
    """Where the last of ``words`` (found in order from ``start``) ends."""
    for word in words:
        start = text.index(word, start) + len(word)
    return start


def _candidate(text: str, start: int, end: int, run: str) -> Candidate:
    words = run.split()
    if len(words) > _MAX_RUN:
        words = words[:_MAX_RUN]
        end = _after(text, start, words)
    prev, nxt, initial = _neighbours(text, start, end)
    return Candidate(start, end, words, prev, nxt, initial)


def candidates(text: str) -> Iterator[Candidate]:
    """Every run of capitalised words of ``text``, in order."""
    last_end = 0
    for m in CANDIDATE_RE.finditer(text):
        start, end = m.span()
        if start < last_end:
            continue
        if start and ((ch := text[start - 1]) in _GLUE or ch.isalpha()):
            start = _unglue(text, start, end)
            if start == end:
                continue
        last_end, run = _extend(text, start, end)
        yield _candidate(text, start, last_end, run)


def _bucket(rank: int) -> str:
    return "1" if rank <= 200 else "2" if rank <= 2000 else "3"


class PersonModel:
    """Finds PERSON names; ``load()`` once, then ``names(text)``."""

    _CACHE_LIMIT: ClassVar[int] = 50_000  # words whose own score is remembered

    def __init__(
        self,
        weights: dict[str, float],
        bias: float,
        first: dict[str, int],
        last: dict[str, int],
        common: frozenset[str],
        freq: dict[str, str] | None = None,
        threshold: float = THRESHOLD,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError("threshold must be in (0, 1)")
        self.weights = weights
        self.bias = bias
        self.first = first
        self.last = last
        self.common = common
        self.freq = freq or {}
        self.threshold = threshold
        self.meta = meta or {}
        #: words scored by the last call of ``names`` (tests count work with it, not time)
        self.last_words = 0
        self._own: dict[str, float] = {}  # word -> weight of its context-free features
        self._alone: dict[str, float] = {}  # word -> weight of all but pw/nw/si, alone
        # the most the context of a one-word run can add: its best word before and after,
        # and the sentence-start weight; a word that cannot reach the threshold even so is
        # skipped without reading its context (the result is the same)
        best = {"pw:": 0.0, "nw:": 0.0}
        for feat, w in weights.items():
            head = feat[:3]
            if head in best and w > best[head]:
                best[head] = w
        self._context_max = best["pw:"] + best["nw:"] + max(weights.get("si1", 0.0), 0.0)
        self._before_max = best["pw:"] + max(weights.get("sib", 0.0), 0.0)
        self._after_max = best["nw:"]
        self._runs: dict[str, tuple[list[float], float]] = {}  # run -> inner weights, bound
        self._logit = math.log(threshold / (1.0 - threshold))

    @classmethod
    def from_bytes(cls, blob: bytes) -> PersonModel:
        """Build a model from the (gzip'd JSON) weights format training writes."""
        doc = json.loads(gzip.decompress(blob))
        if doc.get("format") != FORMAT_VERSION:
            raise ValueError(f"unsupported person weights format {doc.get('format')!r}")
        scale = float(doc["scale"])
        return cls(
            {k: v * scale for k, v in doc["weights"].items()},
            float(doc["bias"]),
            {name: rank for rank, name in enumerate(doc["first"], 1)},
            {name: rank for rank, name in enumerate(doc["last"], 1)},
            frozenset(doc["common"]),
            {word: band for band, words in doc["freq"].items() for word in words},
            float(doc["threshold"]),
            dict(doc.get("meta", {})),
        )

    @classmethod
    def load(cls) -> PersonModel:
        """The shipped model, read once per process (thread-safe)."""
        return _SHIPPED.get()

    def own_features(self, word: str) -> list[str]:
        """The features of a word that do not depend on where it is."""
        low = _base(word)
        feats = ["w:" + low, "s:" + _shape(word), "p:" + low[:3], "x:" + low[-3:]]
        feats.append("x2:" + low[-2:])
        if len(low) < len(word):
            feats.append("poss")
        fr = self.first.get(low)
        lr = self.last.get(low)
        if fr:
            feats.append("fn" + _bucket(fr))
        if lr:
            feats.append("ln" + _bucket(lr))
        if not fr and not lr:
            feats.append("nolist")
        feats.append("z" + self.freq.get(low, "0"))
        return feats

    def context_features(self, cand: Candidate) -> list[list[str]]:
        """The features of each word of a candidate that depend on the run and around it."""
        words = cand.words
        n = len(words)
        lows = [_base(w) for w in words]
        first, last, common, freq = self.first, self.last, self.common, self.freq
        size = str(min(n, 4))
        in_first = [low in first for low in lows]
        in_last = [low in last for low in lows]
        in_common = [low in common for low in lows]
        # the run as a whole: how many of its words are common words, how many listed names
        run = f"rc:{min(sum(in_common), 2)}{min(sum(in_first) + sum(in_last), 2)}{size}"
        out: list[list[str]] = []
        for i, low in enumerate(lows):
            place = "1" if n == 1 else "b" if i == 0 else "e" if i == n - 1 else "m"
            fr, lr = in_first[i], in_last[i]
            feats = [
                "pi:" + lows[i - 1] if i else "pw:" + cand.before,
                "ni:" + lows[i + 1] if i + 1 < n else "nw:" + cand.after,
                "r:" + place + size,
                run,
                f"z{freq.get(low, '0')}{'f' if fr else ''}{'l' if lr else ''}{place}",
            ]
            if i == 0 and cand.initial:
                feats.append("si" + place)
            if in_common[i]:
                feats.append("cw" + place)
            if i:
                feats.append(f"l<{in_first[i - 1]:d}{in_last[i - 1]:d}{in_common[i - 1]:d}")
                if lr and in_first[i - 1]:
                    feats.append("fn<ln")
            if i + 1 < n:
                feats.append(f"l>{in_first[i + 1]:d}{in_last[i + 1]:d}{in_common[i + 1]:d}")
                if fr and in_last[i + 1]:
                    feats.append("fn>ln")
            out.append(feats)
        return out

    def features(self, cand: Candidate) -> list[list[str]]:
        """All the features of each word of a candidate, as training counts them."""
        return [
            self.own_features(word) + context
            for word, context in zip(cand.words, self.context_features(cand), strict=True)
        ]

    def _own_weight(self, word: str) -> float:
        own = self._own.get(word)
        if own is None:
            if len(self._own) >= self._CACHE_LIMIT:
                self._own.clear()
            get = self.weights.get
            own = self._own[word] = sum(get(f, 0.0) for f in self.own_features(word))
        return own

    def _alone_weight(self, word: str) -> float:
        """A one-word run's weight before its neighbours and sentence start are read."""
        alone = self._alone.get(word)
        if alone is None:
            if len(self._alone) >= self._CACHE_LIMIT:
                self._alone.clear()
            cand = Candidate(0, 0, [word], "", "", False)
            get = self.weights.get
            context = self.context_features(cand)[0][2:]  # not pw/nw (and si is off)
            alone = self.bias + self._own_weight(word) + sum(get(f, 0.0) for f in context)
            self._alone[word] = alone
        return alone

    def _inner(self, words: list[str]) -> tuple[list[float], float]:
        """For a run of two words or more: each word's weight from all but the run's
        neighbours and sentence start, and the most any word can reach with those."""
        key = " ".join(words)
        found = self._runs.get(key)
        if found is None:
            if len(self._runs) >= self._CACHE_LIMIT:
                self._runs.clear()
            get = self.weights.get
            contexts = self.context_features(Candidate(0, 0, words, "", "", False))
            inner = []
            last = len(words) - 1
            for i, (word, feats) in enumerate(zip(words, contexts, strict=True)):
                feats = [f for j, f in enumerate(feats) if not (j == 0 and i == 0)]
                if i == last:
                    feats.remove("nw:")
                inner.append(self.bias + self._own_weight(word) + sum(get(f, 0.0) for f in feats))
            bound = max(
                inner[0] + self._before_max, inner[-1] + self._after_max, max(inner[1:-1] or [-99])
            )
            found = self._runs[key] = (inner, bound)
        return found

    def _context_weight(self, text: str, start: int, end: int) -> float:
        """What the words around a one-word run and a sentence start add to its weight."""
        prev, nxt, initial = _neighbours(text, start, end)
        get = self.weights.get
        z = get("pw:" + prev, 0.0) + get("nw:" + nxt, 0.0)
        return z + get("si1", 0.0) if initial else z

    def names(self, text: str) -> list[tuple[int, int, float]]:
        """``(start, end, probability)`` of each name found in ``text``, in order."""
        out: list[tuple[int, int, float]] = []
        scored = 0
        get = self.weights.get
        alone_of = self._alone
        hopeless = self._logit - self._context_max
        last_end = 0
        glue = _GLUE
        for m in CANDIDATE_RE.finditer(text):
            start, end = m.span()
            if start < last_end:
                continue  # inside a run already read
            if start and ((ch := text[start - 1]) in glue or ch.isalpha()):
                start = _unglue(text, start, end)  # glued to what comes before
                if start == end:
                    continue
                run = text[start:end]
            else:
                run = m.group()
            if text.startswith(".", end):
                end, run = _extend(text, start, end)
            if len(run) > _MAX_WORD and max(map(len, run.split())) > _MAX_WORD:
                last_end = end
                continue
            if " " not in run and "\t" not in run:
                # one word (most candidates): its own weight is cached, and only a word that
                # some context could make a name has its neighbours read
                alone = alone_of.get(run)
                if alone is None:
                    alone = self._alone_weight(run)
                if alone < hopeless:
                    continue
                scored += 1
                z = alone + self._context_weight(text, start, end)
                if z >= self._logit:
                    out.append((start, end, 1.0 / (1.0 + math.exp(-z))))
                continue
            last_end = end
            words = run.split()
            if len(words) > _MAX_RUN:
                words = words[:_MAX_RUN]
                end = _after(text, start, words)
            inner, bound = self._inner(words)
            if bound < self._logit:
                continue  # no word of the run can reach the threshold, whatever is around it
            scored += len(words)
            prev, nxt, initial = _neighbours(text, start, end)
            zs = inner.copy()
            zs[0] += get("pw:" + prev, 0.0) + (get("sib", 0.0) if initial else 0.0)
            zs[-1] += get("nw:" + nxt, 0.0)
            pos = start
            found: list[float] = []
            first_at = last_at = 0
            for word, z in zip(words, zs, strict=True):
                at = text.index(word, pos)
                pos = at + len(word)
                if z >= self._logit and not is_title(word):
                    if not found:
                        first_at = at
                    found.append(1.0 / (1.0 + math.exp(-z)))
                    last_at = pos
                elif found:
                    out.append((first_at, last_at, sum(found) / len(found)))
                    found = []
            if found:
                out.append((first_at, last_at, sum(found) / len(found)))
        self.last_words = scored
        return out


_SHIPPED = Packaged(WEIGHTS_FILE, PersonModel.from_bytes)
