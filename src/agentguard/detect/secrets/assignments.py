"""``key = value`` assignments whose key names a credential: the value is the secret.

:func:`assignment_at` matches, at the start of a key, the forms a credential is written in —
``key = value`` / ``key: value`` / ``"key": "value"`` / ``key := value`` / ``token: str =
"…"``, prose (``the password is …``), ``<password>…</password>``, a Kubernetes ``- name:
DB_PASSWORD`` / ``value: …`` pair and ``.netrc`` — and scores the value: variables, words,
paths, numbers, type names and placeholders are not secrets; random-looking values are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agentguard.detect.secrets.values import (
    DIGITS,
    EXAMPLE_SCORE,
    KEY_PARTS,
    UUID,
    b64_text,
    capped_score,
    char_classes,
    looks_like_example,
    shannon_entropy,
    wordlike,
)

#: the most characters of an unquoted value the regex reads, and of any value the heuristics
#: look at: work per key stays bounded however long a run of value characters is (a longer
#: value is still reported whole, see :class:`ValueRuns`)
MAX_VALUE = 512
#: how many keys inside one unquoted value are tried as keys of their own (``${DB_PASSWORD:-
#: s3cr3t}`` has one; ``pwd=pwd=pwd=…`` would have one per four characters)
MAX_NESTED = 4
_UNQUOTED_RUN = re.compile(r"[^\s\"'`,;&<]*")

_ASSIGN = re.compile(
    r"""
    (?P<key>[A-Za-z0-9_.\-]{1,100}+)       # possessive: a shorter key is never followed
                                            # by a separator, so backtracking only costs
    \\?["']?                                            # closing quote of the key
    (?P<sep>
        [ \t]*:[ \t]*[A-Za-z_][\w\[\]|., ]{0,40}?[ \t]*=(?!=)   # token: str = "…"
      | [ \t]*(?::=|==|=>|\?=|=|:)
      | [ \t]+(?:is|was)[ \t]*:?                           # prose: the password is …
    )
    [ \t]*
    (?:
        \\"(?P<eq>[^"\\\n]*)\\"                           # inside a JSON string: \"…\"
      | \\'(?P<es>[^'\\\n]*)\\'                           # inside a repr'd string: \'…\'
      | "(?P<dq>[^"\\\n]*+(?:\\.[^"\\\n]*+)*+)"
      | '(?P<sq>[^'\n]*)'
      | `(?P<bq>[^`\n]*)`
      | (?P<uq>[^\s"'`,;&<]{1,MAX_VALUE})                 # longer: see ValueRuns
    )
    """.replace("MAX_VALUE", str(MAX_VALUE)),
    re.VERBOSE,
)
#: ``<password>value</password>`` (Maven settings.xml, .NET config …)
_XML_VALUE = re.compile(r"(?P<key>[A-Za-z0-9_.\-]{1,100}+)>(?P<xq>[^<>\s]{1,256})</(?P=key)>")
#: a Kubernetes / CI ``- name: DB_PASSWORD`` followed by ``value: …`` on the next line
_NAME_BEFORE = re.compile(r"name:[ \t]*[\"']?$")
_NAME_VALUE = re.compile(
    r"""(?P<key>[A-Za-z0-9_.\-]{1,100}+)["']?[ \t]*\r?\n[ \t]*value:[ \t]*"""
    r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<uq>[^\s"'#]+))"""
)
#: ``.netrc``: ``machine host login user password value``
_NETRC_VALUE = re.compile(r"(?P<key>password|passwd)[ \t]+(?P<uq>[^\s]+)")
_VALUE_GROUPS = ("eq", "es", "dq", "sq", "bq", "uq", "xq")
_PASSWORD_SUFFIXES = ("password", "passwd", "passwort", "passphrase", "pwd")
_SECRET_SUFFIXES = (
    "secret",
    "token",
    "apikey",
    "secretkey",
    "accesskey",
    "privatekey",
    "authkey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "sessionkey",
    "accountkey",
    "subscriptionkey",
    "secretkeybase",
    "credential",
    "credentials",
    "creds",
)
_SECRET_LAST_PARTS = frozenset({"pass", "auth", "bearer", "pat"})
_NOT_SECRET_KEYS = (
    "pagetoken",
    "nexttoken",
    "continuationtoken",
    "cursortoken",
    "synctoken",
    "resumetoken",
    "maxtoken",
    "csrftoken",
    "publickey",
)
_HASHED_PARTS = frozenset({"hash", "hashed", "digest", "bcrypt", "sha256", "sha512"})
_NON_VALUES = frozenset(
    {
        "true",
        "false",
        "null",
        "none",
        "nil",
        "undefined",
        "str",
        "string",
        "int",
        "bytes",
        "bool",
        "optional",
        "required",
        "secretstr",
        "any",
        "env",
        "self",
        "this",
        "function",
        "object",
        "list",
        "dict",
    }
)
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_PATH_LIKE = re.compile(
    r"(?:~|\.{1,2})?/[\w.\-]+(?:/[\w.\-]*)+|[\w\-]+\.(?:pem|key|json|txt|p12|pfx)"
)
#: numbers, versions, dates, OIDs: 42, 1.2.3, v2.0.1-rc1, 2024-01-01, 1.3.6.1.5.5.7.3.1
_NUMBERISH = re.compile(r"[vV]?\d+(?:[.:\-/]\d+)*(?:[.\-+][A-Za-z]+\d*)?")
_SNAKE_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_CSS_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_IDENTIFIER_ONLY = re.compile(r"[A-Za-z_]+")
_B64_40 = re.compile(r"[A-Za-z0-9/+]{40}")
#: ``--password VALUE`` on a command line (the key is read with its dashes)
_FLAG_VALUE = re.compile(
    r"""(?P<key>--[A-Za-z0-9_.\-]{1,100}+)(?P<sep>[ \t]+)"""
    r"""(?:"(?P<dq>[^"\\\n]*)"|'(?P<sq>[^'\n]*)'|(?P<uq>[^\s"'`,;&<|\-][^\s"'`,;&<|]{0,511}))"""
)
#: ``KEY: value`` where ``_ASSIGN`` took ``: value=`` for a type annotation
_COLON_VALUE = re.compile(
    r"""(?P<key>[A-Za-z0-9_.\-]{1,100}+)\\?["']?(?P<sep>[ \t]*:)[ \t]*"""
    r"""(?P<uq>[^\s"'`,;&<]{1,512})"""
)
#: the rest of a value cut at a comma: ``password=abc,def`` (not ``a=1,b=2``)
_AFTER_COMMA = re.compile(r",([^\s\"'`,;&<=:()]{3,64})(?=[\s\"'`;&<]|$)")
#: characters a random password may start with, which code rarely puts there unquoted
_LEADING_SYMBOLS = frozenset("!*#&@^~")
_TWILIO_HEX = re.compile(r"[0-9a-f]{32}")


def scrambled(value: str) -> bool:
    """A password-like run: at least 8 characters, letters with digits or with both cases
    (not Title case), and not made of words: mostly short identifier parts, as random
    text splits (``getPassword2`` is a name, ``DhU4XgaOzy`` is not)."""
    if len(value) < 8:
        return False
    lower, upper, digit = char_classes(value)
    if not (lower or upper) or not (digit or (lower and upper)):
        return False
    return wordlike(value) < 0.7 and len(KEY_PARTS.findall(value)) >= 4


def _annotation_is_value(m: re.Match[str]) -> bool:
    """``KEY: Ab3x=yz`` read as ``key: <type> = value``: the "type" is a scrambled run."""
    sep = m.group("sep")
    if ":" not in sep or "=" not in sep:
        return False
    annotation = sep.strip(" \t:=")
    return " " not in annotation and "[" not in annotation and scrambled(annotation)


def _key_kind(key: str) -> str | None:
    """``password_assignment`` / ``secret_assignment`` when the key names a credential."""
    parts = [part.lower() for part in KEY_PARTS.findall(key)]
    if not parts:
        return None
    compact = "".join(parts)
    if compact.endswith(_NOT_SECRET_KEYS) or _HASHED_PARTS.intersection(parts):
        return None  # hashed_password, password_hash: a stored digest, not the secret
    if compact.endswith(_PASSWORD_SUFFIXES) or parts[-1] == "pass":
        return "password_assignment"
    if compact.endswith(_SECRET_SUFFIXES) or parts[-1] in _SECRET_LAST_PARTS:
        return "secret_assignment"
    return None


@dataclass(slots=True)
class ValueRuns:
    """The runs of unquoted-value characters of one text, as its keys are tried in order.

    An unquoted value is read at most :data:`MAX_VALUE` characters at a time; a longer one
    runs to the end of its run of value characters, found here once per run (the keys of a
    text come in ascending order, so the last run found answers every key inside it).
    Keys inside one run are also counted: past :data:`MAX_NESTED` of them, a key inside the
    value of an earlier key is not tried (``pwd=pwd=pwd=…``), so each character of a text
    is read by a bounded number of keys.
    """

    text: str
    _lo: int = -1
    _hi: int = -1
    _keys: dict[int, int] = field(default_factory=dict)

    def end(self, pos: int) -> int:
        """The end of the run of value characters that holds ``pos``."""
        if not self._lo <= pos < self._hi:
            run = _UNQUOTED_RUN.match(self.text, pos)
            self._lo, self._hi = pos, run.end() if run is not None else pos
        return self._hi

    def crowded(self, run_end: int) -> bool:
        """Count one more key whose value ends at ``run_end``; whether too many have."""
        seen = self._keys.get(run_end, 0) + 1
        self._keys[run_end] = seen
        return seen > MAX_NESTED


def _assignment(
    text: str, m: re.Match[str], runs: ValueRuns | None
) -> tuple[int, int, float, str] | None:
    """The value of ``key = value`` (any of the matchers above) when the key names a
    credential and the value looks like one."""
    key = m.group("key")
    kind = _key_kind(key)
    if kind is None:
        return None
    groups = m.groupdict()
    group = next(g for g in _VALUE_GROUPS if groups.get(g) is not None)
    quoted = group != "uq"
    prose = (groups.get("sep") or "=").strip()[:2] in ("is", "wa")
    start, end = m.start(group), m.end(group)
    if not quoted:
        if runs is not None and m.re is _ASSIGN:
            if end - start == MAX_VALUE:
                end = runs.end(start)  # longer than the regex reads: the value runs on
            if runs.crowded(end):
                return None
        if end < len(text) and text[end] == "," and end - start < 64:
            more = _AFTER_COMMA.match(text, end)
            if more is not None and scrambled(text[start:end] + more.group(1)):
                end = more.end()  # password=DhU,4Xga…: a comma inside a random value
        while end > start and text[end - 1] in _TRAILING:  # a full stop, a closing bracket
            end -= 1
    # the heuristics look at the first MAX_VALUE characters: bounded work per key
    value = text[start : min(end, start + MAX_VALUE)]
    if not quoted and not _random_unquoted(value):
        if value[:1] in ("$", "%", "@", "!", "&", "*", "{", "[", "(", "#", "|", ">", "<"):
            return None
        if "(" in value or "[" in value or _DOTTED_NAME.fullmatch(value):
            return None
        if DIGITS.isdisjoint(value) and wordlike(value) >= 0.7:
            return None  # words: "session_token: Caller-supplied …"
        if _SNAKE_NAME.fullmatch(value):
            return None  # a variable: private_key=priv_b64
    if len(value) < 4 or value.lower() in _NON_VALUES or _CSS_COLOUR.fullmatch(value):
        return None
    if value.startswith(("http://", "https://")) and "@" not in value:
        return None
    low_key = key.lower()
    if (
        "secret" in low_key
        and ("access" in low_key or "aws" in low_key)
        and _B64_40.fullmatch(value)
        and shannon_entropy(value) > 4.0
    ):
        return start, end, capped_score(value, 0.95), "aws_secret_key"
    if "twilio" in low_key and _TWILIO_HEX.fullmatch(value):
        return start, end, capped_score(value, 0.9), "twilio"
    if _PATH_LIKE.fullmatch(value) or _NUMBERISH.fullmatch(value):
        return None
    lower, upper, digit = char_classes(value)
    if prose:  # "the password is …": only a value no English word looks like
        symbols = not value.isalnum()
        mixed_case = lower and upper and not value.istitle()
        if not ((digit or symbols or mixed_case) and (lower or upper)):
            return None
        return start, end, capped_score(value, 0.7), kind
    if _SPACE.search(value) is not None:
        score = 0.4
    elif UUID.fullmatch(value):
        score = 0.55
    elif len(value) < 6:
        score = 0.45
    elif not quoted and _IDENTIFIER_ONLY.fullmatch(value):
        if wordlike(value) >= 0.7:
            return None  # a variable or a word: some_name, someName, hunter
        score = 0.7 if (lower and upper) or len(value) >= 12 else 0.45
    elif value.isalpha() and not digit:
        if (groups.get("sep") or "").strip() == "==":
            return None  # token == "lambda": a comparison in a parser
        # random letters are a password; a word ("sunshine", "IAmSensitive") may be one
        score = 0.45 if wordlike(value) >= 0.7 or len(value) < 8 else 0.7
    elif len(value) >= 20 and shannon_entropy(value) >= 4.0:
        score = 0.85
    else:
        score = 0.8
    decoded = b64_text(value)
    if decoded is not None:  # a base64 value (a Kubernetes Secret): judge what it encodes
        if looks_like_example(decoded):
            return start, end, EXAMPLE_SCORE, kind
        if " " in decoded.strip():
            score = 0.25  # base64 of ordinary words
    return start, end, capped_score(value, score), kind


_TRAILING = frozenset(".,;:)]}>")


def _random_unquoted(value: str) -> bool:
    """An unquoted value that would be taken for code (a leading ``!``, a ``(`` or a
    dotted name) but reads as a random password: ``!DhU4Xga…``, ``DhU4X(gaO…`` (a call
    has its closing bracket), ``KDhU4Xga….gQ`` (a dotted name with a scrambled part)."""
    if value[:1] in _LEADING_SYMBOLS:
        return scrambled(value[1:]) and "(" not in value and "." not in value
    if "(" in value:
        return ")" not in value and "[" not in value and scrambled(value.replace("(", ""))
    if _DOTTED_NAME.fullmatch(value):
        parts = value.split(".")
        return any(len(p) >= 10 and all(char_classes(p)) and scrambled(p) for p in parts)
    return False


_SPACE = re.compile(r"\s")


def assignment_at(
    text: str, lower: str, key_start: int, runs: ValueRuns | None = None
) -> tuple[int, int, float, str] | None:
    """``(start, end, score, subtype)`` of the value assigned to the key starting at
    ``key_start``, when the key names a credential and the value looks like one. Keys of
    one text tried in ascending order share one ``runs`` (see :class:`ValueRuns`)."""
    m = _ASSIGN.match(text, key_start)
    if m is not None and _annotation_is_value(m):
        m = _COLON_VALUE.match(text, key_start)
    if m is None and text.startswith("--", key_start):
        m = _FLAG_VALUE.match(text, key_start)
    elif m is None and key_start > 0:
        if text[key_start - 1] == "<":
            m = _XML_VALUE.match(text, key_start)
        elif "name:" in text[max(0, key_start - 20) : key_start] and _NAME_BEFORE.search(
            text, max(0, key_start - 20), key_start
        ):
            m = _NAME_VALUE.match(text, key_start)
        elif "machine" in lower[max(0, key_start - 200) : key_start]:
            m = _NETRC_VALUE.match(text, key_start)
    return None if m is None else _assignment(text, m, runs)
