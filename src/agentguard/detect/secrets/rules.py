"""The vendor rule table: credentials recognised by their own format.

Every rule starts with a literal prefix (``ghp_``, ``xoxb-``, ``eyJ`` …), registered as a
pre-pass probe (:mod:`agentguard.detect.prepass`): the rule's regex is tried only where its
prefix occurs, so on prose the table costs nothing beyond the shared probe scan; a structure
check (:mod:`agentguard.detect.secrets.checks`) then refines the score or drops the match. Discord and Telegram bot tokens are found from
their literal tail instead, and an AWS access key makes the 40-character secret key written
next to it a finding too. :func:`scan_vendor` runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from agentguard.detect import prepass
from agentguard.detect.prepass import Literal, Pattern, PreparedText, matches_at
from agentguard.detect.secrets.catalog import CATALOG
from agentguard.detect.secrets.checks import (
    check_aws_key,
    check_azure_account_key,
    check_azure_sas,
    check_azure_shared,
    check_github,
    check_huggingface,
    check_jwt,
    check_npm,
    check_openai,
    check_pypi,
    check_slack,
    check_slack_webhook,
    check_stripe,
)
from agentguard.detect.secrets.rule import TAIL_GUARD, Rule
from agentguard.detect.secrets.values import (
    WORD,
    b64decode,
    boundary_before,
    capped_score,
    char_classes,
    decodes_to_text,
    shannon_entropy,
)

_Rule = Rule
_TAIL_GUARD = TAIL_GUARD

_RULES: tuple[_Rule, ...] = (
    # ``A(?:KIA)`` is the literal prefix AKIA, spelled so that this file holds no full key
    _Rule(
        "aws_access_key",
        re.compile(r"A(?:KIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        0.95,
        check=check_aws_key,
        probe=prepass.probe(Literal("AKIA")),
    ),
    _Rule(
        "aws_access_key",
        re.compile(r"A(?:SIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        0.95,
        check=check_aws_key,
        probe=prepass.probe(Literal("ASIA")),
    ),
    _Rule(
        "gcp_api_key",
        re.compile(r"AIza[0-9A-Za-z_\-]{35}" + _TAIL_GUARD),
        0.95,
        probe=prepass.probe(Literal("AIza")),
    ),
    _Rule(
        "google_oauth",
        re.compile(r"GOCSPX-[0-9A-Za-z_\-]{28}" + _TAIL_GUARD),
        0.95,
        probe=prepass.probe(Literal("GOCSPX-")),
    ),
    _Rule(
        "google_oauth",
        re.compile(r"ya29\.[0-9A-Za-z_\-]{30,}"),
        0.9,
        probe=prepass.probe(Literal("ya29.")),
    ),
    _Rule(
        "google_oauth",
        re.compile(r"1//0[0-9A-Za-z_\-]{40,}"),
        0.85,
        probe=prepass.probe(Literal("1//0")),
    ),
    _Rule(
        "github_token",
        re.compile(r"gh[pousr]_[A-Za-z0-9_]{36,251}(?![A-Za-z0-9])"),
        0.95,
        check=check_github,
        probe=prepass.probe(Pattern("gh[pousr]_", width=4)),
    ),
    _Rule(
        "github_token",
        re.compile(r"github_pat_[A-Za-z0-9_]{50,}(?![A-Za-z0-9])"),
        0.95,
        check=check_github,
        probe=prepass.probe(Literal("github_pat_")),
    ),
    _Rule(
        "gitlab_token",
        re.compile(r"gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt)-[A-Za-z0-9_\-]{20,}"),
        0.95,
        probe=prepass.probe(
            *(
                Literal(f"gl{kind}-")
                for kind in ("pat", "dt", "rt", "ptt", "ft", "soat", "cbt", "imt")
            )
        ),
    ),
    _Rule(
        "slack_token",
        re.compile(r"xox[abposre]-[0-9A-Za-z\-]{10,}"),
        0.95,
        check=check_slack,
        probe=prepass.probe(Pattern("xox[abposre]-", width=5)),
    ),
    _Rule(
        "slack_token",
        re.compile(r"xapp-[0-9A-Za-z\-]{20,}"),
        0.95,
        check=check_slack,
        probe=prepass.probe(Literal("xapp-")),
    ),
    _Rule(
        "slack_webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}"
        ),
        0.95,
        check=check_slack_webhook,
        bounded=False,
        probe=prepass.probe(Literal("https://hooks.slack.com/")),
    ),
    _Rule(
        "stripe_key",
        re.compile(r"sk_(?:live|test)_[0-9A-Za-z]{20,247}(?![A-Za-z0-9])"),
        0.95,
        check=check_stripe,
        probe=prepass.probe(Literal("sk_live_"), Literal("sk_test_")),
    ),
    _Rule(
        "stripe_key",
        re.compile(r"rk_(?:live|test)_[0-9A-Za-z]{20,247}(?![A-Za-z0-9])"),
        0.95,
        check=check_stripe,
        probe=prepass.probe(Literal("rk_live_"), Literal("rk_test_")),
    ),
    _Rule(
        "stripe_key",
        re.compile(r"whsec_[A-Za-z0-9]{32,}(?![A-Za-z0-9])"),
        0.9,
        check=check_stripe,
        probe=prepass.probe(Literal("whsec_")),
    ),
    _Rule(
        "twilio",
        re.compile(r"SK[0-9a-f]{32}(?![0-9A-Za-z])"),
        0.9,
        probe=prepass.probe(Pattern("SK[0-9a-f]{32}", width=34)),
    ),
    _Rule(
        "sendgrid_key",
        re.compile(r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}" + _TAIL_GUARD),
        0.97,
        probe=prepass.probe(Literal("SG.")),
    ),
    _Rule(
        "openai_key",
        re.compile(r"sk-[A-Za-z0-9_\-]{20,}"),
        0.9,
        check=check_openai,
        probe=prepass.probe(Literal("sk-")),
    ),
    _Rule(
        "huggingface_token",
        re.compile(r"hf_[A-Za-z0-9]{30,40}(?![A-Za-z0-9])"),
        0.95,
        check=check_huggingface,
        probe=prepass.probe(Literal("hf_")),
    ),
    _Rule(
        "npm_token",
        re.compile(r"npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
        0.95,
        check=check_npm,
        probe=prepass.probe(Literal("npm_")),
    ),
    _Rule(
        "pypi_token",
        re.compile(r"pypi-[A-Za-z0-9_\-]{50,}"),
        0.95,
        check=check_pypi,
        probe=prepass.probe(Literal("pypi-")),
    ),
    _Rule(
        "discord_webhook",
        re.compile(
            r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{16,20}/"
            r"[A-Za-z0-9_\-]{60,70}" + _TAIL_GUARD
        ),
        0.95,
        anchors=("discord",),
        bounded=False,
        probe=prepass.probe(
            Literal("https://discord"),
            Literal("https://ptb.discord"),
            Literal("https://canary.discord"),
        ),
    ),
    _Rule(
        "jwt",
        re.compile(r"eyJ[A-Za-z0-9_\-]{10,}+\.[A-Za-z0-9_\-]{2,}+\.[A-Za-z0-9_\-]*" + _TAIL_GUARD),
        0.92,
        check=check_jwt,
        probe=prepass.probe(Literal("eyJ")),
        run=re.compile(r"[A-Za-z0-9_\-]*"),
        literal="eyJ",
    ),
    # Azure writes these keys in this case; a literal prefix keeps the scan cheap
    _Rule(
        "azure_storage_key",
        re.compile(r"AccountKey=([A-Za-z0-9+/]{20,}={0,2})"),
        0.95,
        group=1,
        check=check_azure_account_key,
        bounded=False,
        probe=prepass.probe(Literal("AccountKey=")),
    ),
    _Rule(
        "azure_connection_string",
        re.compile(r"SharedAccessKey=([A-Za-z0-9+/]{20,}={0,2})"),
        0.95,
        group=1,
        check=check_azure_shared,
        bounded=False,
        probe=prepass.probe(Literal("SharedAccessKey=")),
    ),
    _Rule(
        "azure_sas_token",
        re.compile(r"sig=((?:[A-Za-z0-9+/]|%2[bBfF]){30,}(?:%3[dD]|=){0,2})"),
        0.85,
        group=1,
        check=check_azure_sas,
        bounded=False,
        probe=prepass.probe(Literal("sig=")),
    ),
    _Rule(
        "agentguard_key",
        re.compile(r"ag_[0-9a-f]{12}_[A-Za-z0-9_\-]{43}" + _TAIL_GUARD),
        0.97,
        probe=prepass.probe(Pattern("ag_[0-9a-f]{12}_", width=16)),
    ),
    *CATALOG,
)

#: probe id -> indexes of the rules it belongs to
_RULES_OF: dict[int, list[int]] = {}
for _i, _rule in enumerate(_RULES):
    _RULES_OF.setdefault(_rule.probe, []).append(_i)
_B64URL = WORD | frozenset("-")
#: a Discord bot token's timestamp and HMAC parts; the id part before them is found by
#: scanning back, so the search starts with a literal "." rather than a character class
_DISCORD_TAIL = re.compile(r"\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}" + _TAIL_GUARD)
_TELEGRAM_TAIL = re.compile(r":AA[A-Za-z0-9_\-]{33}" + _TAIL_GUARD)
_DISCORD_PROBE = prepass.pattern(r"\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27}", width=35)
_TELEGRAM_PROBE = prepass.literal(":AA")


def _discord_tokens(prepared: PreparedText) -> Iterator[tuple[int, int, float, str]]:
    text = prepared.text
    for m in matches_at(_DISCORD_TAIL, text, prepared.starts(_DISCORD_PROBE)):
        dot = m.start()
        start = dot
        while start > 0 and dot - start <= 27 and text[start - 1] in _B64URL:
            start -= 1
        if not 23 <= dot - start <= 27 or text[start] not in "MNO":
            continue
        raw = b64decode(text[start:dot])  # the bot's numeric id, base64-encoded
        if raw is not None and raw.isdigit() and 15 <= len(raw) <= 21:
            yield start, m.end(), capped_score(text[start : m.end()], 0.95), "discord_token"


def _telegram_tokens(prepared: PreparedText) -> Iterator[tuple[int, int, float, str]]:
    text = prepared.text
    for m in matches_at(_TELEGRAM_TAIL, text, prepared.starts(_TELEGRAM_PROBE)):
        colon = m.start()
        start = colon
        while start > 0 and colon - start <= 10 and "0" <= text[start - 1] <= "9":
            start -= 1
        url_form = text[max(0, start - 4) : start] == "/bot"  # api.telegram.org/bot<token>/
        if 8 <= colon - start <= 10 and (url_form or boundary_before(text, start)):
            yield start, m.end(), capped_score(text[start : m.end()], 0.95), "telegram_bot_token"


def _aws_secret_near(text: str, start: int, end: int) -> Iterator[tuple[int, int, float, str]]:
    lo, hi = max(0, start - 300), min(len(text), end + 300)
    for m in re.finditer(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])", text[lo:hi]):
        value = m.group(0)
        lower, upper, digit = char_classes(value)
        # next to a real access key id the context is strong: a 40-character value with all
        # three classes is the secret unless it is text (uniform random ones stay above
        # 4.2 bits; hand-made or generated ones can dip lower)
        random = lower and upper and digit and shannon_entropy(value) > 3.5
        if random and not decodes_to_text(value):
            yield lo + m.start(), lo + m.end(), capped_score(value, 0.9), "aws_secret_key"


def _skipping(rule: _Rule, text: str, starts: list[int] | None) -> Iterator[re.Match[str]]:
    """What :func:`matches_at` yields for ``rule``, skipping after a failed try the other
    starts inside the run of ``rule.run`` characters it read (they fail the same way: what
    follows the run is the same, and the run before it only shorter)."""
    assert rule.run is not None
    if starts is None:
        starts = _occurrences(text, rule.literal)
    match, run = rule.pattern.match, rule.run.match
    done = 0
    for start in starts:
        if start < done:
            continue
        m = match(text, start)
        if m is not None:
            yield m
            done = m.end() if m.end() > start else start + 1
        else:
            read = run(text, start)
            done = read.end() if read is not None and read.end() > start else start + 1


def _occurrences(text: str, literal: str) -> list[int]:
    out = []
    pos = text.find(literal)
    while pos != -1:
        out.append(pos)
        pos = text.find(literal, pos + 1)
    return out


#: the pre-pass probes every finding of :func:`scan_vendor` starts at
PROBES = frozenset({*_RULES_OF, _DISCORD_PROBE, _TELEGRAM_PROBE})


#: a vendor prefix with a separator in it (``ghp_``, ``sk_live_``, ``xoxb-``, ``glpat-``)
_SEPARATED_PREFIX = re.compile(r"[A-Za-z0-9]{2,12}[_\-]")
#: the word a glued token may follow: a short word or name (not a long blob)
_GLUED_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,19}")


def _glued_to_a_word(text: str, start: int) -> bool:
    """A token glued to the word before it (``my token\u200bghp_…`` once the invisible
    character is removed): accepted when its prefix carries a separator, so it cannot be
    the tail of an ordinary word, and what it is glued to is a short word, not a long
    identifier or an encoded blob that happens to contain the prefix."""
    if _SEPARATED_PREFIX.match(text, start) is None:
        return False
    lo = start
    while lo > 0 and start - lo <= 21 and (text[lo - 1].isalnum() or text[lo - 1] in "_-+/="):
        lo -= 1
    return _GLUED_WORD.fullmatch(text, lo, start) is not None


def scan_vendor(prepared: PreparedText) -> Iterator[tuple[int, int, float, str, int]]:
    """``(start, end, score, subtype, priority)`` of every vendor-format credential: priority
    0 for the formats themselves, 1 for an AWS secret key found next to an access key."""
    text = prepared.text
    found = prepared.hits()
    rules = _RULES
    if found is not None:  # only the rules whose prefix occurs, in table order
        hit = [i for probe in found if probe in _RULES_OF for i in _RULES_OF[probe]]
        rules = tuple(_RULES[i] for i in sorted(hit))
    for rule in rules:
        starts = prepared.starts(rule.probe)
        if rule.anchors and not any(anchor in text for anchor in rule.anchors):
            continue
        tries = (
            matches_at(rule.pattern, text, starts)
            if rule.run is None
            else _skipping(rule, text, starts)
        )
        for m in tries:
            start, end = m.span(rule.group)
            glued = rule.bounded and not boundary_before(text, m.start())
            if glued and not _glued_to_a_word(text, m.start()):
                continue
            score, subtype = rule.score, rule.subtype
            if rule.check is not None:
                checked = rule.check(text, m)
                if checked is None:
                    continue
                score, subtype = checked
            if glued:
                score -= 0.15
            yield start, end, capped_score(text[start:end], score, cased=True), subtype, 0
            if subtype == "aws_access_key" and score > 0.5:
                for s, e, sc, st in _aws_secret_near(text, start, end):
                    yield s, e, sc, st, 1
    for scan in (_discord_tokens, _telegram_tokens):
        for start, end, score, subtype in scan(prepared):
            yield start, end, score, subtype, 0
