"""Banned phrases and required disclaimers of the tone detector: ids and patterns.

A phrase is folded like the text (:func:`agentguard.detect.tone.text.normalize`: lower case,
homoglyphs, invisible characters) and matched with any run of whitespace between its
words, as whole words; a punctuation mark in it matches any one non-alphanumeric character
(``don't`` matches ``don’t``). Each pattern is gated on the phrase's longest word, one
``in`` test, so that a list of phrases costs little on text that has none of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from agentguard.detect.tone.text import normalize

__all__ = ["Phrase", "phrase_id", "phrases"]


def phrase_id(phrase: str) -> str:
    """A short stable id for a phrase: its first four words, lower case, joined by dashes,
    and a six-hex-digit hash of the whole phrase when it has more words.

    >>> phrase_id("Not financial advice")
    'not-financial-advice'
    """
    words = re.findall(r"[a-z0-9]+", normalize(phrase).text)
    slug = "-".join(words[:4])
    if len(words) > 4 or not slug:
        digest = hashlib.sha1(" ".join(words).encode(), usedforsecurity=False).hexdigest()
        slug = f"{slug}-{digest[:6]}" if slug else digest[:6]
    return slug


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase to find in normalised text: its id, its pattern and a word to gate it on."""

    id: str
    pattern: re.Pattern[str]
    gate: str

    def search(self, norm: str) -> re.Match[str] | None:
        """The first match in the normalised text, if any."""
        return self.pattern.search(norm) if self.gate in norm else None

    def finditer(self, norm: str) -> list[re.Match[str]]:
        """Every match in the normalised text."""
        return list(self.pattern.finditer(norm)) if self.gate in norm else []


def _compile(pid: str, phrase: str) -> Phrase:
    tokens = normalize(phrase).text.split()
    if not tokens or not any(c.isalnum() for t in tokens for c in t):
        raise ValueError(f"phrase {phrase!r} has no letters or digits")
    body = r"\s+".join(
        "".join(re.escape(c) if c.isalnum() else "[^a-z0-9]" for c in token) for token in tokens
    )
    if tokens[0][0].isalnum():
        body = r"(?<![a-z0-9])" + body
    if tokens[-1][-1].isalnum():
        body += r"(?![a-z0-9])"
    gate = max((re.sub(r"[^a-z0-9]", "", t) for t in tokens), key=len)
    return Phrase(pid, re.compile(body), gate)


def phrases(given: Sequence[str] | Mapping[str, str], kind: str) -> list[Phrase]:
    """Compiled phrases, ids from the mapping's keys or from :func:`phrase_id` (a repeated
    id gets ``-2``, ``-3`` …). ``kind`` names the option in error messages."""
    if isinstance(given, Mapping):
        pairs = [(str(k), str(v)) for k, v in given.items()]
    elif isinstance(given, str):
        raise TypeError(f"{kind} must be a sequence of strings, not one string")
    else:
        pairs = [(phrase_id(p), p) for p in given]
    seen: dict[str, int] = {}
    out = []
    for pid, phrase in pairs:
        if not phrase.strip():
            raise ValueError(f"empty entry in {kind}")
        n = seen.get(pid, 0)
        seen[pid] = n + 1
        out.append(_compile(f"{pid}-{n + 1}" if n else pid, phrase))
    return out
