"""Secrets detector: every vendor format and context rule finds the credential's exact span;
look-alikes (UUIDs, digests, base64 of words, paths …) are not reported; documentation
examples score low; the labelled evaluation set keeps recall and false positives in bounds.

Tokens are built here from a seeded random generator (or by hypothesis), so no real-looking
credential literal sits in the repository.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import string
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentguard.detect.base import Detector, Finding
from agentguard.detect.secrets import (
    SUBTYPES,
    SecretsDetector,
    looks_like_example,
    shannon_entropy,
)
from agentguard.detect.secrets.catalog import CATALOG

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DIGITS = string.digits
DASHES = "-" * 5

DETECTOR = SecretsDetector()
EVAL_SET = Path(__file__).parent / "data" / "secrets_eval.jsonl"


RNG = random.Random(20261125)


@pytest.fixture(autouse=True)
def _same_values_whatever_the_order() -> None:
    """Every test draws the same generated values however tests are ordered or spread over
    workers (a shared generator once made one test depend on which tests ran before it)."""
    RNG.seed(20261125)


def rand(n: int, alphabet: str = ALNUM) -> str:
    """n random characters that are not accidentally an example/placeholder value."""
    while True:
        value = "".join(RNG.choice(alphabet) for _ in range(n))
        if not looks_like_example(value):
            return value


def b64url_json(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims: dict[str, object] | None = None) -> str:
    header = b64url_json({"alg": "HS256", "typ": "JWT"})
    payload = b64url_json(claims or {"sub": "4711", "iat": 1764000000})
    return f"{header}.{payload}.{rand(43, URLSAFE)}"


def make_pem(label: str = "RSA PRIVATE KEY", newline: str = "\n") -> str:
    body = newline.join(rand(64, B64) for _ in range(8))
    return f"{DASHES}BEGIN {label}{DASHES}{newline}{body}{newline}{DASHES}END {label}{DASHES}"


def make_discord() -> str:
    user_id = str(RNG.randrange(10**17, 10**19))
    first = base64.b64encode(user_id.encode()).decode().rstrip("=")
    return f"{first}.{rand(6, URLSAFE)}.{rand(38, URLSAFE)}"


def find(text: str, needle: str, detector: SecretsDetector = DETECTOR) -> list[Finding]:
    start = text.index(needle)
    end = start + len(needle)
    return [f for f in detector.detect(text) if (f.start, f.end) == (start, end)]


# ---------------------------------------------------------------------------------------
# positives: one or more realistic sentences per subtype, the secret's span is exact
# ---------------------------------------------------------------------------------------

# (subtype, text with {s} where the secret goes, secret factory, minimum score)
POSITIVES: list[tuple[str, str, Callable[[], str], float]] = [
    ("aws_access_key", "aws_access_key_id = {s}", lambda: "AKIA" + rand(16, BASE32), 0.9),
    ("aws_access_key", "temporary creds {s} expire soon", lambda: "ASIA" + rand(16, BASE32), 0.9),
    ("aws_secret_key", "aws_secret_access_key = {s}", lambda: rand(40, B64), 0.9),
    ("aws_secret_key", '{"SecretAccessKey": "{s}"}', lambda: rand(40, B64), 0.9),
    ("gcp_api_key", 'apiKey: "{s}",', lambda: "AIza" + rand(35, URLSAFE), 0.9),
    ("google_oauth", "client_secret={s}", lambda: "GOCSPX-" + rand(28, URLSAFE), 0.9),
    ("google_oauth", "Authorization: {s}", lambda: "ya29." + rand(120, URLSAFE), 0.85),
    ("github_token", "GITHUB_TOKEN={s}", lambda: "ghp_" + rand(36), 0.9),
    ("github_token", "used {s} in CI", lambda: "ghs_" + rand(36), 0.9),
    ("github_token", "pat: {s}", lambda: "github_pat_" + rand(22) + "_" + rand(59), 0.9),
    ("gitlab_token", 'PRIVATE-TOKEN: {s}"', lambda: "glpat-" + rand(20, URLSAFE), 0.9),
    (
        "slack_token",
        'WebClient(token="{s}")',
        lambda: f"xoxb-{rand(12, DIGITS)}-{rand(13, DIGITS)}-{rand(24)}",
        0.9,
    ),
    (
        "slack_token",
        "SLACK_USER_TOKEN={s}",
        lambda: f"xoxp-{rand(12, DIGITS)}-{rand(12, DIGITS)}-{rand(13, DIGITS)}-{rand(32, HEX)}",
        0.9,
    ),
    (
        "slack_webhook",
        'requests.post("{s}", json=msg)',
        lambda: (
            f"https://hooks.slack.com/services/T{rand(8, BASE32)}/B{rand(10, BASE32)}/{rand(24)}"
        ),
        0.9,
    ),
    ("stripe_key", "stripe.api_key = '{s}'", lambda: "sk_live_" + rand(24), 0.9),
    ("stripe_key", "restricted key {s}.", lambda: "rk_live_" + rand(99), 0.9),
    ("twilio", "TWILIO_API_KEY={s}", lambda: "SK" + rand(32, HEX), 0.85),
    ("twilio", "TWILIO_AUTH_TOKEN={s}", lambda: rand(32, HEX), 0.85),
    (
        "sendgrid_key",
        "SendGridAPIClient('{s}')",
        lambda: f"SG.{rand(22, URLSAFE)}.{rand(43, URLSAFE)}",
        0.9,
    ),
    ("openai_key", "OPENAI_API_KEY={s}", lambda: "sk-proj-" + rand(120, URLSAFE), 0.9),
    ("openai_key", "key {s} got a 401", lambda: f"sk-{rand(20)}T3BlbkFJ{rand(20)}", 0.9),
    ("openai_key", 'OpenAI(api_key="{s}")', lambda: "sk-" + rand(48), 0.85),
    ("anthropic_key", "ANTHROPIC_API_KEY={s}", lambda: f"sk-ant-api03-{rand(93, URLSAFE)}AA", 0.9),
    (
        "huggingface_token",
        "huggingface-cli login --token {s}",
        lambda: "hf_" + rand(34, string.ascii_letters),
        0.9,
    ),
    ("npm_token", "//registry.npmjs.org/:_authToken={s}", lambda: "npm_" + rand(36), 0.9),
    (
        "pypi_token",
        "twine upload -p {s} dist/*",
        lambda: "pypi-AgEIcHlwaS5vcmc" + rand(70, URLSAFE),
        0.9,
    ),
    ("discord_token", "client.run('{s}')", make_discord, 0.9),
    (
        "discord_webhook",
        "WEBHOOK={s}",
        lambda: (
            f"https://discord.com/api/webhooks/{RNG.randrange(10**17, 10**19)}/{rand(68, URLSAFE)}"
        ),
        0.9,
    ),
    (
        "telegram_bot_token",
        "TeleBot('{s}')",
        lambda: f"{RNG.randrange(10**8, 10**10)}:AA{rand(33, URLSAFE)}",
        0.9,
    ),
    (
        "telegram_bot_token",
        "curl https://api.telegram.org/bot{s}/getMe",
        lambda: f"{RNG.randrange(10**8, 10**10)}:AA{rand(33, URLSAFE)}",
        0.9,
    ),
    ("jwt", "Authorization: Bearer {s}", make_jwt, 0.9),
    ("jwt", "Cookie: session={s}; HttpOnly", make_jwt, 0.9),
    (
        "agentguard_key",
        'guard.agent(api_key="{s}")',
        lambda: f"ag_{rand(12, HEX)}_{rand(43, URLSAFE)}",
        0.9,
    ),
    (
        "azure_storage_key",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={s};EndpointSuffix=core.windows.net",
        lambda: rand(86, B64) + "==",
        0.9,
    ),
    (
        "azure_connection_string",
        "Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={s}",
        lambda: rand(43, B64) + "=",
        0.9,
    ),
    (
        "azure_sas_token",
        "https://acme.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&se=2026-12-01&sig={s}",
        lambda: rand(43) + "%3D",
        0.8,
    ),
    ("private_key", "{s}\n", make_pem, 0.95),
    ("private_key", "key:\n{s}", lambda: make_pem("OPENSSH PRIVATE KEY"), 0.95),
    (
        "gcp_service_account",
        '{"type": "service_account", "private_key": "{s}\\n", "client_email": "a@b.iam.gserviceaccount.com"}',
        lambda: make_pem("PRIVATE KEY", newline="\\n"),
        0.95,
    ),
    (
        "url_password",
        "DATABASE_URL=postgres://app:{s}@db.internal:5432/orders",
        lambda: rand(16),
        0.85,
    ),
    ("url_password", "mongodb+srv://admin:{s}@cluster0.x.mongodb.net/db", lambda: rand(16), 0.85),
    ("url_password", "redis://:{s}@cache:6379/0", lambda: rand(12), 0.85),
    ("url_password", "amqp://worker:{s}@rabbit:5672/", lambda: rand(12), 0.85),
    ("url_password", "mysql://root:{s}@localhost/shop", lambda: rand(12), 0.85),
    ("url_password", "fetch https://ci:{s}@artifacts.acme.io/x.tgz", lambda: rand(12), 0.75),
    ("password_assignment", 'DB_PASSWORD="{s}"', lambda: rand(12) + "!", 0.75),
    ("password_assignment", "password: '{s}'", lambda: rand(12), 0.75),
    ("password_assignment", '{"user": "svc", "passwd": "{s}"}', lambda: rand(14), 0.75),
    ("password_assignment", "spring.datasource.password={s}", lambda: rand(14), 0.75),
    ("password_assignment", "<password>{s}</password>", lambda: rand(14), 0.75),
    ("password_assignment", "- name: DB_PASSWORD\n  value: {s}", lambda: rand(14), 0.75),
    (
        "password_assignment",
        "the temporary password is {s} until Friday",
        lambda: rand(10) + "7",
        0.65,
    ),
    ("password_assignment", "CREATE USER x IDENTIFIED BY '{s}';", lambda: rand(12), 0.75),
    ("secret_assignment", 'SECRET_KEY = "{s}"', lambda: rand(40), 0.75),
    ("secret_assignment", "api_key: {s}", lambda: rand(32), 0.75),
    ("secret_assignment", "export SERVICE_TOKEN='{s}'", lambda: rand(30), 0.75),
    ("secret_assignment", 'token: str = "{s}"', lambda: rand(30), 0.75),
    ("secret_assignment", "GET /export?access_token={s}&page=2", lambda: rand(30), 0.75),
    (
        "bearer_token",
        "curl -H 'Authorization: Bearer {s}' https://api",
        lambda: rand(40, URLSAFE),
        0.75,
    ),
    (
        "basic_auth",
        "Authorization: Basic {s}",
        lambda: base64.b64encode(f"deploy:{rand(14)}".encode()).decode(),
        0.8,
    ),
    ("high_entropy", "here is the API key you asked for: {s}", lambda: rand(32), 0.55),
    ("high_entropy", "credentials for staging\n{s}", lambda: rand(40), 0.55),
]


def _positive_params() -> list[object]:
    params = []
    counts: dict[str, int] = {}
    for subtype, template, factory, minimum in POSITIVES:
        secret = factory()
        counts[subtype] = counts.get(subtype, 0) + 1
        text = template.replace("{s}", secret)
        params.append(
            pytest.param(subtype, text, secret, minimum, id=f"{subtype}-{counts[subtype]}")
        )
    return params


def test_every_subtype_has_a_positive_case() -> None:
    # the catalog's subtypes have theirs in test_secrets_catalog.py
    catalog = {rule.subtype for rule in CATALOG}
    assert {case[0] for case in POSITIVES} | catalog == SUBTYPES


@pytest.mark.parametrize(("subtype", "text", "secret", "minimum"), _positive_params())
def test_secret_is_found_with_its_exact_span_and_subtype(
    subtype: str, text: str, secret: str, minimum: float
) -> None:
    found = find(text, secret)
    assert found, f"no finding spans {secret!r}; got {DETECTOR.detect(text)}"
    (finding,) = found
    assert finding.subtype == subtype
    assert finding.type == "SECRET"
    assert finding.detector == "secrets"
    assert minimum <= finding.score <= 1.0
    assert text[finding.start : finding.end] == secret


def test_stripe_test_key_scores_lower_than_a_live_key_but_is_reported() -> None:
    body = rand(24)
    live = find(f"key sk_live_{body}", f"sk_live_{body}")[0].score
    test = find(f"key sk_test_{body}", f"sk_test_{body}")[0].score
    assert 0.5 <= test < live


def test_assignment_reports_the_value_not_the_key() -> None:
    value = rand(20)
    for text in (f"API_KEY={value}", f'"api_key": "{value}"', f"api_key: {value}"):
        (finding,) = DETECTOR.detect(text)
        assert text[finding.start : finding.end] == value


def test_password_in_a_url_reports_the_password_only() -> None:
    password = rand(14)
    text = f"engine = create_engine('postgresql+psycopg2://report:{password}@10.0.0.3/db')"
    (finding,) = DETECTOR.detect(text)
    assert text[finding.start : finding.end] == password
    assert finding.subtype == "url_password"


def test_an_unescaped_at_sign_stays_inside_the_url_password() -> None:
    text = "postgres://u:p@ss9Word@db:5432/x"
    (finding,) = DETECTOR.detect(text)
    assert text[finding.start : finding.end] == "p@ss9Word"


def test_aws_secret_without_a_key_name_is_found_next_to_an_access_key_id() -> None:
    key_id, secret = "AKIA" + rand(16, BASE32), rand(40, B64)
    text = f"creds: {key_id} / {secret}"
    assert find(text, key_id)[0].subtype == "aws_access_key"
    assert find(text, secret)[0].subtype == "aws_secret_key"


def test_truncated_private_key_is_still_reported() -> None:
    pem = make_pem()
    truncated = pem[: pem.index(DASHES + "END")].rstrip()
    (finding,) = DETECTOR.detect(f"log: {truncated}")
    assert finding.subtype == "private_key" and finding.score >= 0.8


# ---------------------------------------------------------------------------------------
# negatives: look-alikes are not reported, examples and placeholders score low
# ---------------------------------------------------------------------------------------


def _uuid() -> str:
    h = rand(32, HEX)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


LOOK_ALIKES = {
    "uuid": f"request_id={_uuid()} status=200",
    "uuid_near_key": f"idempotency key: {_uuid()}",
    "commit_sha": f"commit {rand(40, HEX)}\nAuthor: Dana <dana@acme.io>",
    "short_sha": f"fixed in {rand(7, HEX)} and {rand(12, HEX)}",
    "sha256_digest": f"{rand(64, HEX)}  dist/agentguard-0.1.0.tar.gz",
    "docker_digest": f"image: ghcr.io/acme/api@sha256:{rand(64, HEX)}",
    "hash_near_key": f"cache key: {rand(64, HEX)}",
    "sri_integrity": f'"integrity": "sha512-{rand(86, B64)}=="',
    "base64_words": "SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0IG1lc3NhZ2U=",
    "base64_words_near_key": "the key phrase was SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0IG1lc3NhZ2U=",
    "base64_words_as_token": "token: SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0IG1lc3NhZ2U=",
    "file_path": "venv/lib/python3.11/site-packages/agentguard/detect/secrets.py",
    "key_file_path": "private_key_path: /etc/ssl/private/server-2026.key",
    "secret_mount_path": 'secret: "/var/run/secrets/kubernetes.io/serviceaccount/token"',
    "url_without_credentials": "See https://docs.acme.io:8443/v2/auth/tokens?lang=en#rotate",
    "git_url": "git clone https://github.com/acme/agentguard.git",
    "email_in_query": "https://a.example.org/x?email=foo@bar.com",
    "css_colours": ".btn { color: #1a2b3c; background: #ffcc00; }",
    "version_strings": "token-exchange v2.3.1-beta.4 on keycloak 24.0.5",
    "oid_assignment": "SERVER_AUTH = '1.3.6.1.5.5.7.3.1'",
    "camel_case": "const tokenRefreshHandlerForAuthenticatedSessionsWithRetry2 = make();",
    "long_identifier_value": "password_validator = validatePasswordStrengthRequirements",
    "env_lookup": 'api_key = os.environ["OPENAI_API_KEY"]',
    "type_annotation": "password: str = Field(..., min_length=12)",
    "attribute_reference": "token = self._tokenizer.encode(prompt)",
    "comparison_in_parser": 'if token == "lambda": return parse()',
    "config_numbers": "max_tokens: 4096\ntoken_type: bearer\npassword_min_length: 12",
    "prose": "Reset your password in settings; the token expires after 24 hours.",
    "prose_is": "The secret is patience, and the password is hidden in the manual.",
    "english_words": "The author passed the keys to the keeper before the tokenizer ran.",
    "ssh_public_key": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rand(43, B64)} dana@laptop public key",
    "stripe_publishable": f"publishable_key: pk_live_{rand(24)}",
    "twilio_account_sid": f"Twilio account AC{rand(32, HEX)} sent 12 messages",
    "key_id": f"kid: {rand(40, HEX)}  # key id",
    "jwt_like_without_alg": f"{b64url_json({'typ': 'JWT'})}.{b64url_json({'a': 1})}.{rand(20)}",
    "bearer_placeholder": "Authorization: Bearer YOUR_ACCESS_TOKEN",
    "bearer_template": "headers = {'Authorization': f'Bearer {token}'}",
    "pagination_token": '"nextPageToken": "CAEQAA"',
}


@pytest.mark.parametrize("text", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alike_is_not_reported(text: str) -> None:
    strong = [f for f in DETECTOR.detect(text) if f.score >= 0.3]
    assert strong == [], [(f, text[f.start : f.end]) for f in strong]


EXAMPLES = {
    "aws_docs_key_id": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_docs_secret": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_docs_pair": "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "xxxx_token": "GITHUB_TOKEN=ghp_" + "x" * 36,
    "same_character": "npm_" + "0" * 36,
    "example_word": "stripe.api_key = 'sk_live_EXAMPLE000000000000000000'",
    "dummy": 'password = "dummy-password-1"',
    "placeholder": "api_key: placeholder-value-123",
    "changeme": "SECRET_KEY=changeme",
    "your_api_key": "OPENAI_API_KEY=your_api_key_here",
    "angle_brackets": 'token = "<your token>"',
    "env_reference": 'DB_PASSWORD="${DB_PASSWORD}"',
    "template": 'password: "{{ vault_db_password }}"',
    "all_same": "password = 'aaaaaaaaaaaa'",
    "url_placeholder": "postgres://user:password@localhost:5432/mydb",
    "pem_placeholder": f"{DASHES}BEGIN RSA PRIVATE KEY{DASHES}\n...\n{DASHES}END RSA PRIVATE KEY{DASHES}",
}


@pytest.mark.parametrize("text", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_documentation_examples_and_placeholders_score_at_most_0_3(text: str) -> None:
    assert all(f.score <= 0.3 for f in DETECTOR.detect(text)), DETECTOR.detect(text)


def test_aws_documentation_keys_are_still_located_but_scored_low() -> None:
    text = EXAMPLES["aws_docs_pair"]
    findings = DETECTOR.detect(text)
    assert [text[f.start : f.end] for f in findings] == text.split()
    assert all(f.score <= 0.3 for f in findings)


@pytest.mark.parametrize(
    "value",
    ["AKIAIOSFODNN7EXAMPLE", "xxxxxxxxxxxx", "${TOKEN}", "{{ token }}", "<api-key>", "zzzzzzzz"],
)
def test_looks_like_example_recognises_placeholders(value: str) -> None:
    assert looks_like_example(value)


def test_looks_like_example_accepts_random_values() -> None:
    assert not looks_like_example(rand(32))


def test_shannon_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy(ALNUM) == pytest.approx(5.954, abs=1e-3)


# ---------------------------------------------------------------------------------------
# offsets, protocol, options
# ---------------------------------------------------------------------------------------


def test_offsets_are_exact_for_several_secrets_after_non_ascii_text() -> None:
    # "İ" lower-cases to two characters: offsets must still index the original text
    github, slack = "ghp_" + rand(36), f"xoxb-{rand(12, DIGITS)}-{rand(13, DIGITS)}-{rand(24)}"
    password = rand(14)
    text = f"İstanbul ☃ café — {github}\n日本語 password={password} and {slack} 🎉"
    findings = DETECTOR.detect(text)
    assert [text[f.start : f.end] for f in findings] == [github, password, slack]
    assert [f.start for f in findings] == sorted(f.start for f in findings)


def test_findings_follow_the_detector_protocol_and_never_overlap() -> None:
    assert isinstance(DETECTOR, Detector)
    assert DETECTOR.name == "secrets" and DETECTOR.types == frozenset({"SECRET"})
    text = "\n".join(
        f"line {i}: " + template.replace("{s}", factory())
        for i, (_, template, factory, _) in enumerate(POSITIVES)
    )
    findings = DETECTOR.detect(text)
    assert len(findings) >= len(POSITIVES)
    for before, after in itertools.pairwise(findings):
        assert before.end <= after.start
    for finding in findings:
        assert finding.type == "SECRET" and finding.detector == "secrets"
        assert finding.subtype in SUBTYPES
        assert 0.0 <= finding.score <= 1.0
        assert 0 <= finding.start < finding.end <= len(text)


def test_min_score_drops_weaker_findings() -> None:
    text = "AKIAIOSFODNN7EXAMPLE and " + "ghp_" + rand(36)
    assert len(SecretsDetector().detect(text)) == 2
    (strong,) = SecretsDetector(min_score=0.5).detect(text)
    assert strong.subtype == "github_token"
    with pytest.raises(ValueError):
        SecretsDetector(min_score=1.5)


def test_empty_and_plain_text_give_no_findings() -> None:
    assert DETECTOR.detect("") == []
    assert DETECTOR.detect("Nothing to see here, just a normal sentence.") == []


def test_pathological_input_is_scanned_in_linear_time() -> None:
    text = (
        ("password=" + "a" * 50 + " ") * 2000
        + "key "
        + "A" * 100_000
        + ("://:" + "b" * 200) * 500
        + ("eyJ" + "c" * 30 + ".") * 2000
    )
    started = time.perf_counter()
    DETECTOR.detect(text)
    # a hang guard, not a speed test: catastrophic backtracking takes minutes or hours,
    # a linear scan well under a second (speed: bench/bench_linear.py; linearity by
    # counted work: tests/detect/test_linear.py). The margin keeps a busy machine green.
    assert time.perf_counter() - started < 60.0


# ---------------------------------------------------------------------------------------
# property: any well-formed vendor token embedded in prose is found with its exact span
# ---------------------------------------------------------------------------------------


def _chars(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


def _discord_strategy() -> st.SearchStrategy[str]:
    user_id = st.integers(min_value=10**16, max_value=10**19).map(str)
    first = user_id.map(lambda uid: base64.b64encode(uid.encode()).decode().rstrip("="))
    return st.builds(lambda a, b, c: f"{a}.{b}.{c}", first, _chars(URLSAFE, 6), _chars(URLSAFE, 38))


def _jwt_strategy() -> st.SearchStrategy[str]:
    claims = st.dictionaries(
        st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=8),
        st.integers() | st.text(alphabet=ALNUM, max_size=12),
        max_size=4,
    )
    alg = st.sampled_from(["HS256", "RS256", "ES384", "EdDSA"])
    return st.builds(
        lambda a, c, sig: f"{b64url_json({'alg': a})}.{b64url_json(c)}.{sig}",
        alg,
        claims,
        _chars(URLSAFE, 43),
    )


VENDOR_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "aws_access_key": st.builds(str.__add__, st.sampled_from(["AKIA", "ASIA"]), _chars(BASE32, 16)),
    "gcp_api_key": _chars(URLSAFE, 35).map(lambda s: "AIza" + s),
    "google_oauth": _chars(URLSAFE, 28).map(lambda s: "GOCSPX-" + s),
    "github_token": st.builds(
        str.__add__, st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), _chars(ALNUM, 36)
    ),
    "gitlab_token": _chars(URLSAFE, 20).map(lambda s: "glpat-" + s),
    "slack_token": st.builds(
        lambda a, b, c: f"xoxb-{a}-{b}-{c}",
        _chars(DIGITS, 12),
        _chars(DIGITS, 13),
        _chars(ALNUM, 24),
    ),
    "slack_webhook": st.builds(
        lambda t, b, s: f"https://hooks.slack.com/services/T{t}/B{b}/{s}",
        _chars(BASE32, 8),
        _chars(BASE32, 10),
        _chars(ALNUM, 24),
    ),
    "stripe_key": st.builds(
        str.__add__, st.sampled_from(["sk_live_", "rk_live_"]), _chars(ALNUM, 24)
    ),
    "twilio": _chars(HEX, 32).map(lambda s: "SK" + s),
    "sendgrid_key": st.builds(lambda a, b: f"SG.{a}.{b}", _chars(URLSAFE, 22), _chars(URLSAFE, 43)),
    "openai_key": st.one_of(
        _chars(URLSAFE, 64).map(lambda s: "sk-proj-" + s),
        st.builds(lambda a, b: f"sk-{a}T3BlbkFJ{b}", _chars(ALNUM, 20), _chars(ALNUM, 20)),
    ),
    "anthropic_key": _chars(URLSAFE, 93).map(lambda s: f"sk-ant-api03-{s}AA"),
    # real Hugging Face tokens mix upper and lower case
    "huggingface_token": st.builds(
        lambda s, lo, up: f"hf_{lo}{s}{up}",
        _chars(string.ascii_letters, 32),
        st.sampled_from(string.ascii_lowercase),
        st.sampled_from(string.ascii_uppercase),
    ),
    "npm_token": _chars(ALNUM, 36).map(lambda s: "npm_" + s),
    "pypi_token": _chars(URLSAFE, 60).map(lambda s: "pypi-AgEIcHlwaS5vcmc" + s),
    "discord_token": _discord_strategy(),
    "telegram_bot_token": st.builds(
        lambda n, s: f"{n}:AA{s}", st.integers(10**7, 10**10 - 1), _chars(URLSAFE, 33)
    ),
    "jwt": _jwt_strategy(),
    "agentguard_key": st.builds(lambda a, b: f"ag_{a}_{b}", _chars(HEX, 12), _chars(URLSAFE, 43)),
}

PROSE_WORDS = [
    *["the", "deploy", "failed", "again", "after", "lunch", "so", "please", "check"],
    *["logs", "and", "rotate", "whatever", "was", "pasted", "into", "channel", "before"],
    *[",", "(", ")", ":", ";", "!", "?", "—", "café", "42", "2026-11-25", "key", "token"],
]
prose = st.lists(st.sampled_from(PROSE_WORDS), max_size=12).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    subtype=st.sampled_from(sorted(VENDOR_FORMATS)),
    before=prose,
    after=prose,
    joiner=st.sampled_from([" ", "\n", " '", ' "', " (", "\t"]),
)
def test_generated_vendor_tokens_in_prose_are_found_with_the_exact_span(
    data: st.DataObject, subtype: str, before: str, after: str, joiner: str
) -> None:
    token = data.draw(VENDOR_FORMATS[subtype], label="token")
    closer = {" '": "' ", ' "': '" ', " (": ") "}.get(joiner, joiner)
    text = f"{before}{joiner}{token}{closer}{after}"
    start = len(before) + len(joiner)
    matches = [f for f in DETECTOR.detect(text) if (f.start, f.end) == (start, start + len(token))]
    assert matches, DETECTOR.detect(text)
    assert matches[0].subtype == subtype
    if not looks_like_example(token):
        assert matches[0].score >= 0.5


ASSIGNMENT_NOISE = ["password=", "token: ", "api_key = '", "Bearer ", "://u:", "@", "'", "\n"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(max_size=30) | st.sampled_from(ASSIGNMENT_NOISE) | st.text(ALNUM, min_size=20),
        max_size=12,
    ).map("".join)
)
def test_arbitrary_text_gives_ordered_disjoint_in_bounds_findings(text: str) -> None:
    findings = DETECTOR.detect(text)
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(text)
        assert finding.subtype in SUBTYPES and 0.0 <= finding.score <= 1.0
    for before, after in itertools.pairwise(findings):
        assert before.end <= after.start


# ---------------------------------------------------------------------------------------
# the labelled evaluation set
# ---------------------------------------------------------------------------------------


def test_eval_set_recall_and_false_positive_rate() -> None:
    rows = [json.loads(line) for line in EVAL_SET.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 150
    found = missed = false_lines = negatives = 0
    for row in rows:
        reported = [f for f in DETECTOR.detect(row["text"]) if f.score >= 0.5]
        if not row["entities"]:
            negatives += 1
            false_lines += bool(reported)
            continue
        for entity in row["entities"]:
            assert entity["type"] == "SECRET"
            span = (entity["start"], entity["end"])
            if any((f.start, f.end) == span for f in reported):
                found += 1
            else:
                missed += 1
    recall = found / (found + missed)
    false_positive_rate = false_lines / negatives
    assert recall >= 0.95, f"recall {recall:.3f}"
    assert false_positive_rate <= 0.10, f"false-positive rate {false_positive_rate:.3f}"


def test_a_password_in_a_repr_with_escaped_quotes_is_found() -> None:
    # str(KeyError(...)) is a repr: the quotes around the value arrive escaped (\')
    text = str(KeyError(" canary \"password='U1fH+-ZM9T.B.rKrm:G~^sNm' "))
    assert "\\'" in text
    found = [text[f.start : f.end] for f in SecretsDetector().detect(text) if f.score >= 0.5]
    assert found == ["U1fH+-ZM9T.B.rKrm:G~^sNm"]


# a random password, built at run time so no file holds one
_PW = "DhU4" + "XgaOzy" + "x7J3"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"DB_PASSWORD=!{_PW}", f"!{_PW}"),
        (f"password={_PW[:3]},{_PW[3:]}", f"{_PW[:3]},{_PW[3:]}"),
        (f"password={_PW[:5]}({_PW[5:]}", f"{_PW[:5]}({_PW[5:]}"),
        (f"password=K{_PW}.gQ", f"K{_PW}.gQ"),
        (f"POSTGRES_PASSWORD: K{_PW[:9]}={_PW[9:]}", f"K{_PW[:9]}={_PW[9:]}"),
        (f"mysql -u root --password {_PW} -h db", _PW),
        (f"curl --token '{_PW}' https://api.test", _PW),
        (f"mysql -u root -p{_PW} -h db", _PW),
        (f"/usr/bin/mysqldump --host=db -u app -p'{_PW}' shop", _PW),
        (f"mariadb -uroot -p{_PW}", _PW),
        (f"sshpass -p {_PW} ssh deploy@host", _PW),
        (f"redis-cli -h cache -p 6379 -a {_PW} ping", _PW),
        (f"curl -u admin:{_PW} https://api.test/v1", _PW),
        (f'curl -s https://api.test -H "Accept: text/plain" --user ci:{_PW}', _PW),
        (f"log in as admin, pw {_PW}", _PW),
        (f"the vpn password {_PW} expires friday", _PW),
    ],
)
def test_password_shapes_that_read_as_code_are_found_when_the_value_is_random(
    text: str, value: str
) -> None:
    found = [text[f.start : f.end] for f in SecretsDetector().detect(text) if f.score >= 0.5]
    assert found == [value]


@pytest.mark.parametrize(
    "text",
    [
        "password=!enabled",
        "password: !vault |",
        "token=*db_token",
        "password=get_password(user)",
        "password=compute(salt, pepper)",
        "password=settings.database.password",
        "password=os.environ.DbPassword2",
        "password=abc,user=bob",
        "password=a1,b2,c3",
        "token: Optional[str] = None",
        "api_token: SecretStr = Field(default=None)",
        "use the --password option to set it",
        "--password $DB_PASSWORD",
        "--password-file /run/secrets/db",
        "mysql -u root -p -h db",
        'mysql -u root -p"$MYSQL_PWD" shop',
        "run mysql, then grep -pattern in the log",
        "mysql -P 3306 -h db",
        "mysql -u root -ppassword",
        "curl -u admin https://api.test",
        "curl -u $USER:$PASS https://api.test",
        "use curl to fetch it; -u is the user flag",
        "redis-cli -a $REDIS_PASSWORD",
        "sshpass -f ~/.pw ssh host",
        "pass AB12cd34 to the function",
        "the password field is required",
        "upward trend Zq81mPx0Lw9 bypass Zq81mPx0Lw9",
        "pwd /home/user",
        "password changeme123",
    ],
)
def test_code_and_prose_around_those_shapes_is_not_a_secret(text: str) -> None:
    found = [text[f.start : f.end] for f in SecretsDetector().detect(text) if f.score >= 0.5]
    assert found == []


def test_a_long_mysql_command_line_is_read_in_bounded_time() -> None:
    """A hang guard (no timing assert): thousands of options after one client name."""
    text = "mysql " + "-x y " * 50_000 + f"-p{_PW}"
    assert SecretsDetector().detect(text) == []
    text = ("mysql -u root " * 20_000) + f"-p{_PW}"
    assert [text[f.start : f.end] for f in SecretsDetector().detect(text)] == [_PW]
