"""Passwords given to command-line clients on their command line: ``mysql -u root -pS3cr3t``,
``sshpass -p S3cr3t ssh host``, ``redis-cli -h db -a S3cr3t``, ``curl -u user:S3cr3t …``.

Each client's name is a pre-pass probe (:data:`CLIENTS` keys, found case-folded by
:mod:`agentguard.detect.secrets.context`); from there one bounded regex reads the command
up to the password flag: options only (each with at most one value) for the clients whose
flag could also be a word in prose, any tokens for ``curl`` (its URL comes first), never
past ``|``, ``;``, ``&`` or the end of the line, and at most 16 tokens. A value that is a
variable (``-p"$MYSQL_PWD"``) is not a secret; a placeholder scores low.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from agentguard.detect.secrets.values import capped_score

#: the value after the flag: quoted, or a run that does not start like a flag or variable
_VALUE = (
    r"""(?:'(?P<sq>[^'\n]{1,128})'|"(?P<dq>[^"\n]{1,128})"|"""
    r"""(?P<uq>[^\s"'`;&|<>$\-][^\s"'`;&|<>]{3,127}))"""
)
#: options before the flag, each with at most one value
_OPTIONS = r"(?:[ \t]+-(?!{flag})[^\s|;&]*(?:[ \t]+[^\s\-|;&][^\s|;&]*)?){{0,16}}?[ \t]+"
#: any tokens before the flag (quoted ones whole)
_TOKENS = r"""(?:[ \t]+(?!{flag})(?:'[^'\n]*'|"[^"\n]*"|[^\s|;&'"]+)){{0,16}}?[ \t]+"""


def _client(name: str, before: str, flag_ahead: str, flag: str) -> re.Pattern[str]:
    return re.compile(rf"(?i:{name})(?:\.exe)?" + before.format(flag=flag_ahead) + flag + _VALUE)


#: probe word -> the command's regex, matched where the word starts
CLIENTS: dict[str, re.Pattern[str]] = {
    # glued: -pS3cr3t (a lone -p asks for the password)
    "mysql": _client(r"mysql[a-z\-]*", _OPTIONS, "p", "-p"),
    "mariadb": _client(r"mariadb[a-z\-]*", _OPTIONS, "p", "-p"),
    "sshpass": _client("sshpass", _OPTIONS, r"p\b", r"-p[ \t]*"),
    "redis-cli": _client("redis-cli", _OPTIONS, r"a\b", r"-a[ \t]+"),
    # curl -u user:password (without ":password" curl asks for it)
    "curl": _client(
        "curl", _TOKENS, r"-u|--user\b", r"(?:-u[ \t]*|--user[ \t]+|--user=)[^\s:'\"]{0,64}:"
    ),
}


def client_passwords(text: str, word: str, pos: int) -> Iterator[tuple[int, int, float, str, int]]:
    """The password in the command of client ``word`` whose name starts at ``pos``."""
    if pos > 0 and (text[pos - 1].isalnum() or text[pos - 1] in "_-."):
        return  # part of another word
    end = text.find("\n", pos, pos + 2000)
    m = CLIENTS[word].match(text, pos, end if end != -1 else min(len(text), pos + 2000))
    if m is None:
        return
    group = "uq" if m.group("uq") is not None else "sq" if m.group("sq") is not None else "dq"
    value = m.group(group)
    if not value.startswith("$"):
        yield m.start(group), m.end(group), capped_score(value, 0.8), "password_assignment", 2
