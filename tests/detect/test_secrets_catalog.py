"""The vendor catalog (``agentguard.detect.secrets.catalog``), checksums, and the look-alikes
and placeholders the secrets detector must tell apart from keys."""

from __future__ import annotations

import random
import string
import zlib

import pytest

from agentguard.detect.secrets import SecretsDetector
from agentguard.detect.secrets.catalog import CATALOG
from agentguard.detect.secrets.checks import crc32_suffix_ok

DETECTOR = SecretsDetector()
RNG = random.Random(20260901)
ALNUM = string.ascii_letters + string.digits
URL = ALNUM + "-_"
HEX = "0123456789abcdef"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def crc_token(prefix: str) -> str:
    body = rand(30)
    n, digits = zlib.crc32(body.encode()), ""
    while n:
        n, d = divmod(n, 62)
        digits = BASE62[d] + digits
    return prefix + body + digits.rjust(6, "0")


# (subtype, a token of the documented format); values are built at run time
CATALOG_POSITIVES: list[tuple[str, str]] = [
    ("dockerhub_token", "dckr_pat_" + rand(27, URL)),
    ("shopify_token", "shpat_" + rand(32, HEX)),
    ("digitalocean_token", "dop_v1_" + rand(64, HEX)),
    ("databricks_token", "dapi" + rand(32, HEX)),
    ("atlassian_token", "ATATT3xFfGF0" + rand(170, URL) + "=" + rand(8, "0123456789ABCDEF")),
    ("bitbucket_token", "ATBB" + rand(32)),
    ("newrelic_key", "NRAK-" + rand(27, string.ascii_uppercase + string.digits)),
    ("heroku_key", "HRKU-AA" + rand(58, URL)),
    ("replicate_token", "r8_" + rand(37)),
    ("square_token", "sq0csp-" + rand(43, URL)),
    ("braintree_token", f"access_token$production${rand(16, HEX)}${rand(32, HEX)}"),
    ("mailgun_key", "key-" + rand(32, HEX)),
    ("mailchimp_key", rand(32, HEX) + "-us13"),
    ("doppler_token", "dp.pt." + rand(43)),
    ("age_secret_key", "AGE-SECRET-KEY-1" + rand(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L")),
    ("vault_token", "hvs." + rand(90, URL)),
    ("grafana_token", "glsa_" + rand(32) + "_" + rand(8, HEX)),
    ("postman_key", f"PMAK-{rand(24, HEX)}-{rand(34, HEX)}"),
    ("linear_key", "lin_api_" + rand(40)),
    ("sentry_token", "sntryu_" + rand(64, HEX)),
    ("groq_key", "gsk_" + rand(52)),
    ("perplexity_key", "pplx-" + rand(48)),
    ("xai_key", "xai-" + rand(80)),
    ("figma_token", "figd_" + rand(40, URL)),
    ("notion_token", "ntn_" + rand(46)),
    ("supabase_token", "sbp_" + rand(40, HEX)),
    ("tailscale_key", f"tskey-auth-{rand(12)}-{rand(30)}"),
    ("pulumi_token", "pul-" + rand(40, HEX)),
    ("rubygems_key", "rubygems_" + rand(48, HEX)),
    ("nuget_key", "oy2" + rand(43, string.ascii_lowercase + string.digits)),
    ("sonarqube_token", "squ_" + rand(40, HEX)),
    ("dependency_track_key", "odt_" + rand(32)),
    ("sendinblue_key", f"xkeysib-{rand(64, HEX)}-{rand(16)}"),
    ("twitch_token", "oauth:" + rand(30, string.ascii_lowercase + string.digits)),
    ("planetscale_token", "pscale_tkn_" + rand(43, URL)),
    ("flyio_token", "fo1_" + rand(43, URL)),
    (
        "msteams_webhook",
        f"https://outlook.office.com/webhook/{rand(36, HEX)}@{rand(36, HEX)}/IncomingWebhook/"
        f"{rand(32, HEX)}/{rand(36, HEX)}",
    ),
]


def test_every_catalog_subtype_has_a_positive_case() -> None:
    assert {subtype for subtype, _ in CATALOG_POSITIVES} == {rule.subtype for rule in CATALOG}


@pytest.mark.parametrize(
    ("subtype", "token"), CATALOG_POSITIVES, ids=[s for s, _ in CATALOG_POSITIVES]
)
@pytest.mark.parametrize("template", ["TOKEN={s}", 'client = Client("{s}")', "use {s} now"])
def test_catalog_token_is_found_with_its_exact_span(
    subtype: str, token: str, template: str
) -> None:
    text = template.replace("{s}", token)
    findings = [f for f in DETECTOR.detect(text) if f.score >= 0.8]
    assert [(text[f.start : f.end], f.subtype) for f in findings] == [(token, subtype)]


def test_github_token_with_a_valid_checksum_scores_higher_than_one_without() -> None:
    valid = crc_token("ghp_")
    assert crc32_suffix_ok(valid[4:])
    broken = valid[:-1] + ("A" if valid[-1] != "A" else "B")
    (good,) = DETECTOR.detect(f"GITHUB_TOKEN={valid}")
    (bad,) = DETECTOR.detect(f"GITHUB_TOKEN={broken}")
    assert good.score > bad.score >= 0.9


def test_npm_token_checksum_is_checked() -> None:
    (found,) = DETECTOR.detect(f"//registry.npmjs.org/:_authToken={crc_token('npm_')}")
    assert found.subtype == "npm_token" and found.score == 0.99


def test_random_token_body_that_spells_a_marker_in_mixed_case_is_not_an_example() -> None:
    token = "ghp_" + rand(10) + "fAkE" + rand(22)
    (found,) = DETECTOR.detect(f"GITHUB_TOKEN={token}")
    assert found.score >= 0.9


@pytest.mark.parametrize(
    "text",
    [
        "GITHUB_TOKEN=ghp_fakefakefakefakefakefakefakefake1234",
        "GITHUB_TOKEN=ghp_EXAMPLE" + "x" * 29,
        "DOCKER_TOKEN=dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ],
)
def test_placeholder_in_one_case_inside_a_vendor_token_is_an_example(text: str) -> None:
    assert all(f.score <= 0.3 for f in DETECTOR.detect(text))


@pytest.mark.parametrize(
    "text",
    [
        '"hashed_password": "$2b$12$EixZaYVK1fsbw1ZfbX3OXePaWxn96p36WQoeG6Lruj3vjPGga31lW"',
        "password_hash = 5f4dcc3b5aa765d61d8327deb882cf99",
        "redis://:$REDIS_PASSWORD@cache:6379/0",
        "postgres://app:${DB_PASSWORD}@db:5432/app",
        "mysql://root:%s@localhost/test",
    ],
)
def test_stored_hashes_and_variables_are_not_reported(text: str) -> None:
    assert [f for f in DETECTOR.detect(text) if f.score >= 0.5] == []


@pytest.mark.parametrize("prefix", ["%23", "$", "%40"])
def test_url_password_starting_with_an_escape_or_a_dollar_is_reported(prefix: str) -> None:
    password = prefix + rand(14)
    text = f"postgres://app:{password}@db:5432/orders"
    (found,) = DETECTOR.detect(text)
    assert text[found.start : found.end] == password and found.score >= 0.8


@pytest.mark.parametrize(
    "text",
    [
        "mailgun: key-" + "0" * 32,
        "etag: 9b2cf535f27731c974343645a3985328-us1x",
        "see https://outlook.office.com/webhook/ for how to set one up",
        "oauth: the flow is described below",
    ],
)
def test_catalog_look_alikes_are_not_reported(text: str) -> None:
    assert [f for f in DETECTOR.detect(text) if f.score >= 0.5] == []


@pytest.mark.parametrize("before", ["my token", "my_token", "Authorization: Bearer"])
def test_a_vendor_token_glued_to_the_word_before_it_is_found(before: str) -> None:
    """Removing an invisible character (``token\\u200bghp_…``) glues the token to a word."""
    token = "ghp_" + "9NomBbjl2y4y5qtO2o" + "SoJGr297EYx8ZXnd1m"
    text = f"{before}{token} rest"
    found = [(text[f.start : f.end], f.score) for f in SecretsDetector().detect(text)]
    assert [value for value, score in found if score >= 0.5] == [token]


@pytest.mark.parametrize(
    "text",
    [
        "x" + "A" * 40 + "ghp_" + "9NomBbjl2y4y5qtO2oSoJGr297EYx8ZXnd1m",  # inside a blob
        "data:" + "QUJD" * 20 + "ghp_" + "9NomBbjl2y4y5qtO2oSoJGr297EYx8ZXnd1m",
    ],
)
def test_a_prefix_inside_a_long_run_is_not_a_glued_token(text: str) -> None:
    assert SecretsDetector(min_score=0.5).detect(text) == []
