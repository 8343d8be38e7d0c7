"""More vendor formats: the prefixed tokens of SaaS providers (Docker Hub, Shopify,
DigitalOcean, Databricks, Atlassian, New Relic, Heroku, Square, Braintree, Mailgun, Vault,
Grafana, Sentry …), each a literal prefix and a fixed body, as the providers document them.

The table joins :mod:`~agentguard.detect.secrets.rules`; every pattern starts with its
literal prefix (a pre-pass probe) and reads a bounded body, so it never backtracks far.
"""

from __future__ import annotations

import re

from agentguard.detect import prepass
from agentguard.detect.prepass import Literal, Pattern
from agentguard.detect.secrets.rule import TAIL_GUARD, Rule

_B62 = "[A-Za-z0-9]"
_URL = "[A-Za-z0-9_\\-]"


def _prefixed(subtype: str, prefixes: tuple[str, ...], body: str, score: float = 0.95) -> Rule:
    """A token made of one of ``prefixes`` and ``body`` (a regex), ending at a boundary."""
    alternatives = "|".join(re.escape(p) for p in prefixes)
    return Rule(
        subtype,
        re.compile(f"(?:{alternatives}){body}{TAIL_GUARD}"),
        score,
        probe=prepass.probe(*(Literal(p) for p in prefixes)),
    )


_PREFIXED: tuple[Rule, ...] = (
    _prefixed("dockerhub_token", ("dckr_pat_", "dckr_oat_"), f"{_URL}{{27,40}}"),
    _prefixed("shopify_token", ("shpat_", "shpca_", "shppa_", "shpss_"), "[a-fA-F0-9]{32}"),
    _prefixed("digitalocean_token", ("dop_v1_", "doo_v1_", "dor_v1_"), "[a-f0-9]{64}"),
    _prefixed("databricks_token", ("dapi",), "[a-f0-9]{32}(?:-[0-9])?"),
    _prefixed("atlassian_token", ("ATATT3", "ATCTT3"), f"{_URL}{{150,250}}=[A-F0-9]{{8}}"),
    _prefixed("bitbucket_token", ("ATBB",), f"{_B62}{{32}}(?:[A-F0-9]{{8}})?"),
    _prefixed("newrelic_key", ("NRAK-",), "[A-Z0-9]{27}"),
    _prefixed("newrelic_key", ("NRII-", "NRIQ-"), f"{_URL}{{32}}"),
    _prefixed("newrelic_key", ("NRJS-",), "[a-f0-9]{19}"),
    _prefixed("newrelic_key", ("NRAA-",), "[a-f0-9]{27}"),
    _prefixed("heroku_key", ("HRKU-AA",), f"{_URL}{{58}}"),
    _prefixed("replicate_token", ("r8_",), f"{_B62}{{37}}"),
    _prefixed("square_token", ("EAAA",), f"{_URL}{{60}}", 0.9),
    _prefixed("square_token", ("sq0atp-",), f"{_URL}{{22}}"),
    _prefixed("square_token", ("sq0csp-",), f"{_URL}{{43}}"),
    _prefixed(
        "braintree_token",
        ("access_token$production$", "access_token$sandbox$"),
        "[0-9a-z]{16}\\$[0-9a-f]{32}",
    ),
    _prefixed("mailgun_key", ("key-",), "[a-f0-9]{32}", 0.85),
    _prefixed(
        "doppler_token",
        ("dp.pt.", "dp.st.", "dp.ct.", "dp.sa.", "dp.scim.", "dp.audit."),
        f"(?:[a-z0-9_]{{2,35}}\\.)?{_B62}{{40,44}}",
    ),
    _prefixed("age_secret_key", ("AGE-SECRET-KEY-1",), "[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    _prefixed("vault_token", ("hvs.",), f"{_URL}{{24,}}"),
    _prefixed("vault_token", ("hvb.",), f"{_URL}{{100,}}"),
    _prefixed("grafana_token", ("glsa_",), f"{_B62}{{32}}_[A-Fa-f0-9]{{8}}"),
    _prefixed("grafana_token", ("glc_",), "[A-Za-z0-9+/]{32,400}={0,2}"),
    _prefixed("postman_key", ("PMAK-",), "[a-f0-9]{24}-[a-f0-9]{34}"),
    _prefixed("linear_key", ("lin_api_",), f"{_B62}{{40}}"),
    _prefixed("sentry_token", ("sntrys_",), "[A-Za-z0-9+/=_]{60,400}"),
    _prefixed("sentry_token", ("sntryu_",), "[a-f0-9]{64}"),
    _prefixed("groq_key", ("gsk_",), f"{_B62}{{52}}"),
    _prefixed("perplexity_key", ("pplx-",), f"{_B62}{{48}}"),
    _prefixed("xai_key", ("xai-",), f"{_B62}{{80}}"),
    _prefixed("figma_token", ("figd_",), f"{_URL}{{40}}"),
    _prefixed("notion_token", ("ntn_",), f"{_B62}{{46}}"),
    _prefixed("supabase_token", ("sbp_",), "[a-f0-9]{40}"),
    _prefixed("tailscale_key", ("tskey-",), f"[a-z]+-{_B62}{{6,}}-{_B62}{{20,}}"),
    _prefixed("pulumi_token", ("pul-",), "[a-f0-9]{40}"),
    _prefixed("rubygems_key", ("rubygems_",), "[a-f0-9]{48}"),
    _prefixed("nuget_key", ("oy2",), "[a-z0-9]{43}", 0.85),
    _prefixed("sonarqube_token", ("sqp_", "squ_", "sqa_"), "[a-f0-9]{40}"),
    _prefixed("dependency_track_key", ("odt_",), f"{_B62}{{32,40}}", 0.9),
    _prefixed("sendinblue_key", ("xkeysib-",), "[a-f0-9]{64}-[A-Za-z0-9]{16}"),
    _prefixed("twitch_token", ("oauth:",), "[a-z0-9]{30}", 0.85),
    _prefixed(
        "planetscale_token", ("pscale_tkn_", "pscale_pw_", "pscale_oauth_"), f"{_URL}{{32,64}}"
    ),
    _prefixed("flyio_token", ("fo1_",), f"{_URL}{{43}}"),
)

#: Mailchimp: 32 hex then ``-us`` and a data-centre number; found from its start
_MAILCHIMP = Rule(
    "mailchimp_key",
    re.compile(r"[0-9a-f]{32}-us[0-9]{1,2}(?![A-Za-z0-9])"),
    0.9,
    probe=prepass.probe(Pattern("[0-9a-f]{32}-us[0-9]", width=36)),
)
#: Microsoft Teams incoming webhooks (their path holds the secret)
_TEAMS = Rule(
    "msteams_webhook",
    re.compile(
        r"https://(?:[a-z0-9\-]+\.webhook\.office\.com/webhookb2|outlook\.office\.com/webhook)/"
        r"[A-Za-z0-9@/\-]{60,300}"
    ),
    0.9,
    bounded=False,
    probe=prepass.probe(Literal("https://")),
)

#: the rules of this module, in the order they are tried
CATALOG: tuple[Rule, ...] = (*_PREFIXED, _MAILCHIMP, _TEAMS)
