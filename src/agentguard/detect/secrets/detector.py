"""Secrets and credentials: vendor tokens, private keys, JWTs, passwords in URLs and code.

``SecretsDetector().detect(text)`` returns ``Finding(type="SECRET", subtype=…)`` values whose
span is the credential itself: ``text[f.start:f.end]`` is the token, the password of a
connection string, the value (never the key) of a ``password=`` assignment, or a whole
PEM private-key block.

How it stays fast on ordinary text: every vendor rule starts with a literal prefix
(``ghp_``, ``xoxb-``, ``eyJ`` …) and the context rules start at a context word
(``password``, ``token``, ``key`` …); these are pre-pass probes
(:mod:`agentguard.detect.prepass`), found for every family in one scan of the text, so a
rule's regex runs only where its prefix occurs, context rules (assignments, ``Bearer``,
entropy) only at the few places where a context word does, and Shannon entropy is computed
only in a short window after such a word.

Work stays linear on any input, dense or adversarial (``pwd=pwd=pwd=…``, ``eyJeyJeyJ…``):
an unquoted value is read at most 512 characters at a time and, in one run of value
characters, only a few keys are tried; the windows of nearby context words are read once;
a vendor pattern that fails after a run skips the rest of that run; an END line is looked
for once per stretch of text; and overlapping candidates are resolved with one look-up each.

Scores: vendor formats with a valid structure ~0.95; ``key = value`` assignments ~0.8;
high-entropy strings next to a context word ~0.6; Stripe test keys 0.6; documentation
examples and placeholders (``…EXAMPLE…``, ``xxxx``, ``<token>``, ``${VAR}``, one repeated
character …) at most 0.2. Look-alikes (UUIDs, hex digests, base64 of words, paths, URLs
without credentials) are not reported.

The scanners live in sibling modules, one concept each; this module runs them and keeps
one finding per place:

* :mod:`~agentguard.detect.secrets.values` — value heuristics: examples and placeholders,
  entropy, base64;
* :mod:`~agentguard.detect.secrets.rules` — the vendor rule table, and
  :mod:`~agentguard.detect.secrets.checks` — the structure check of each vendor format;
* :mod:`~agentguard.detect.secrets.formats` — PEM private keys, passwords in URLs;
* :mod:`~agentguard.detect.secrets.assignments` — ``key = value`` assignments;
* :mod:`~agentguard.detect.secrets.context` — context words: assignments, ``Bearer`` /
  ``Basic`` headers, high-entropy strings.
"""

from __future__ import annotations

import bisect

from agentguard.detect.base import Finding
from agentguard.detect.prepass import PreparedText, prepare
from agentguard.detect.secrets import context as secrets_context
from agentguard.detect.secrets import formats as secrets_formats
from agentguard.detect.secrets import rules as secrets_rules
from agentguard.detect.secrets.context import KEYWORDS, scan_context
from agentguard.detect.secrets.formats import scan_private_keys, scan_url_passwords
from agentguard.detect.secrets.rules import scan_vendor
from agentguard.detect.secrets.values import EXAMPLE_SCORE as EXAMPLE_SCORE
from agentguard.detect.secrets.values import looks_like_example, shannon_entropy

__all__ = ["SUBTYPES", "SecretsDetector", "looks_like_example", "shannon_entropy"]

SECRET = "SECRET"  # noqa: S105 - the finding type, not a password

#: every subtype a finding of this detector can carry
SUBTYPES: frozenset[str] = frozenset(
    {
        "age_secret_key",
        "agentguard_key",
        "anthropic_key",
        "atlassian_token",
        "aws_access_key",
        "aws_secret_key",
        "azure_connection_string",
        "azure_sas_token",
        "azure_storage_key",
        "basic_auth",
        "bearer_token",
        "bitbucket_token",
        "braintree_token",
        "databricks_token",
        "dependency_track_key",
        "digitalocean_token",
        "discord_token",
        "discord_webhook",
        "dockerhub_token",
        "doppler_token",
        "figma_token",
        "flyio_token",
        "gcp_api_key",
        "gcp_service_account",
        "github_token",
        "gitlab_token",
        "google_oauth",
        "grafana_token",
        "groq_key",
        "heroku_key",
        "high_entropy",
        "huggingface_token",
        "jwt",
        "linear_key",
        "mailchimp_key",
        "mailgun_key",
        "msteams_webhook",
        "newrelic_key",
        "notion_token",
        "npm_token",
        "nuget_key",
        "openai_key",
        "password_assignment",
        "perplexity_key",
        "planetscale_token",
        "postman_key",
        "private_key",
        "pulumi_token",
        "pypi_token",
        "replicate_token",
        "rubygems_key",
        "secret_assignment",
        "sendgrid_key",
        "sendinblue_key",
        "sentry_token",
        "shopify_token",
        "slack_token",
        "slack_webhook",
        "sonarqube_token",
        "square_token",
        "stripe_key",
        "supabase_token",
        "tailscale_key",
        "telegram_bot_token",
        "twilio",
        "twitch_token",
        "url_password",
        "vault_token",
        "xai_key",
    }
)

#: the context words the detector searches for (read by ``bench/bench_detectors.py``)
_KEYWORDS = KEYWORDS

_Candidate = tuple[int, int, float, str, int]  # start, end, score, subtype, priority
#: priorities up to this one come from format rules; above it, from context rules
_FORMAT_PRIORITY = 1
#: every rule starts where one of these pre-pass probes fires
_PROBES = secrets_rules.PROBES | secrets_formats.PROBES | secrets_context.PROBES


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
        return self.detect_prepared(prepare(text))

    def detect_prepared(self, prepared: PreparedText) -> list[Finding]:
        """:meth:`detect` on a text prepared once for several families."""
        if not prepared.text or not prepared.any_fires(_PROBES):
            return []
        candidates: list[_Candidate] = list(scan_vendor(prepared))
        for start, end, score, subtype in scan_private_keys(prepared):
            candidates.append((start, end, score, subtype, 0))
        for start, end, score, subtype in scan_url_passwords(prepared):
            candidates.append((start, end, score, subtype, 1))
        candidates.extend(scan_context(prepared))
        return [
            Finding(SECRET, start, end, score, self.name, subtype)
            for start, end, score, subtype in _resolve(candidates)
            if score >= self.min_score
        ]


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
            kept.extend(_strongest_disjoint(cluster))
            cluster = []
        if cand[0] < 0:
            break
        if not cluster:
            cluster_end = cand[1]
        cluster.append(cand)
        cluster_end = max(cluster_end, cand[1])
    kept.sort()
    return kept


def _strongest_disjoint(cluster: list[_Candidate]) -> list[tuple[int, int, float, str]]:
    """Greedily, strongest first, the candidates that overlap none chosen before. The
    chosen spans are kept sorted (they are disjoint, so their ends are sorted too): one
    look at a neighbour per candidate, however many are chosen."""
    starts: list[int] = []
    ends: list[int] = []
    chosen: list[tuple[int, int, float, str]] = []
    for c in sorted(cluster, key=lambda c: (-c[2], c[4], c[0] - c[1])):
        i = bisect.bisect_left(starts, c[1])  # the chosen spans that start before c ends
        if i and ends[i - 1] > c[0]:
            continue
        starts.insert(i, c[0])
        ends.insert(i, c[1])
        chosen.append((c[0], c[1], c[2], c[3]))
    return chosen
