"""Provenance fingerprints: what an owner's data looks like, without keeping the data.

Two kinds of fingerprint are taken from text an owner's tool returned:

* **values** — each PII or secret finding (an email, a phone number, a card, a name …),
  normalised so that formatting does not matter (``+1 (415) 555-0132`` and ``415 555 0132``
  are one value), as ``v:<hash>``;
* **passages** — every run of :data:`SHINGLE_WORDS` consecutive words, lower-cased, as
  ``p:<hash>``; a passage of another owner's text copied into an outbound message shows as
  a run of matching shingles.

Hashes are keyed (BLAKE2b with the store's own random key, 64 bits; a passage's print is a
polynomial rolling hash of its words' keyed hashes), so the store holds no value in clear
and a stolen table cannot be checked against guessed phone numbers without the key. :func:`assess` compares an outbound text's fingerprints with the owners the store
knows and returns what belongs to someone other than the recipient.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from agentguard.detect import memo
from agentguard.detect.base import Detector, Finding

#: words per passage shingle
SHINGLE_WORDS = 6
#: findings below this score are not fingerprinted as values
MIN_SCORE = 0.5
#: most prints taken from one tool result (longer results are sampled evenly)
MAX_PRINTS = 20_000
UNKNOWN_OWNER = "(unknown owner)"

_WORD = re.compile(r"\w+")
_DIGITS_ONLY = frozenset({"PHONE", "CREDIT_CARD", "US_SSN", "NATIONAL_ID", "IBAN"})
_SPACE = re.compile(r"\s+")


def normalise(finding: Finding, text: str) -> str:
    """A finding's value in a form that ignores formatting."""
    value = text[finding.start : finding.end]
    if finding.type in _DIGITS_ONLY:
        compact = "".join(ch for ch in value if ch.isalnum()).upper()
        return compact[-9:] if finding.type == "PHONE" else compact
    return _SPACE.sub(" ", value).strip().casefold()


class Located(NamedTuple):
    """A value's fingerprint found in one text, with the character span it covers."""

    print: str
    start: int
    end: int


_MASK = (1 << 64) - 1
_BASE = 0x100000001B3  # odd, so the rolling combination loses no bits of a word's hash
_BASE_TOP = pow(_BASE, SHINGLE_WORDS - 1, 1 << 64)
_MAX_WORDS_CACHED = 200_000


@dataclass(slots=True)
class Fingerprinter:
    """Takes fingerprints with one store key and one set of value detectors."""

    key: bytes
    detectors: Sequence[Detector]
    _words: dict[str, int] = field(default_factory=dict, repr=False)

    def _hash(self, kind: str, text: str) -> str:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8, key=self.key)
        return f"{kind}:{digest.hexdigest()}"

    def _word(self, word: str) -> int:
        value = self._words.get(word)
        if value is None:
            digest = hashlib.blake2b(
                word.encode("utf-8", "surrogatepass"), digest_size=8, key=self.key
            ).digest()
            value = int.from_bytes(digest, "little")
            if len(self._words) < _MAX_WORDS_CACHED:
                self._words[word] = value
        return value

    def values(self, text: str) -> list[Located]:
        found: list[Located] = []
        for detector in self.detectors:
            for finding in memo.detect(detector, text):
                if finding.score < MIN_SCORE or finding.end <= finding.start:
                    continue
                norm = normalise(finding, text)
                if len(norm) >= 4:
                    key = f"{finding.type}\x00{norm}"
                    found.append(Located(self._hash("v", key), finding.start, finding.end))
        return found

    def passages(self, text: str) -> Passages:
        """One print per run of SHINGLE_WORDS words: a polynomial rolling hash over the
        words' keyed hashes (each word is hashed once and remembered), so a shingle costs a
        few integer operations instead of a string join and a hash."""
        words = _WORD.findall(text)
        size = SHINGLE_WORDS
        if len(words) < size:
            return Passages(text, [])
        word = self._word
        hashes = [word(w.casefold()) for w in words]
        rolling = 0
        for value in hashes[:size]:
            rolling = (rolling * _BASE + value) & _MASK
        values = [rolling]
        for old, new in zip(hashes, hashes[size:], strict=False):
            rolling = ((rolling - old * _BASE_TOP) * _BASE + new) & _MASK
            values.append(rolling)
        return Passages(text, [f"p:{v:016x}" for v in values])

    def of_texts(self, texts: Iterable[str]) -> set[str]:
        """Every print of an owner's texts (values and passages), at most MAX_PRINTS."""
        prints: set[str] = set()
        for text in texts:
            prints.update(p.print for p in self.values(text))
            prints.update(self.passages(text).prints)
        if len(prints) > MAX_PRINTS:
            ordered = sorted(prints)
            step = len(ordered) / MAX_PRINTS
            prints = {ordered[int(i * step)] for i in range(MAX_PRINTS)}
        return prints


class Passages:
    """The shingle prints of one text, in order (print ``i`` covers words ``i`` to
    ``i + SHINGLE_WORDS - 1``). Character spans are worked out only when asked for, which
    happens only when there is a leak to cut out."""

    __slots__ = ("_spans", "prints", "text")

    def __init__(self, text: str, prints: list[str]) -> None:
        self.text = text
        self.prints = prints
        self._spans: list[tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.prints)

    def span(self, index: int) -> tuple[int, int]:
        if self._spans is None:
            self._spans = [(m.start(), m.end()) for m in _WORD.finditer(self.text)]
        return self._spans[index][0], self._spans[index + SHINGLE_WORDS - 1][1]

    def head(self, count: int) -> Passages:
        """The first ``count`` prints only."""
        return Passages(self.text, self.prints[:count])


@dataclass(frozen=True, slots=True)
class Leak:
    """Another owner's data found in one outbound text."""

    owner: str
    values: int  # sensitive values of that owner
    words: int  # words of that owner's passages
    spans: tuple[tuple[int, int], ...]


def assess(
    values: Sequence[Located],
    passages: Passages,
    owners_of: Mapping[str, Collection[str]],
    recipient_owners: Collection[str],
    *,
    min_words: int,
) -> list[Leak]:
    """The owners (other than the recipient's) whose data this text carries.

    A value counts when the recipient's owner never had it. A passage counts only when one
    owner alone had it: text that several owners' data share (greetings, signatures, a
    company's boilerplate) is nobody's secret. Passages count once their matching shingles
    cover ``min_words`` words of the text.
    """
    by_owner: dict[str, tuple[int, list[tuple[int, int]], list[tuple[int, int]]]] = {}
    for located in values:
        owners = owners_of.get(located.print, ())
        if not owners or any(o in recipient_owners for o in owners):
            continue
        for owner in owners:
            count, spans, words = by_owner.get(owner, (0, [], []))
            spans.append((located.start, located.end))
            by_owner[owner] = (count + 1, spans, words)
    for index, item in enumerate(passages.prints):
        owners = owners_of.get(item, ())
        if len(owners) != 1:
            continue
        (owner,) = owners
        if owner in recipient_owners:
            continue
        count, spans, words = by_owner.get(owner, (0, [], []))
        words.append((index, index + SHINGLE_WORDS))
        spans.append(passages.span(index))
        by_owner[owner] = (count, spans, words)
    leaks = []
    for owner, (count, spans, words) in sorted(by_owner.items()):
        covered = _covered(words)
        if count or covered >= min_words:
            leaks.append(Leak(owner, count, covered, tuple(sorted(spans))))
    return leaks


def _covered(ranges: list[tuple[int, int]]) -> int:
    total = 0
    end = -1
    for start, stop in sorted(ranges):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total
