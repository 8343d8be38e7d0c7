"""Structure checks of the vendor rules (:mod:`agentguard.detect.secrets.rules`): from a
match of a rule's regex, each refines the score and subtype, or drops the match by returning
``None`` (wrong length, wrong alphabet, a JWT whose header is not JSON …)."""

from __future__ import annotations

import json
import re
import zlib

from agentguard.detect.secrets.values import b64decode, char_classes, looks_like_example, wordlike


def check_aws_key(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    body = m.group(0)[4:]
    base32 = all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for ch in body)
    return (0.95 if base32 else 0.85), "aws_access_key"


def check_github(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if value.startswith("github_pat_"):
        fine = re.fullmatch(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", value)
        return (0.97 if fine else 0.9), "github_token"
    body = value[4:]
    if len(body) < 36 or "_" in body:
        return None
    if len(body) == 36 and crc32_suffix_ok(body):
        return 0.99, "github_token"
    return (0.95 if len(body) == 36 else 0.9), "github_token"


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crc32_suffix_ok(body: str) -> bool:
    """GitHub's and npm's token checksum: the last 6 characters are the CRC32 of the rest,
    in base62 (so a token with a valid checksum is no typo and no made-up string)."""
    n = zlib.crc32(body[:-6].encode())
    digits = ""
    while n:
        n, d = divmod(n, 62)
        digits = _BASE62[d] + digits
    return body[-6:] == digits.rjust(6, "0")


def check_npm(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    return (0.99 if crc32_suffix_ok(m.group(0)[4:]) else 0.9), "npm_token"


def check_slack(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0).rstrip("-")
    if value.startswith("xapp-"):
        ok = re.fullmatch(r"xapp-\d-[A-Z0-9]+-\d+-[A-Za-z0-9]{20,}", value)
        return (0.95, "slack_token") if ok else None
    if re.fullmatch(r"xox[a-z]-(?:\d+-){1,3}[A-Za-z0-9]{16,}", value):
        return 0.95, "slack_token"
    if value.count("-") >= 2 and len(value) >= 30:
        return 0.8, "slack_token"
    return None


def check_slack_webhook(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if re.search(r"/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}$", value):
        return 0.97, "slack_webhook"
    return 0.85, "slack_webhook"


def check_stripe(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if value.startswith("whsec_"):
        return 0.9, "stripe_key"
    return (0.6 if "_test_" in value[:8] else 0.95), "stripe_key"


def check_openai(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if value.startswith("sk-ant-"):
        return check_anthropic(text, m)
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


def check_anthropic(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(0)
    if len(value) < 7 + 32:
        return None
    if re.fullmatch(r"sk-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_\-]{80,}", value):
        return 0.98, "anthropic_key"
    return 0.9, "anthropic_key"


def check_huggingface(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    body = m.group(0)[3:]
    lower, upper, _ = char_classes(body)
    if (lower and upper) or looks_like_example(body):
        return 0.95, "huggingface_token"  # an example is kept here and scored low later
    return (0.8, "huggingface_token") if wordlike(body) < 0.7 else None


def check_pypi(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    body = m.group(0)[5:]
    if body.startswith(("AgEIcHlwaS5vcmc", "AgENdGVzdC5weXBpLm9yZw")):
        return 0.98, "pypi_token"
    return (0.85, "pypi_token") if body.startswith("Ag") else None


def check_jwt(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    header_b64, payload_b64, signature = m.group(0).split(".")
    try:
        header = json.loads(b64decode(header_b64) or b"")
    except ValueError:
        return None
    if not isinstance(header, dict) or "alg" not in header:
        return None
    try:
        payload_ok = isinstance(json.loads(b64decode(payload_b64) or b""), dict)
    except ValueError:
        payload_ok = False
    if str(header.get("alg")).lower() == "none" or len(signature) < 16:
        return 0.5, "jwt"
    return (0.92 if payload_ok else 0.7), "jwt"


def check_azure_account_key(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(1)
    if len(value) == 88 and value.endswith("=="):
        return 0.95, "azure_storage_key"
    return (0.85, "azure_storage_key") if len(value) >= 40 else None


def check_azure_shared(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    value = m.group(1)
    if len(value) == 44 and value.endswith("="):
        return 0.95, "azure_connection_string"
    return (0.85, "azure_connection_string") if len(value) >= 32 else None


def check_azure_sas(text: str, m: re.Match[str]) -> tuple[float, str] | None:
    if m.start() == 0 or text[m.start() - 1] not in "?&":
        return None
    window = text[max(0, m.start() - 400) : m.start()]
    if "sv=" not in window and "se=" not in window:
        return None
    return 0.85, "azure_sas_token"
