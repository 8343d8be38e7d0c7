"""``exfiltration``: markdown images and links and HTML ``<img>`` whose URL carries data
(placeholders, data-named parameters, long encoded values) to a host outside
``allowed_hosts``.

An address is read at most 2000 characters, and once: an image or link whose trigger sits
inside an address already examined (``![](http://a/![](http://a/…``) is part of it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from agentguard.detect.injection.common import EXFIL
from agentguard.detect.injection.payloads import decode_token

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

_I = re.IGNORECASE

#: what a URL must start with to reach a host (``_url_risk`` reads nothing else): the
#: look-ahead keeps a pattern from reading 2000 characters of what is no web address
_WEB = r"(?=[\x00-\x08\x0e-\x1b]*[hH][tT][tT][pP][sS]?://)"
_MD_IMAGE = re.compile(r"!\[[^\]\n]{0,300}\]\(\s*+<?" + _WEB + r"([^\s)]{1,2000})")
_MD_LINK = re.compile(r"\]\(\s*+<?(https?://[^\s)]{1,2000})", _I)
_HTML_IMG = re.compile(
    r"<img\b[^>]{0,400}?\bsrc\s*+=\s*+[\"']?" + _WEB + r"([^\"'\s>]{1,2000})", _I
)
_PLACEHOLDER = re.compile(
    r"\{\{?\s*[A-Za-z_][\w .-]*\}\}?|\[[A-Z][A-Z0-9_' -]{2,}\]?|<[A-Za-z_][\w ]{0,30}>|"
    r"\$\{?[A-Za-z_]\w*\}?|\.\.\.|…|%7B[A-Za-z_]",
)
# upper-case words that stand for data only inside a query (HISTORY.md is a file name)
_PLACEHOLDER_WORD = re.compile(
    r"INSERT|PASTE|YOUR_|_HERE|SUMMARY|HISTORY|CONVERSATION|SECRET|PASSWORD|API_KEY|TOKEN|"
    r"USER_|EMAIL"
)
_STRONG_PARAMS = frozenset(
    {
        *("secret", "token", "password", "passwd", "pw", "pass", "key", "apikey", "api_key"),
        *("session", "sessionid", "cookie", "creds", "credentials", "conv", "conversation"),
        *("chat", "history", "memory", "context", "leak", "exfil", "payload", "data", "dump"),
        *("ssn", "email", "mail", "summary", "prompt", "subject", "body", "content"),
        *("message", "msg", "text", "steal"),
    }
)
_BENIGN_PARAMS = frozenset(
    {
        *("style", "logo", "logocolor", "label", "color", "colora", "colorb", "w", "h"),
        *("width", "height", "size", "fit", "fm", "auto", "dpr", "format", "v", "ver"),
        *("version", "raw", "sanitize", "cacheseconds", "link", "branch", "theme", "q"),
        *("quality", "crop", "rect", "utm_source", "utm_medium", "utm_campaign"),
        *("utm_content", "utm_term", "ref", "page", "lang", "locale"),
    }
)
_DATA_VALUE = re.compile(r"[A-Za-z0-9+/=_-]{24,}|(?:%[0-9A-Fa-f]{2}[^%&]*){3,}|@|%40")
_EXFIL_CONTEXT = re.compile(
    r"\b(?:render|display|include|append|output|replace|fill\s+in|substitute|insert|embed|"
    r"url-?encode|base64|the\s+user'?s|conversation|chat|summary|reply|answer)\b",
    _I,
)


def check_image(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    if m.start() < scan.url_until:
        return  # inside the address of an image or link already examined
    if text[m.start()] == "!":
        img = _MD_IMAGE.match(text, m.start())
        if img is not None:
            scan.url_until = img.end()
            _check_url(scan, img.group(1), m.start(), img.end(), image=True)
    else:
        tag = _HTML_IMG.match(text, m.start())
        if tag is not None:
            scan.url_until = tag.end()
            _check_url(scan, tag.group(1), m.start(), tag.end(), image=True)


def check_link(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    if m.start() < scan.url_until:
        return  # inside the address of an image or link already examined
    link = _MD_LINK.match(text, m.start())
    if link is None:
        return
    scan.url_until = link.end()
    bracket = text.rfind("[", max(0, m.start() - 300), m.start())
    if bracket < 0:
        return
    if bracket > 0 and text[bracket - 1] == "!":
        return  # an image: handled by check_image
    _check_url(scan, link.group(1), bracket, link.end(), image=False)


def _check_url(scan: Scan, url: str, start: int, end: int, *, image: bool) -> None:
    if "?" not in url and "%20" not in url and len(url) < 48:
        return
    score = _url_risk(url, scan.allowed, image=image)
    if score is None:
        return
    lo = max(0, start - 200)
    if _EXFIL_CONTEXT.search(scan.text, lo, min(len(scan.text), end + 120)) is not None:
        score += 0.1
    scan.add(EXFIL, start, end, score)


def _url_risk(url: str, allowed: frozenset[str], *, image: bool) -> float | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if host in allowed or any(host.endswith("." + a) for a in allowed):
        return None
    score = 0.4 if image else 0.25
    features = 0.0
    tail = url[url.find(host) + len(host) :] if host in url else parts.path
    data_part = parts.query + parts.fragment
    if (
        _PLACEHOLDER.search(tail.replace("...", "")) is not None
        or "..." in data_part
        or "…" in data_part
        or _PLACEHOLDER_WORD.search(data_part) is not None
    ):
        features += 0.45
    params = parse_qsl(parts.query, keep_blank_values=True)
    names = {k.lower() for k, _ in params}
    if names & _STRONG_PARAMS:
        features += 0.15
    values = [v for _, v in params if not v.startswith(("http://", "https://", "/"))]
    if any(_DATA_VALUE.search(v) or len(v) >= 40 for v in values) or (
        "%20" in parts.query or parts.query.count("+") >= 3
    ):
        features += 0.15
    for segment in parts.path.split("/"):
        stem = segment.split(".")[0]
        if len(stem) >= 24 and decode_token(stem) is not None:
            features += 0.25  # the path itself carries encoded text
            break
        if segment.count("%20") >= 2:
            features += 0.15
            break
    if names and names <= _BENIGN_PARAMS and features < 0.3:
        features -= 0.2
    if features <= 0:
        return None
    return score + features
