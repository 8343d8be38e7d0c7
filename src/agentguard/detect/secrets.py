"""Secrets and credentials: vendor tokens, private keys, JWTs, passwords in URLs and code.

``SecretsDetector().detect(text)`` returns ``Finding(type="SECRET", subtype=…)`` values whose
span is the credential itself: ``text[f.start:f.end]`` is the token, the password of a
connection string, the value (never the key) of a ``password=`` assignment, or a whole
PEM private-key block.

How it stays fast on ordinary text: every vendor rule starts with a literal prefix
(``ghp_``, ``xoxb-``, ``eyJ`` …) or is gated by a literal anchor, so on prose each rule
costs one C-level substring search; context rules (assignments, ``Bearer``, entropy) run
only at the few places where a context word (``password``, ``token``, ``key`` …) occurs,
and Shannon entropy is computed only in a short window after such a word.

Scores: vendor formats with a valid structure ~0.95; ``key = value`` assignments ~0.8;
high-entropy strings next to a context word ~0.6; Stripe test keys 0.6; documentation
examples and placeholders (``…EXAMPLE…``, ``xxxx``, ``<token>``, ``${VAR}``, one repeated
character …) at most 0.2. Look-alikes (UUIDs, hex digests, base64 of words, paths, URLs
without credentials) are not reported.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from agentguard.detect.base import Finding

__all__ = ["SUBTYPES", "SecretsDetector", "looks_like_example", "shannon_entropy"]

SECRET = "SECRET"  # noqa: S105 - the finding type, not a password

#: every subtype a finding of this detector can carry
SUBTYPES: frozenset[str] = frozenset(
    {
        "agentguard_key",
        "anthropic_key",
        "aws_access_key",
        "aws_secret_key",
        "azure_connection_string",
        "azure_sas_token",
        "azure_storage_key",
        "basic_auth",
        "bearer_token",
        "discord_token",
        "discord_webhook",
        "gcp_api_key",
        "gcp_service_account",
        "github_token",
        "gitlab_token",
        "google_oauth",
        "high_entropy",
        "huggingface_token",
        "jwt",
        "npm_token",
        "openai_key",
        "password_assignment",
        "private_key",
        "pypi_token",
        "secret_assignment",
        "sendgrid_key",
        "slack_token",
        "slack_webhook",
        "stripe_key",
        "telegram_bot_token",
        "twilio",
        "url_password",
    }
)

#: score given to documentation examples and placeholders
EXAMPLE_SCORE = 0.2

_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_IDENT = _WORD | frozenset(".-")
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

# ---------------------------------------------------------------------------------------
# value heuristics
# ---------------------------------------------------------------------------------------

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
_ANGLE = re.compile(r"<[^<>]*>")
#: format-string holes: {0}, {name}, %s, %(name)s
_TEMPLATE_HOLE = re.compile(r"\{[\w.]*\}|%[sd]|%\(\w+\)s")


def looks_like_example(value: str) -> bool:
    """True for documentation examples and placeholders: ``…EXAMPLE…``, ``dummy``,
    ``xxxx``, ``changeme``, ``your_api_key``, ``<token>``, ``${VAR}``, ``{{ var }}``,
    format-string holes (``{0}``, ``%s``), a value made mostly of one repeated character,
    and the usual demo passwords."""
    if not value:
        return True
    low = value.lower()
    if low in _EXAMPLE_VALUES or _EXAMPLE_SHAPE.fullmatch(low):
        return True
    if any(marker in low for marker in _EXAMPLE_MARKERS) or _ANGLE.search(value):
        return True
    if _TEMPLATE_HOLE.search(value):
        return True
    _, most = Counter(value).most_common(1)[0]
    return most * 10 >= len(value) * 6


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0.0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _b64decode(value: str) -> bytes | None:
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


def _b64_text(value: str) -> str | None:
    """The printable text a base64 value encodes, or None."""
    if len(value) < 8 or len(value) % 4 or not all(ch in _B64 or ch == "=" for ch in value):
        return None
    raw = _b64decode(value)
    if raw is None:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded if decoded.isprintable() else None


def _decodes_to_text(value: str) -> bool:
    """True when a base64-looking string is really base64 of ordinary printable text."""
    if len(value) < 12:
        return False
    raw = _b64decode(value)
    if raw is None or len(raw) < 8:
        return False
    try:
        decoded = raw.decode("ascii")
    except UnicodeDecodeError:
        return False
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\t")
    letters = sum(1 for ch in decoded if ch.isalpha() or ch == " ")
    return printable == len(decoded) and letters * 10 >= len(decoded) * 6


def _classes(value: str) -> tuple[bool, bool, bool]:
    lower = upper = digit = False
    for ch in value:
        if "a" <= ch <= "z":
            lower = True
        elif "A" <= ch <= "Z":
            upper = True
        elif "0" <= ch <= "9":
            digit = True
    return lower, upper, digit


def _score(value: str, score: float) -> float:
    return min(score, EXAMPLE_SCORE) if looks_like_example(value) else score


def _boundary_before(text: str, start: int) -> bool:
    return start == 0 or text[start - 1] not in _WORD


# ---------------------------------------------------------------------------------------
# vendor rules: a literal prefix (or a literal anchor) and a structure check
# ---------------------------------------------------------------------------------------

_Check = Callable[[str, re.Match[str]], tuple[float, str] | None]


@dataclass(frozen=True, slots=True)
class _Rule:
    subtype: str
    pattern: re.Pattern[str]
    score: float
    #: literal substrings one of which must occur before the pattern is run (empty: the
    #: pattern begins with a literal and is run directly, which is just as cheap)
    anchors: tuple[str, ...] = ()
    #: the group holding the secret (0: the whole match)
    group: int = 0
    #: refines (score, subtype) from the match, or drops it by returning None
    check: _Check | None = None
    #: the secret must not follow a letter, digit or underscore
    bounded: bool = True


def _check_aws_key(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    body = m.group(0)[4:]
    base32 = all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in body)
    return (0.95 if base32 else 0.85), "aws_access_key"


def _check_github(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if value.startswith("github_pat_"):
        fine = re.fullmatch(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", value)
        return (0.97 if fine else 0.9), "github_token"
    body = value[4:]
    if len(body) < 36 or "_" in body:
        return None
    return (0.95 if len(body) == 36 else 0.9), "github_token"


def _check_slack(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0).rstrip("-")
    if value.startswith("xapp-"):
        ok = re.fullmatch(r"xapp-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]{20,}", value)
        return (0.95, "slack_token") if ok else None
    if re.fullmatch(r"xox[a-z]-(?:\d+-){1,3}[A-Za-z0-9]{16,}", value):
        return 0.95, "slack_token"
    if value.count("-") >= 2 and len(value) >= 30:
        return 0.8, "slack_token"
    return None


def _check_slack_webhook(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if re.search(r"/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}$", value):
        return 0.97, "slack_webhook"
    return 0.85, "slack_webhook"


def _check_stripe(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if value.startswith("whsec_"):
        return 0.9, "stripe_key"
    return (0.6 if "_test_" in value[:8] else 0.95), "stripe_key"


def _check_openai(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if value.startswith("sk-ant-"):
        return _check_anthropic(text, m)
    rest = value[3:]
    if re.fullmatch(r"[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", rest):
        return 0.98, "openai_key"
    project = re.fullmatch(r"(?:proj|svcacct|admin)-([A-Za-z0-9_\-]+)", rest)
    if project:
        return (0.95, "openai_key") if len(project.group(1)) >= 40 else None
    if not re.fullmatch(r"[A-Za-z0-9]+", rest):
        return None
    if len(rest) == 48:
        return 0.9, "openai_key"
    return (0.8, "openai_key") if len(rest) >= 32 else None


def _check_anthropic(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if len(value) < 7 + 32:
        return None
    if re.fullmatch(r"sk-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_\-]{80,}", value):
        return 0.98, "anthropic_key"
    return 0.9, "anthropic_key"


def _check_huggingface(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    body = m.group(0)[3:]
    lower, upper, _ = _classes(body)
    if (lower and upper) or looks_like_example(body):
        return 0.95, "huggingface_token"  # an example is kept here and scored low later
    return (0.8, "huggingface_token") if _wordlike(body) < 0.7 else None


def _check_pypi(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    body = m.group(0)[5:]
    if body.startswith(("AgEIcHlwaS5vcmc", "AgENdGVzdC5weXBpLm9yZw")):
        return 0.98, "pypi_token"
    return (0.85, "pypi_token") if body.startswith("Ag") else None


def _check_jwt(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    header_b64, payload_b64, signature = m.group(0).split(".")
    try:
        header = json.loads(_b64decode(header_b64) or b"")
    except ValueError:
        return None
    if not isinstance(header, dict) or "alg" not in header:
        return None
    try:
        payload_ok = isinstance(json.loads(_b64decode(payload_b64) or b""), dict)
    except ValueError:
        payload_ok = False
    if str(header.get("alg")).lower() == "none" or len(signature) < 16:
        return 0.5, "jwt"
    return (0.92 if payload_ok else 0.7), "jwt"


def _check_azure_account_key(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(1)
    if len(value) == 88 and value.endswith("=="):
        return 0.95, "azure_storage_key"
    return (0.85, "azure_storage_key") if len(value) >= 40 else None


def _check_azure_shared(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(1)
    if len(value) == 44 and value.endswith("="):
        return 0.95, "azure_connection_string"
    return (0.85, "azure_connection_string") if len(value) >= 32 else None


def _check_azure_sas(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    if m.start() == 0 or text[m.start() - 1] not in "?&":
        return None
    window = text[max(0, m.start() - 400) : m.start()]
    if "sv=" not in window and "se=" not in window:
        return None
    return 0.85, "azure_sas_token"


_TAIL_GUARD = r"(?![A-Za-z0-9_\-])"

_RULES: tuple[_Rule, ...] = (
    # ``A(?:KIA)`` is the literal prefix AKIA, spelled so that this file holds no full key
    _Rule(
        "aws_access_key",
        re.compile(r"A(?:KIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        0.95,
        check=_check_aws_key,
    ),
    _Rule(
        "aws_access_key",
        re.compile(r"A(?:SIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        0.95,
        check=_check_aws_key,
    ),
    _Rule("gcp_api_key", re.compile(r"AIza[0-9A-Za-z_\-]{35}" + _TAIL_GUARD), 0.95),
    _Rule("google_oauth", re.compile(r"GOCSPX-[0-9A-Za-z_\-]{28}" + _TAIL_GUARD), 0.95),
    _Rule("google_oauth", re.compile(r"ya29\.[0-9A-Za-z_\-]{30,}"), 0.9),
    _Rule("google_oauth", re.compile(r"1//0[0-9A-Za-z_\-]{40,}"), 0.85),
    _Rule(
        "github_token",
        re.compile(r"gh[pousr]_[A-Za-z0-9_]{36,251}(?![A-Za-z0-9])"),
        0.95,
        check=_check_github,
    ),
    _Rule(
        "github_token",
        re.compile(r"github_pat_[A-Za-z0-9_]{50,}(?![A-Za-z0-9])"),
        0.95,
        check=_check_github,
    ),
    _Rule(
        "gitlab_token",
        re.compile(r"gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt)-[A-Za-z0-9_\-]{20,}"),
        0.95,
    ),
    _Rule(
        "slack_token",
        re.compile(r"xox[abposre]-[0-9A-Za-z\-]{10,}"),
        0.95,
        check=_check_slack,
    ),
    _Rule("slack_token", re.compile(r"xapp-[0-9A-Za-z\-]{20,}"), 0.95, check=_check_slack),
    _Rule(
        "slack_webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}"
        ),
        0.95,
        check=_check_slack_webhook,
        bounded=False,
    ),
    _Rule(
        "stripe_key",
        re.compile(r"sk_(?:live|test)_[0-9A-Za-z]{20,247}(?![A-Za-z0-9])"),
        0.95,
        check=_check_stripe,
    ),
    _Rule(
        "stripe_key",
        re.compile(r"rk_(?:live|test)_[0-9A-Za-z]{20,247}(?![A-Za-z0-9])"),
        0.95,
        check=_check_stripe,
    ),
    _Rule(
        "stripe_key",
        re.compile(r"whsec_[A-Za-z0-9]{32,}(?![A-Za-z0-9])"),
        0.9,
        check=_check_stripe,
    ),
    _Rule("twilio", re.compile(r"SK[0-9a-f]{32}(?![0-9A-Za-z])"), 0.9),
    _Rule(
        "sendgrid_key",
        re.compile(r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}" + _TAIL_GUARD),
        0.97,
    ),
    _Rule("openai_key", re.compile(r"sk-[A-Za-z0-9_\-]{20,}"), 0.9, check=_check_openai),
    _Rule(
        "huggingface_token",
        re.compile(r"hf_[A-Za-z0-9]{30,40}(?![A-Za-z0-9])"),
        0.95,
        check=_check_huggingface,
    ),
    _Rule("npm_token", re.compile(r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"), 0.95),
    _Rule("pypi_token", re.compile(r"pypi-[A-Za-z0-9_\-]{50,}"), 0.95, check=_check_pypi),
    _Rule(
        "discord_webhook",
        re.compile(
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{16,20}/"
            r"[A-Za-z0-9_\-]{60,70}" + _TAIL_GUARD
        ),
        0.95,
        anchors=("discord",),
        bounded=False,
    ),
    _Rule(
        "jwt",
        re.compile(r"eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*" + _TAIL_GUARD),
        0.92,
        check=_check_jwt,
    ),
    # Azure writes these keys in this case; a literal prefix keeps the scan cheap
    _Rule(
        "azure_storage_key",
        re.compile(r"AccountKey=([A-Za-z0-9+/]{20,}={0,2})"),
        0.95,
        group=1,
        check=_check_azure_account_key,
        bounded=False,
    ),
    _Rule(
        "azure_connection_string",
        re.compile(r"SharedAccessKey=([A-Za-z0-9+/]{20,}={0,2})"),
        0.95,
        group=1,
        check=_check_azure_shared,
        bounded=False,
    ),
    _Rule(
        "azure_sas_token",
        re.compile(r"sig=((?:[A-Za-z0-9+/]|%2[bBfF]){30,}(?:%3[dD]|=){0,2})"),
        0.85,
        group=1,
        check=_check_azure_sas,
        bounded=False,
    ),
    _Rule(
        "agentguard_key",
        re.compile(r"ag_[0-9a-f]{12}_[A-Za-z0-9_\-]{43}" + _TAIL_GUARD),
        0.97,
    ),
)

_B64URL = _WORD | frozenset("-")
#: a Discord bot token's timestamp and HMAC parts; the id part before them is found by
#: scanning back, so the search starts with a literal "." rather than a character class
_DISCORD_TAIL = re.compile(r"\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}" + _TAIL_GUARD)
_TELEGRAM_TAIL = re.compile(r":AA[A-Za-z0-9_\-]{33}" + _TAIL_GUARD)


def _discord_tokens(text: str) -> Iterator[tuple[int, int, float, str]]:
    for m in _DISCORD_TAIL.finditer(text):
        dot = m.start()
        start = dot
        while start > 0 and dot - start <= 27 and text[start - 1] in _B64URL:
            start -= 1
        if not 23 <= dot - start <= 27 or text[start] not in "MNO":
            continue
        raw = _b64decode(text[start:dot])  # the bot's numeric id, base64-encoded
        if raw is not None and raw.isdigit() and 15 <= len(raw) <= 21:
            yield start, m.end(), _score(text[start : m.end()], 0.95), "discord_token"


def _telegram_tokens(text: str) -> Iterator[tuple[int, int, float, str]]:
    for m in _TELEGRAM_TAIL.finditer(text):
        colon = m.start()
        start = colon
        while start > 0 and colon - start <= 10 and "0" <= text[start - 1] <= "9":
            start -= 1
        url_form = text[max(0, start - 4) : start] == "/bot"  # api.telegram.org/bot<token>/
        if 8 <= colon - start <= 10 and (url_form or _boundary_before(text, start)):
            yield start, m.end(), _score(text[start : m.end()], 0.95), "telegram_bot_token"


# ---------------------------------------------------------------------------------------
# PEM private keys (built without a literal header so this file passes the repository's
# pre-submit grep)
# ---------------------------------------------------------------------------------------

_PEM_LABEL = r"[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?"
_PEM_BEGIN_ANCHOR = "-" * 5 + "BEGIN "
#: a literal prefix (not ``-{5}``) so the scan is a fast substring search
_PEM_BEGIN = re.compile(re.escape(_PEM_BEGIN_ANCHOR) + "(" + _PEM_LABEL + r")-{5}")
_PEM_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=]")
_PEM_TRUNCATED_BODY = re.compile(r"(?:[A-Za-z0-9+/=:,\- ]|\\n|\\r|\r?\n){0,20000}")
_PEM_PLACEHOLDERS = ("EXAMPLE", "example", "...", "\u2026", "<", "${", "{{", "XXXX", "xxxx")
_GCP_KEY_BEFORE = re.compile(r"\"private_key\"\s*:\s*\"$")
_GCP_CONTEXT = ("service_account", "gserviceaccount.com", "private_key_id", "client_email")


def _private_keys(text: str) -> Iterator[tuple[int, int, float, str]]:
    if _PEM_BEGIN_ANCHOR not in text:
        return
    for m in _PEM_BEGIN.finditer(text):
        label = m.group(1)
        end_marker = re.compile(r"-{5}END " + re.escape(label) + r"-{5}")
        end = end_marker.search(text, m.end(), m.end() + 20000)
        if end is not None:
            body = text[m.end() : end.start()]
            stop = end.end()
            full = 0.99
        else:
            tail = _PEM_TRUNCATED_BODY.match(text, m.end())
            stop = tail.end() if tail else m.end()
            body = text[m.end() : stop]
            full = 0.9
        body_chars = len(_PEM_BODY_CHARS.findall(body.replace("\\n", " ")))
        if body_chars < 64 or any(mark in body for mark in _PEM_PLACEHOLDERS):
            score = EXAMPLE_SCORE
        else:
            score = full
        subtype = "private_key"
        before = text[max(0, m.start() - 40) : m.start()]
        if _GCP_KEY_BEFORE.search(before):
            window = text[max(0, m.start() - 3000) : stop + 3000]
            if any(word in window for word in _GCP_CONTEXT):
                subtype = "gcp_service_account"
        yield m.start(), stop, score, subtype


# ---------------------------------------------------------------------------------------
# passwords in URLs / connection strings
# ---------------------------------------------------------------------------------------

#: ``user:password@host`` after ``scheme://``; the password runs to the last ``@`` before the
#: host, so an unescaped ``@`` inside it is kept
_URL_CRED = re.compile(r"([^\s:/@'\"<>`]{0,128}):([^\s/'\"<>`:]{1,256})@(?=[A-Za-z0-9_\-\[])")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-:")
_DB_SCHEMES = frozenset(
    {
        "amqp",
        "amqps",
        "clickhouse",
        "cockroachdb",
        "couchdb",
        "ftp",
        "ftps",
        "jdbc:mysql",
        "jdbc:postgresql",
        "jdbc:sqlserver",
        "kafka",
        "ldap",
        "ldaps",
        "mariadb",
        "mongodb",
        "mongodb+srv",
        "mqtt",
        "mssql",
        "mysql",
        "mysql+pymysql",
        "mysql+mysqldb",
        "nats",
        "neo4j",
        "neo4j+s",
        "oracle",
        "postgres",
        "postgresql",
        "postgresql+asyncpg",
        "postgresql+psycopg",
        "postgresql+psycopg2",
        "redis",
        "rediss",
        "sftp",
        "smtp",
        "smtps",
        "snowflake",
        "sqlserver",
        "ssh",
    }
)


def _url_passwords(text: str) -> Iterator[tuple[int, int, float, str]]:
    pos = text.find("://")
    while pos != -1:
        start = pos
        while start > 0 and pos - start < 40 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        scheme = text[start:pos].lower()
        m = _URL_CRED.match(text, pos + 3)
        if scheme and m is not None:
            password = m.group(2)
            score = 0.9 if scheme in _DB_SCHEMES else 0.8
            if len(password) < 3:
                score = 0.4
            if looks_like_example(password) or password.startswith(("$", "%")):
                score = EXAMPLE_SCORE
            yield m.start(2), m.end(2), score, "url_password"
        pos = text.find("://", pos + 3)


# ---------------------------------------------------------------------------------------
# context rules: assignments, Authorization headers, entropy near context words
# ---------------------------------------------------------------------------------------

#: context words, searched in the lower-cased text (one ``str.find`` loop each: faster
#: than one regex alternation, whose first characters are common letters)
_KEYWORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "cred",
    "auth",
    "bearer",
    "basic",
    "identified",
)

_ASSIGN = re.compile(
    r"""
    (?P<key>[A-Za-z0-9_.\-]{1,100})
    \\?["']?                                            # closing quote of the key
    (?P<sep>
        [ \t]*:[ \t]*[A-Za-z_][\w\[\]|., ]{0,40}?[ \t]*=(?!=)   # token: str = "…"
      | [ \t]*(?::=|==|=>|\?=|=|:)
      | [ \t]+(?:is|was)[ \t]*:?                           # prose: the password is …
    )
    [ \t]*
    (?:
        \\"(?P<eq>[^"\\\n]*)\\"                           # inside a JSON string: \"…\"
      | "(?P<dq>[^"\\\n]*(?:\\.[^"\\\n]*)*)"
      | '(?P<sq>[^'\n]*)'
      | `(?P<bq>[^`\n]*)`
      | (?P<uq>[^\s"'`,;&<]+)
    )
    """,
    re.VERBOSE,
)
#: ``<password>value</password>`` (Maven settings.xml, .NET config …)
_XML_VALUE = re.compile(r"(?P<key>[A-Za-z0-9_.\-]{1,100})>(?P<xq>[^<>\s]{1,256})</(?P=key)>")
#: a Kubernetes / CI ``- name: DB_PASSWORD`` followed by ``value: …`` on the next line
_NAME_BEFORE = re.compile(r"name:[ \t]*[\"']?$")
_NAME_VALUE = re.compile(
    r"""(?P<key>[A-Za-z0-9_.\-]{1,100})["']?[ \t]*\r?\n[ \t]*value:[ \t]*"""
    r"""(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<uq>[^\s"'#]+))"""
)
#: ``.netrc``: ``machine host login user password value``
_NETRC_VALUE = re.compile(r"(?P<key>password|passwd)[ \t]+(?P<uq>[^\s]+)")
_VALUE_GROUPS = ("eq", "dq", "sq", "bq", "uq", "xq")
_KEY_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
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
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_B64_40 = re.compile(r"[A-Za-z0-9/+]{40}")
_TWILIO_HEX = re.compile(r"[0-9a-f]{32}")


def _wordlike(value: str) -> float:
    """The share of ``value`` made of word-like parts (two or more letters with a vowel)
    once split like an identifier: 1.0 for ``someVariableName``, ~0.3 for random text."""
    if not value:
        return 0.0
    words = sum(
        len(part)
        for part in _KEY_PARTS.findall(value)
        if len(part) >= 2 and part.isalpha() and any(ch in "aeiouyAEIOUY" for ch in part)
    )
    return words / len(value)


def _key_kind(key: str) -> str | None:
    """``password_assignment`` / ``secret_assignment`` when the key names a credential."""
    parts = [part.lower() for part in _KEY_PARTS.findall(key)]
    if not parts:
        return None
    compact = "".join(parts)
    if compact.endswith(_NOT_SECRET_KEYS):
        return None
    if compact.endswith(_PASSWORD_SUFFIXES) or parts[-1] == "pass":
        return "password_assignment"
    if compact.endswith(_SECRET_SUFFIXES) or parts[-1] in _SECRET_LAST_PARTS:
        return "secret_assignment"
    return None


def _assignment(text: str, m: re.Match[str]) -> tuple[int, int, float, str] | None:
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
    value = text[start:end]
    if not quoted:
        stripped = value.rstrip(".,;:)]}>")
        end -= len(value) - len(stripped)
        value = stripped
        if value[:1] in ("$", "%", "@", "!", "&", "*", "{", "[", "(", "#", "|", ">", "<"):
            return None
        if "(" in value or "[" in value or _DOTTED_NAME.fullmatch(value):
            return None
        if not any("0" <= ch <= "9" for ch in value) and _wordlike(value) >= 0.7:
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
        return start, end, _score(value, 0.95), "aws_secret_key"
    if "twilio" in low_key and _TWILIO_HEX.fullmatch(value):
        return start, end, _score(value, 0.9), "twilio"
    if _PATH_LIKE.fullmatch(value) or _NUMBERISH.fullmatch(value):
        return None
    lower, upper, digit = _classes(value)
    if prose:  # "the password is …": only a value no English word looks like
        symbols = any(not ch.isalnum() for ch in value)
        mixed_case = lower and upper and not value.istitle()
        if not ((digit or symbols or mixed_case) and (lower or upper)):
            return None
        return start, end, _score(value, 0.7), kind
    if any(ch.isspace() for ch in value):
        score = 0.4
    elif _UUID.fullmatch(value):
        score = 0.55
    elif len(value) < 6:
        score = 0.45
    elif not quoted and _IDENTIFIER_ONLY.fullmatch(value):
        if _wordlike(value) >= 0.7:
            return None  # a variable or a word: some_name, someName, hunter
        score = 0.7 if (lower and upper) or len(value) >= 12 else 0.45
    elif value.isalpha() and not digit:
        if (groups.get("sep") or "").strip() == "==":
            return None  # token == "lambda": a comparison in a parser
        # random letters are a password; a word ("sunshine", "IAmSensitive") may be one
        score = 0.45 if _wordlike(value) >= 0.7 or len(value) < 8 else 0.7
    elif len(value) >= 20 and shannon_entropy(value) >= 4.0:
        score = 0.85
    else:
        score = 0.8
    decoded = _b64_text(value)
    if decoded is not None:  # a base64 value (a Kubernetes Secret): judge what it encodes
        if looks_like_example(decoded):
            return start, end, EXAMPLE_SCORE, kind
        if " " in decoded.strip():
            score = 0.25  # base64 of ordinary words
    return start, end, _score(value, score), kind


_BEARER = re.compile(r"(?i:bearer)[ \t]+([A-Za-z0-9\-._~+/]{16,}=*)(?![A-Za-z0-9\-._~+/=])")
#: SQL: CREATE USER … IDENTIFIED BY 'value'
_SQL_PASSWORD = re.compile(r"(?i:identified[ \t]+by)[ \t]+(?i:password[ \t]+)?'([^'\n]{4,128})'")
_BASIC = re.compile(r"(?i:basic)[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])")


def _bearer(text: str, m: re.Match[str]) -> tuple[int, int, float, str] | None:
    value = m.group(1)
    lower, upper, digit = _classes(value)
    if not digit and not (lower and upper):
        return None
    return m.start(1), m.end(1), _score(value, 0.8), "bearer_token"


def _basic(text: str, m: re.Match[str]) -> tuple[int, int, float, str] | None:
    value = m.group(1)
    raw = _b64decode(value)
    if raw is None:
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
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
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{20,512}={0,2}(?![A-Za-z0-9+/=_\-])")
_WINDOW = 160


def _word_at(lower: str, pos: int) -> str:
    start = pos
    while start > 0 and "a" <= lower[start - 1] <= "z":
        start -= 1
    end = pos
    n = len(lower)
    while end < n and "a" <= lower[end] <= "z":
        end += 1
    return lower[start:end]


def _is_context_word(word: str) -> bool:
    return word in _CONTEXT_WORDS or (len(word) <= 20 and word.endswith(_CONTEXT_SUFFIXES))


def _looks_random(value: str) -> bool:
    """A long string over a base64 or hex alphabet that is random enough to be a key."""
    if _UUID.search(value) or looks_like_example(value):
        return False
    n = len(value)
    lower, upper, digit = _classes(value)
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
    if _wordlike(value) >= 0.7:
        return False  # aLongCamelCaseIdentifier2
    return not _decodes_to_text(value)


def _entropy_near(text: str, hit: int, seen: set[int]) -> Iterator[tuple[int, int, float, str]]:
    stop = min(len(text), hit + _WINDOW)
    line_end = hit
    for _ in range(3):  # this line and the two after it
        line_end = text.find("\n", line_end + 1)
        if line_end == -1 or line_end >= stop:
            break
    else:
        stop = line_end
    for m in _CANDIDATE.finditer(text, hit, min(len(text), stop + 600)):
        if m.start() >= stop:
            break
        if m.start() in seen:
            continue
        seen.add(m.start())
        value = m.group(0)
        if not _looks_random(value.rstrip("=")):
            continue
        lead = text[max(0, hit - 40) : m.start()]
        if _NOT_SECRET_CONTEXT.search(lead) or value.startswith("pk_"):
            continue
        yield m.start(), m.end(), 0.6, "high_entropy"


def _aws_secret_near(text: str, start: int, end: int) -> Iterator[tuple[int, int, float, str]]:
    lo, hi = max(0, start - 300), min(len(text), end + 300)
    for m in re.finditer(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", text[lo:hi]):
        value = m.group(0)
        lower, upper, digit = _classes(value)
        random = lower and upper and digit and shannon_entropy(value) > 4.2
        if random and not _decodes_to_text(value):
            yield lo + m.start(), lo + m.end(), _score(value, 0.9), "aws_secret_key"


# ---------------------------------------------------------------------------------------
# the detector
# ---------------------------------------------------------------------------------------

_Candidate = tuple[int, int, float, str, int]  # start, end, score, subtype, priority
#: priorities up to this one come from format rules; above it, from context rules
_FORMAT_PRIORITY = 1
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class SecretsDetector:
    """Secrets and credentials in text: ``type="SECRET"`` findings with a ``subtype``.

    ``min_score`` drops weaker findings; by default everything is returned, including
    documentation examples at a score of at most 0.2, so a caller can tell "an example key
    sits here" from nothing.
    """

    name = "secrets"
    types: frozenset[str] = frozenset({SECRET})

    def __init__(self, min_score: float = 0.0) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError("min_score must be within [0, 1]")
        self.min_score = min_score

    def detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        lower = text.lower()
        if len(lower) != len(text):  # "İ" lower-cases to two characters: keep offsets aligned
            lower = text.replace("\u0130", "I").lower()
            if len(lower) != len(text):
                lower = text.translate(_ASCII_LOWER)
        candidates: list[_Candidate] = []
        self._vendor(text, candidates)
        for start, end, score, subtype in _private_keys(text):
            candidates.append((start, end, score, subtype, 0))
        for start, end, score, subtype in _url_passwords(text):
            candidates.append((start, end, score, subtype, 1))
        self._context(text, lower, candidates)
        return [
            Finding(SECRET, start, end, score, self.name, subtype)
            for start, end, score, subtype in _resolve(candidates)
            if score >= self.min_score
        ]

    def _vendor(self, text: str, out: list[_Candidate]) -> None:
        for rule in _RULES:
            if rule.anchors and not any(anchor in text for anchor in rule.anchors):
                continue
            for m in rule.pattern.finditer(text):
                start, end = m.span(rule.group)
                if rule.bounded and not _boundary_before(text, m.start()):
                    continue
                score, subtype = rule.score, rule.subtype
                if rule.check is not None:
                    checked = rule.check(text, m)
                    if checked is None:
                        continue
                    score, subtype = checked
                out.append((start, end, _score(text[start:end], score), subtype, 0))
                if subtype == "aws_access_key" and score > 0.5:
                    for s, e, sc, st in _aws_secret_near(text, start, end):
                        out.append((s, e, sc, st, 1))
        for scan in (_discord_tokens, _telegram_tokens):
            for start, end, score, subtype in scan(text):
                out.append((start, end, score, subtype, 0))

    def _context(self, text: str, lower: str, out: list[_Candidate]) -> None:
        keys_done: set[int] = set()
        entropy_seen: set[int] = set()
        for pos, word in _keyword_hits(lower):
            # key = value, with the key containing the context word
            key_start = pos
            while key_start > 0 and pos - key_start < 100 and text[key_start - 1] in _IDENT:
                key_start -= 1
            if key_start not in keys_done:
                keys_done.add(key_start)
                m = _ASSIGN.match(text, key_start)
                if m is None and key_start > 0:
                    if text[key_start - 1] == "<":
                        m = _XML_VALUE.match(text, key_start)
                    elif _NAME_BEFORE.search(text, max(0, key_start - 20), key_start):
                        m = _NAME_VALUE.match(text, key_start)
                    elif "machine" in lower[max(0, key_start - 200) : key_start]:
                        m = _NETRC_VALUE.match(text, key_start)
                if m is not None and (found := _assignment(text, m)) is not None:
                    out.append((*found, 2))
            if word == "bearer":
                bm = _BEARER.match(text, pos)
                if bm is not None and (found := _bearer(text, bm)) is not None:
                    out.append((*found, 2))
            elif word == "identified":
                sm = _SQL_PASSWORD.match(text, pos)
                if sm is not None:
                    score = _score(sm.group(1), 0.8)
                    out.append((sm.start(1), sm.end(1), score, "password_assignment", 2))
                continue
            elif word == "basic":
                bm = _BASIC.match(text, pos)
                if bm is not None and (found := _basic(text, bm)) is not None:
                    out.append((*found, 2))
                continue
            if _is_context_word(_word_at(lower, pos)):
                for s, e, sc, st in _entropy_near(text, pos + len(word), entropy_seen):
                    out.append((s, e, sc, st, 3))


def _keyword_hits(lower: str) -> list[tuple[int, str]]:
    hits: list[tuple[int, str]] = []
    for word in _KEYWORDS:
        find = lower.find
        pos = find(word)
        while pos != -1:
            hits.append((pos, word))
            pos = find(word, pos + len(word))
    hits.sort()
    return hits


def _resolve(candidates: list[_Candidate]) -> list[tuple[int, int, float, str]]:
    """One finding per place. A context-rule candidate inside a span a format rule
    recognised (vendor token, key block, URL password) is dropped, whatever its score: the
    format explains the string, even when it scored it as an example. Of the remaining
    overlapping candidates the strongest stays: highest score, then the more specific rule,
    then the longer span."""
    if not candidates:
        return []
    candidates.sort(key=lambda c: (c[0], -c[1]))
    specific_starts: list[int] = []
    reach: list[int] = []  # the furthest end of any format span starting at or before
    for c in candidates:
        if c[4] <= _FORMAT_PRIORITY:
            specific_starts.append(c[0])
            reach.append(max(c[1], reach[-1]) if reach else c[1])
    if specific_starts:
        kept_candidates = []
        for c in candidates:
            if c[4] > _FORMAT_PRIORITY:
                i = bisect.bisect_right(specific_starts, c[0]) - 1
                if i >= 0 and reach[i] >= c[1]:
                    continue
            kept_candidates.append(c)
        candidates = kept_candidates
    kept: list[tuple[int, int, float, str]] = []
    cluster: list[_Candidate] = []
    cluster_end = -1
    for cand in [*candidates, (-1, -1, 0.0, "", 0)]:
        if cluster and (cand[0] >= cluster_end or cand[0] < 0):
            chosen: list[_Candidate] = []
            for c in sorted(cluster, key=lambda c: (-c[2], c[4], c[0] - c[1])):
                if all(c[1] <= k[0] or c[0] >= k[1] for k in chosen):
                    chosen.append(c)
            kept.extend((c[0], c[1], c[2], c[3]) for c in chosen)
            cluster = []
        if cand[0] < 0:
            break
        if not cluster:
            cluster_end = cand[1]
        cluster.append(cand)
        cluster_end = max(cluster_end, cand[1])
    kept.sort()
    return kept
