"""Credentials recognised by the structure around them.

:func:`scan_private_keys`: PEM private-key blocks, whole or truncated (``gcp_service_account``
when the block sits in a service-account JSON); :func:`scan_url_passwords`: the password of
``scheme://user:password@host`` in URLs and connection strings.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from agentguard.detect import prepass
from agentguard.detect.prepass import PreparedText, matches_at
from agentguard.detect.secrets.values import EXAMPLE_SCORE, looks_like_example

# ---------------------------------------------------------------------------------------
# PEM private keys (built without a literal header so this file passes the repository's
# pre-submit grep)
# ---------------------------------------------------------------------------------------

_PEM_LABEL = r"[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?"
_PEM_BEGIN_ANCHOR = "-" * 5 + "BEGIN "
#: a literal prefix (not ``-{5}``) so the scan is a fast substring search
_PEM_BEGIN = re.compile(re.escape(_PEM_BEGIN_ANCHOR) + "(" + _PEM_LABEL + r")-{5}")
_PEM_END_ANCHOR = "-" * 5 + "END "
#: an END line; its label is all between "END " and the dashes, so one per place
_PEM_END = re.compile(re.escape(_PEM_END_ANCHOR) + "(" + _PEM_LABEL + r")-{5}")
_PEM_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=]")
#: the longest body a block is read with (an end marker further away does not close it)
_PEM_MAX_BODY = 20000
_PEM_TRUNCATED_BODY = re.compile(r"(?:[A-Za-z0-9+/=:,\- ]|\\n|\\r|\r?\n){0,20000}+")
_PEM_PLACEHOLDERS = ("EXAMPLE", "example", "...", "\u2026", "<", "${", "{{", "XXXX", "xxxx")
_GCP_KEY_BEFORE = re.compile(r"\"private_key\"\s*:\s*\"$")
_GCP_CONTEXT = ("service_account", "gserviceaccount.com", "private_key_id", "client_email")
_PEM_PROBE = prepass.literal(_PEM_BEGIN_ANCHOR)


def _end_markers(text: str) -> dict[str, tuple[list[int], list[tuple[int, int]]]]:
    """The END lines of ``text`` by label: their starts, and their spans, in order. Found in
    one pass, so a text of many BEGIN lines does not search for an END line from each."""
    out: dict[str, tuple[list[int], list[tuple[int, int]]]] = {}
    pos = text.find(_PEM_END_ANCHOR)
    while pos != -1:
        m = _PEM_END.match(text, pos)
        if m is not None:
            starts, spans = out.setdefault(m.group(1), ([], []))
            starts.append(m.start())
            spans.append(m.span())
        pos = text.find(_PEM_END_ANCHOR, pos + 1)
    return out


def scan_private_keys(prepared: PreparedText) -> Iterator[tuple[int, int, float, str]]:
    """``(start, end, score, subtype)`` of every PEM private-key block."""
    if not prepared.positions(_PEM_PROBE):
        return
    text = prepared.text
    ends = _end_markers(text)
    done = 0
    for m in matches_at(_PEM_BEGIN, text, prepared.positions(_PEM_PROBE)):
        if m.start() < done:
            continue  # a BEGIN line inside the block just reported belongs to it
        label = m.group(1)
        end = None
        starts, spans = ends.get(label, ((), ()))
        i = bisect.bisect_left(starts, m.end())  # the first END line of this label after it
        if i < len(spans) and spans[i][1] <= m.end() + _PEM_MAX_BODY:
            end = spans[i]
        if end is not None:
            body = text[m.end() : end[0]]
            stop = end[1]
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
        done = stop
        yield m.start(), stop, score, subtype


# ---------------------------------------------------------------------------------------
# passwords in URLs / connection strings
# ---------------------------------------------------------------------------------------

#: ``user:password@host`` after ``scheme://``; the password runs to the last ``@`` before the
#: host, so an unescaped ``@`` inside it is kept
_URL_CRED = re.compile(r"([^\s:/@'\"<>`]{0,128}):([^\s/'\"<>`:]{1,256})@(?=[A-Za-z0-9_\-\[])")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-:")
_SCHEME_SEP = prepass.literal("://")
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


#: a password that is a variable to expand, not a value: ``$VAR``, ``${VAR}``, ``%VAR%``,
#: ``%s``; a URL-escaped symbol (``%23``) or a ``$`` before mixed text is part of a password
_VARIABLE = re.compile(r"\$\{|\$[A-Z_][A-Z0-9_]*$|%[A-Za-z_]\w*%|%[sd]?$")

#: the pre-pass probes every finding of this module starts at
PROBES = frozenset({_PEM_PROBE, _SCHEME_SEP})


def scan_url_passwords(prepared: PreparedText) -> Iterator[tuple[int, int, float, str]]:
    """``(start, end, score, "url_password")`` of every password in a URL's user info."""
    text = prepared.text
    for pos in prepared.positions(_SCHEME_SEP):
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
            if looks_like_example(password) or _VARIABLE.match(password):
                score = EXAMPLE_SCORE
            yield m.start(2), m.end(2), score, "url_password"
