"""What a candidate secret value looks like: the heuristics every secrets scanner shares.

Documentation examples and placeholders (:func:`looks_like_example`, capped at
:data:`EXAMPLE_SCORE` by :func:`capped_score`), Shannon entropy, base64 decoding (a value
that is really base64 of words is not a key), character classes, and how much of a value
reads like words once split like an identifier.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter

#: score given to documentation examples and placeholders
EXAMPLE_SCORE = 0.2

#: characters of a word (``\w`` in ASCII): a secret must not follow one of them
WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_B64_OR_PAD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
# The heuristics below look at every character of a value: each is a few C-level passes
# (set operations, str methods, one regex), never a Python loop per character, so a long
# value costs little more than a short one.

_EXAMPLE_MARKERS = (
    "example",
    "dummy",
    "placeholder",
    "xxxx",
    "changeme",
    "change_me",
    "change-me",
    "replaceme",
    "replace_me",
    "your_",
    "your-",
    "yourapikey",
    "yourtoken",
    "yoursecret",
    "yourpassword",
    "redacted",
    "sample",
    "notreal",
    "not_real",
    "not-a-real",
    "fake",
    "****",
    "...",
    "\u2026",
    "${",
    "{{",
    "}}",
    "%(",
    "123456",
    "abcdefgh",
    "qwerty",
)
_EXAMPLE_VALUES = frozenset(
    {
        "changeit",
        "foobar",
        "hunter2",
        "letmein",
        "mypassword",
        "mysecret",
        "none",
        "null",
        "p@ssw0rd",
        "p@ssword",
        "pass",
        "passw0rd",
        "passwd",
        "password",
        "password1",
        "password123",
        "s3cr3t",
        "secret",
        "secret123",
        "supersecret",
        "test",
        "token",
        "apikey",
        "api_key",
        "api-key",
    }
)
_EXAMPLE_SHAPE = re.compile(r"(?i)(?:test|demo|mock|sample|example|dummy|fake)[\W_]?\d{0,4}")
_EXAMPLE_MARKER = re.compile("|".join(map(re.escape, _EXAMPLE_MARKERS)))
_ANGLE = re.compile(r"<[^<>]*>")
#: format-string holes: {0}, {name}, %s, %(name)s
_TEMPLATE_HOLE = re.compile(r"\{[\w.]*\}|%[sd]|%\(\w+\)s")


def looks_like_example(value: str, *, cased: bool = False) -> bool:
    """True for documentation examples and placeholders: ``…EXAMPLE…``, ``dummy``,
    ``xxxx``, ``changeme``, ``your_api_key``, ``<token>``, ``${VAR}``, ``{{ var }}``,
    format-string holes (``{0}``, ``%s``), a value made mostly of one repeated character,
    and the usual demo passwords.

    ``cased``: a marker counts only written in one case (``fake``, ``FAKE``, ``Fake``), as
    a person writes a placeholder; the random body of a vendor token spells ``fAkE`` or
    ``xXxX`` by chance, and is not an example for that."""
    if not value:
        return True
    low = value.lower()
    if low in _EXAMPLE_VALUES or _EXAMPLE_SHAPE.fullmatch(low):
        return True
    if _ANGLE.search(value):
        return True
    if cased:
        if any(_EXAMPLE_MARKER.search(form) for form in _cased_forms(value)):
            return True
    elif _EXAMPLE_MARKER.search(low):
        return True
    if _TEMPLATE_HOLE.search(value):
        return True
    _, most = Counter(value).most_common(1)[0]
    return most * 10 >= len(value) * 6


def _cased_forms(value: str) -> list[str]:
    """``value`` with its letters kept only where a marker in one case could be: lower-case
    runs, upper-case runs lowered, and title-case words lowered (others become spaces)."""
    lower = _NOT_LOWER.sub(" ", value)
    upper = _NOT_UPPER.sub(" ", value).lower()
    title = " ".join(m.group(0).lower() for m in _TITLE_WORD.finditer(value))
    return [lower, upper, title]


_NOT_LOWER = re.compile(r"[A-Z]+")
_NOT_UPPER = re.compile(r"[a-z]+")
_TITLE_WORD = re.compile(r"[A-Z][a-z]+")


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0.0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def b64decode(value: str) -> bytes | None:
    """Bytes of a base64 / base64url string (padding optional), or None."""
    body = value.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in body or "_" in body:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def b64_utf8(value: str) -> str | None:
    """The UTF-8 text a base64 value decodes to, or None."""
    raw = b64decode(value)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def b64_text(value: str) -> str | None:
    """The printable text a base64 value encodes, or None."""
    if len(value) < 8 or len(value) % 4 or not _B64_OR_PAD.issuperset(value):
        return None
    decoded = b64_utf8(value)
    return decoded if decoded is not None and decoded.isprintable() else None


def decodes_to_text(value: str) -> bool:
    """True when a base64-looking string is really base64 of ordinary printable text."""
    if len(value) < 12:
        return False
    raw = b64decode(value)
    if raw is None or len(raw) < 8:
        return False
    try:
        decoded = raw.decode("ascii")
    except UnicodeDecodeError:
        return False
    if not decoded.translate(_NO_NEWLINE_OR_TAB).isprintable():
        return False
    letters = len(decoded) - len(decoded.translate(_NO_LETTER_OR_SPACE))
    return letters * 10 >= len(decoded) * 6


_NO_NEWLINE_OR_TAB = str.maketrans("", "", "\n\t")
_NO_LETTER_OR_SPACE = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ")


def char_classes(value: str) -> tuple[bool, bool, bool]:
    """Whether ``value`` holds ASCII lower-case letters, upper-case letters, digits."""
    chars = set(value)
    return (
        not _LOWER.isdisjoint(chars),
        not _UPPER.isdisjoint(chars),
        not DIGITS.isdisjoint(chars),
    )


def capped_score(value: str, score: float, *, cased: bool = False) -> float:
    """``score``, capped at :data:`EXAMPLE_SCORE` when ``value`` looks like an example
    (``cased``: see :func:`looks_like_example`)."""
    return min(score, EXAMPLE_SCORE) if looks_like_example(value, cased=cased) else score


def boundary_before(text: str, start: int) -> bool:
    """True when ``text[start]`` does not follow a letter, digit or underscore."""
    return start == 0 or text[start - 1] not in WORD


#: the parts of an identifier: ``AWSSecretKey`` -> ``AWS``, ``Secret``, ``Key``
KEY_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
#: a UUID: an identifier, not a secret
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def wordlike(value: str) -> float:
    """The share of ``value`` made of word-like parts (two or more letters with a vowel)
    once split like an identifier: 1.0 for ``someVariableName``, ~0.3 for random text."""
    if not value:
        return 0.0
    # the parts, one space between them; then the letter-only ones of two or more letters
    # with a vowel (KEY_PARTS gives ASCII letters or digits, so isalpha is [A-Za-z])
    parts = " ".join(KEY_PARTS.findall(value))
    return sum(map(len, _WORD_PART.findall(parts))) / len(value)


_WORD_PART = re.compile(r"(?<!\S)(?=[A-Za-z]*[AEIOUYaeiouy])[A-Za-z]{2,}(?!\S)")
