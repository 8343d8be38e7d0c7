"""``encoded_payload``: base64 (standard or URL-safe) or hex blocks of 24+ characters whose
decoded text is itself scanned and holds an injection."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

from agentguard.detect.injection.common import ENCODED, FLAG_THRESHOLD

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

B64_TRIGGER = re.compile(r"[A-Z0-9][A-Za-z0-9+/_-]{19}")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2})+")


def encoded(scan: Scan, pos: int) -> None:
    """The base64/hex run around ``pos``, reported when its decoded text holds an injection."""
    text = scan.text
    start = pos
    lo = max(0, pos - 200)
    while start > lo and text[start - 1] in _B64_CHARS:
        start -= 1
    run = _B64_RUN.match(text, start)
    assert run is not None
    end = run.end()
    scan.b64_until = end
    token = text[start:end]
    if len(token) < 24:
        return
    decoded = decode_token(token)
    if decoded is None:
        return
    sub = scan.spawn(decoded, scan.depth + 1)
    sub.run()
    best = sub.max_score()
    if best >= FLAG_THRESHOLD:
        scan.add(ENCODED, start, end, max(0.8, best), contextual=False)


def decode_token(token: str) -> str | None:
    """Base64 (standard or URL-safe) or hex decoded to mostly printable text, else ``None``."""
    raw: bytes
    if len(token) % 2 == 0 and _HEX_RUN.fullmatch(token) is not None:
        raw = binascii.unhexlify(token)
    else:
        body = token.rstrip("=")
        if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
            return None
        padded = body + "=" * (-len(body) % 4)
        try:
            if "-" in body or "_" in body:
                raw = base64.urlsafe_b64decode(padded)
            else:
                raw = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(decoded) < 12:
        return None
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\t\r")
    if printable < 0.95 * len(decoded) or " " not in decoded:
        return None
    return decoded
