"""Masking of values an audit record must not keep in clear: fields named like secrets
(``password``, ``aws_secret_access_key``, ``X-Api-Key`` …), the fields a tool's policy lists
as ``sensitive``, and every copy of their values elsewhere in the record.

Key names are split into words (``awsSecretAccessKey`` → aws, secret, access, key) and
matched word by word, so a secret word anywhere in a name counts, not only at its end, while
``max_tokens`` or ``author`` do not. Values are masked whatever their type: a PIN sent as an
integer is as secret as one sent as a string.

Example::

    mask({"user": "ana", "db_password": "hunter2!"})   # {"user": "ana", "db_password": "***"}
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

MASK = "***"

#: a word of a key name that marks its value as a secret on its own
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "passcode", "secret", "secrets",
        "token", "tokens", "apikey", "credential", "credentials", "creds", "authorization",
        "auth", "oauth", "cookie", "cookies", "ssn", "cvv", "cvv2", "cvc", "pin", "otp",
        "totp", "bearer", "jwt", "mnemonic", "privatekey", "secretkey", "accesskey",
        "signingkey", "sessionkey", "pem", "cardnumber", "ccnumber", "iban",
    }
)  # fmt: skip
#: a word that makes the following ``key`` (or ``number``) a secret: api_key, card_number
_KEY_QUALIFIERS = frozenset(
    {
        "api", "private", "signing", "secret", "access", "session", "encryption", "master",
        "client", "shared", "auth", "license", "decryption", "hmac", "ssh", "gpg", "pgp",
    }
)  # fmt: skip
_NUMBER_QUALIFIERS = frozenset({"card", "cc", "credit", "debit", "account", "routing", "tax"})
#: words that turn a ``token`` name into a count (max_tokens, prompt_tokens, token_count)
_COUNT_WORDS = frozenset(
    {
        "max", "min", "num", "count", "counts", "limit", "used", "total", "usage", "prompt",
        "completion", "input", "output", "budget", "length", "len", "estimate", "estimated",
        "remaining", "per",
    }
)  # fmt: skip
#: secret words also found inside a longer word written without separators
_SECRET_INFIXES = (
    "password", "passwd", "passphrase", "credential", "apikey", "privatekey", "secretkey",
    "accesskey", "signingkey", "authtoken", "accesstoken", "refreshtoken", "sessiontoken",
    "clientsecret",
)  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def key_words(name: str) -> list[str]:
    """The lower-case words of a key name: ``X-Api-Key`` → x, api, key."""
    text = unicodedata.normalize("NFKC", name)
    text = _CAMEL.sub(" ", text).lower()
    return [w for w in _SEPARATORS.split(text) if w]


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a key name marks its value as a secret (``password``, ``signing_key``,
    ``awsSecretAccessKey``, ``Authorization`` …). Names longer than 200 characters are
    treated as secret: they are not names a person chose."""
    if len(name) > 200:
        return True
    words = key_words(name)
    for index, word in enumerate(words):
        if word in _SECRET_WORDS:
            if word in ("token", "tokens") and _COUNT_WORDS.intersection(words):
                continue
            return True
        if index:
            before = words[index - 1]
            if word == "key" and before in _KEY_QUALIFIERS:
                return True
            if word in ("number", "no", "num") and before in _NUMBER_QUALIFIERS:
                return True
    joined = "".join(words)
    if any(infix in joined for infix in _SECRET_INFIXES):
        return True
    return "secret" in joined and "secretar" not in joined


def mask(value: Any, sensitive: Iterable[str] = (), secrets: Sequence[str] = ()) -> Any:
    """A copy of a JSON-like ``value`` with sensitive fields replaced by ``***``.

    ``sensitive`` lists dotted paths (``card_number``, ``payment.card``) to mask; keys that
    look like secrets (see :func:`is_secret_key`) are always masked; any string in
    ``secrets`` (the values of masked fields, 4 characters or more) is also cut out of every
    other string, so a card number echoed in a result or an error message does not survive.
    Expects the bounded, JSON-safe values of :func:`agentguard.recordable.recordable`.
    """
    paths = sensitive if isinstance(sensitive, frozenset) else frozenset(sensitive)
    cut = tuple(sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True))
    return _mask(value, paths, cut, "")


_SCALARS = (type(None), bool, int, float, Decimal)


def _mask(value: Any, paths: frozenset[str], secrets: tuple[str, ...], path: str) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is str:
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            child = f"{path}.{name}" if path else name
            if is_secret_key(name) or (paths and child in paths):
                out[name] = MASK
            else:
                out[name] = _mask(item, paths, secrets, child)
        return out
    if isinstance(value, list | tuple):
        return [_mask(item, paths, secrets, path) for item in value]
    return value


def sensitive_values(value: Any, sensitive: Iterable[str] = ()) -> list[str]:
    """The string forms of the values at the sensitive paths and under secret-looking keys,
    to be cut out of every other string of a record (see :func:`mask`)."""
    paths = sensitive if isinstance(sensitive, frozenset) else frozenset(sensitive)
    found: list[str] = []
    _sensitive(value, paths, "", found)
    return found


def _sensitive(value: Any, paths: frozenset[str], path: str, found: list[str]) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            child = f"{path}.{name}" if path else name
            if is_secret_key(name) or (paths and child in paths):
                _collect(item, found)
            else:
                _sensitive(item, paths, child, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _sensitive(item, paths, path, found)


def _collect(value: Any, into: list[str]) -> None:
    if isinstance(value, Mapping):
        for item in value.values():
            _collect(item, into)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, into)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if text:
            into.append(text)
