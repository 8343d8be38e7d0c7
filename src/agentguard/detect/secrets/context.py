"""Context rules: what is found only next to a context word (``password``, ``token``,
``key`` …).

The context words are pre-pass probes (:mod:`agentguard.detect.prepass`), found in the
case-folded text; at each hit :func:`scan_context` tries a ``key = value`` assignment (see
:mod:`agentguard.detect.secrets.assignments`), an ``Authorization: Bearer`` / ``Basic``
header or SQL ``IDENTIFIED BY '…'``, and looks for a high-entropy string in a short window
after the word (Shannon entropy is computed only there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from agentguard.detect import prepass
from agentguard.detect.prepass import PreparedText
from agentguard.detect.secrets.assignments import ValueRuns, assignment_at, scrambled
from agentguard.detect.secrets.commands import CLIENTS, client_passwords
from agentguard.detect.secrets.values import (
    EXAMPLE_SCORE,
    UUID,
    WORD,
    b64_utf8,
    capped_score,
    char_classes,
    decodes_to_text,
    looks_like_example,
    shannon_entropy,
    wordlike,
)

#: context words, searched in the case-folded text
KEYWORDS = (
    "pass",
    "pwd",
    "pw",
    "secret",
    "token",
    "key",
    "cred",
    "auth",
    "bearer",
    "basic",
    "identified",
    *CLIENTS,
)
_KEYWORD_PROBES = tuple((word, prepass.literal(word, caseless=True)) for word in KEYWORDS)
#: the pre-pass probes every context-rule finding starts at
PROBES = frozenset(probe for _, probe in _KEYWORD_PROBES)
#: characters of a key name, scanned back from a context word to find the key's start
_IDENT = WORD | frozenset(".-")
#: hex in one case (a digest or a hex key)
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")

_BEARER = re.compile(r"(?i:bearer)[ \t]+([A-Za-z0-9\-._~+/]{16,}=*)(?![A-Za-z0-9\-._~+/=])")
#: SQL: CREATE USER … IDENTIFIED BY 'value'
_SQL_PASSWORD = re.compile(r"(?i:identified[ \t]+by)[ \t]+(?i:password[ \t]+)?'([^'\n]{4,128})'")
_BASIC = re.compile(r"(?i:basic)[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")


#: a password word in prose, then the value after a space: "admin, pw X", "password X"
_PROSE_WORDS = frozenset({"pw", "pwd", "passwd", "password", "passwort", "passphrase"})
_PROSE_VALUE = re.compile(r"[ \t]*:?[ \t]+([^\s\"'`,;()<>]{8,64})(?=[\s.,;:!?)]|$)")


def _prose_password(text: str, lower: str, pos: int) -> tuple[int, int, float, str] | None:
    """``pw VALUE`` in prose: the whole word before is a password word and the value is a
    random-looking run (letters with digits or mixed case, not made of words)."""
    if pos > 0 and lower[pos - 1].isalnum():
        return None  # inside a word (upward, bypass)
    end = pos
    while end < len(lower) and end - pos < 12 and lower[end].isalpha():
        end += 1
    if lower[pos:end] not in _PROSE_WORDS:
        return None
    m = _PROSE_VALUE.match(text, end)
    if m is None:
        return None
    value = m.group(1).rstrip(".!?:")
    if not scrambled(value) or looks_like_example(value):
        return None
    return m.start(1), m.start(1) + len(value), 0.7, "password_assignment"


def _bearer(text: str, m: re.Match[str]) -> tuple[int, int, float, str] | None:
    value = m.group(1)
    lower, upper, digit = char_classes(value)
    if not digit and not (lower and upper):
        return None
    return m.start(1), m.end(1), capped_score(value, 0.8), "bearer_token"


def _basic(text: str, m: re.Match[str]) -> tuple[int, int, float, str] | None:
    value = m.group(1)
    decoded = b64_utf8(value)
    if decoded is None:
        return None
    _user, sep, password = decoded.partition(":")
    if not sep or not password or not decoded.isprintable():
        return None
    score = EXAMPLE_SCORE if looks_like_example(password) else 0.85
    return m.start(1), m.end(1), score, "basic_auth"


#: lower-cased words (maximal letter runs) that make a nearby random string suspicious
_CONTEXT_WORDS = frozenset(
    {
        "key",
        "keys",
        "apikey",
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwords",
        "passwd",
        "pwd",
        "passphrase",
        "credential",
        "credentials",
        "creds",
        "auth",
        "oauth",
        "authorization",
        "authentication",
        "bearer",
    }
)
_CONTEXT_SUFFIXES = (
    "apikey",
    "secretkey",
    "accesskey",
    "privatekey",
    "authkey",
    "token",
    "secret",
    "password",
)
#: words before a random-looking string that say it is not a secret: digests, ids,
#: public keys
_NOT_SECRET_CONTEXT = re.compile(
    r"(?i)sha\d*|md5|hash|digest|checksum|commit|etag|fingerprint|integrity|revision|"
    r"cache|object id|blob|nonce|salt|uuid|guid|request.?id|trace.?id|key.?id|\bkid\b|"
    r"public|publishable|ssh-|ecdsa-"
)
#: a candidate secret: 20 to 512 base64/base64url characters (with their padding) that do
#: not continue a longer run; found after the character before it, whose class is the
#: regex's first set, so that the scan skips ahead in C instead of trying every position
_CANDIDATE = re.compile(r"[^A-Za-z0-9+/_\-]([A-Za-z0-9+/_\-]{20,512}={0,2})(?![A-Za-z0-9+/=_\-])")
_CANDIDATE_AT_START = re.compile(r"[A-Za-z0-9+/_\-]{20,512}={0,2}(?![A-Za-z0-9+/=_\-])")
#: where a candidate can start: 20 characters of its alphabet after one outside it
_RUN_OF_20 = re.compile(r"[^A-Za-z0-9+/_\-][A-Za-z0-9+/_\-]{20}")
_WINDOW = 160


def _word_at(lower: str, pos: int) -> str:
    """The run of letters around ``pos``; ``""`` when it is longer than any context word
    can be (the scan stops there, so a long run of letters costs no more than a short one)."""
    start = pos
    floor = max(0, pos - _MAX_WORD)
    while start > floor and "a" <= lower[start - 1] <= "z":
        start -= 1
    end = pos
    ceiling = min(len(lower), pos + _MAX_WORD)
    while end < ceiling and "a" <= lower[end] <= "z":
        end += 1
    if end - start >= _MAX_WORD:
        return ""
    return lower[start:end]


#: no context word is this long (see _is_context_word)
_MAX_WORD = 21


def _is_context_word(word: str) -> bool:
    return word in _CONTEXT_WORDS or (len(word) <= 20 and word.endswith(_CONTEXT_SUFFIXES))


def _looks_random(value: str) -> bool:
    """A long string over a base64 or hex alphabet that is random enough to be a key."""
    if UUID.search(value) or looks_like_example(value):
        return False
    n = len(value)
    lower, upper, digit = char_classes(value)
    entropy = shannon_entropy(value)
    if _HEX.fullmatch(value):
        return digit and (lower or upper) and entropy >= 3.0
    if not digit or not (lower or upper):
        return False
    if entropy < min(4.4, 0.8 * math.log2(min(n, 64))):
        return False
    if "/" in value and value.count("/") >= 2:
        segments = [s for s in value.split("/") if s]
        if any(re.fullmatch(r"[a-z]{3,}|[a-z]+[._\-][a-z]+", s) for s in segments):
            return False
    parts = re.split(r"[_\-./]", value)
    if len(parts) >= 3 and (
        all(re.fullmatch(r"[A-Za-z][a-z]*|\d{1,4}|", p) for p in parts)
        or all(re.fullmatch(r"[a-z0-9]*", p) for p in parts)
        or all(re.fullmatch(r"[A-Z0-9]*", p) for p in parts)
    ):
        return False  # words_joined_like_an_identifier, gss_krb5_keydata, HTTP_2_SETTINGS
    if wordlike(value) >= 0.7:
        return False  # aLongCamelCaseIdentifier2
    return not decodes_to_text(value)


def _window_end(text: str, hit: int) -> int:
    """Where the window a context word at ``hit`` looks in ends: 160 characters on, or the
    end of the second line after the word's, whichever comes first."""
    stop = min(len(text), hit + _WINDOW)
    line_end = hit
    for _ in range(3):  # this line and the two after it
        line_end = text.find("\n", line_end + 1, stop)
        if line_end == -1:
            return stop
    return line_end


def _entropy_near(
    text: str, hit: int, spans: list[tuple[int, int]], seen: set[int]
) -> Iterator[tuple[int, int, float, str]]:
    """High-entropy candidates starting in ``spans`` (the parts of the window of the context
    word ending at ``hit`` that no earlier word's window covered), judged once each."""
    for lo, stop in spans:
        for start, end in _candidates(text, lo, stop):
            if start in seen:
                continue
            seen.add(start)
            value = text[start:end]
            if not _looks_random(value.rstrip("=")):
                continue
            lead = text[max(0, hit - 40) : start]
            if _NOT_SECRET_CONTEXT.search(lead) or value.startswith("pk_"):
                continue
            yield start, end, 0.6, "high_entropy"


def _candidates(text: str, lo: int, stop: int) -> Iterator[tuple[int, int]]:
    """Spans of the candidate secrets that start in ``text[lo:stop]``, in order (each is at
    most 514 characters, so none reaches past ``stop + 600``, the window it is read in)."""
    end = min(len(text), stop + 600)
    if lo == 0:
        first = _CANDIDATE_AT_START.match(text, 0, end)
        if first is not None:
            yield first.span()
            lo = first.end() + 1
    pos = max(lo - 1, 0)  # where the character before a candidate may be
    while (run := _RUN_OF_20.search(text, pos, stop + 19)) is not None:
        m = _CANDIDATE.match(text, run.start(), end)
        if m is None:
            pos = run.start() + 1
        else:
            yield m.span(1)
            pos = m.end()


def scan_context(prepared: PreparedText) -> Iterator[tuple[int, int, float, str, int]]:
    """``(start, end, score, subtype, priority)`` of every context-rule finding: priority 2
    for assignments and headers, 3 for high-entropy strings near a context word."""
    hits = _keyword_hits(prepared)
    if not hits:
        return
    text, lower = prepared.text, prepared.low
    keys_done: set[int] = set()
    runs = ValueRuns(text)
    entropy_seen: set[int] = set()
    covered = (0, 0)  # the span of text the windows of earlier context words covered
    for pos, word in hits:
        # key = value, with the key containing the context word
        key_start = pos
        while key_start > 0 and pos - key_start < 100 and text[key_start - 1] in _IDENT:
            key_start -= 1
        if key_start not in keys_done:
            keys_done.add(key_start)
            if (found := assignment_at(text, lower, key_start, runs)) is not None or (
                word in ("pw", "pwd", "pass") and (found := _prose_password(text, lower, pos))
            ):
                yield (*found, 2)
        if word == "bearer":
            bm = _BEARER.match(text, pos)
            if bm is not None and (found := _bearer(text, bm)) is not None:
                yield (*found, 2)
        elif word == "identified":
            sm = _SQL_PASSWORD.match(text, pos)
            if sm is not None:
                score = capped_score(sm.group(1), 0.8)
                yield sm.start(1), sm.end(1), score, "password_assignment", 2
            continue
        elif word in CLIENTS:
            yield from client_passwords(text, word, pos)
            continue
        elif word == "basic":
            bm = _BASIC.match(text, pos)
            if bm is not None and (found := _basic(text, bm)) is not None:
                yield (*found, 2)
            continue
        if _is_context_word(_word_at(lower, pos)):
            # windows of nearby words overlap: only the part no earlier window covered is
            # read again (its candidates are the same whichever word reads them)
            hit = pos + len(word)
            stop = _window_end(text, hit)
            spans = []
            if hit < covered[0]:
                spans.append((hit, min(stop, covered[0])))
            if stop > covered[1]:
                spans.append((max(hit, covered[1]), stop))
            if hit <= covered[1] and stop >= covered[0]:
                covered = (min(covered[0], hit), max(covered[1], stop))
            else:
                covered = (hit, stop)
            for s, e, sc, st in _entropy_near(text, hit, spans, entropy_seen):
                yield s, e, sc, st, 3


def _keyword_hits(prepared: PreparedText) -> list[tuple[int, str]]:
    # no keyword overlaps itself, so every occurrence is a non-overlapping one
    found = prepared.hits()
    hits: list[tuple[int, str]] = []
    for word, probe in _KEYWORD_PROBES:
        positions = prepared.positions(probe) if found is None else found.get(probe)
        if positions:
            hits.extend([(pos, word) for pos in positions])
    hits.sort()
    return hits
