"""Hypothesis strategies for realistic secrets and PII, for the "never leak" suite.

Every strategy yields a :class:`Sensitive`: the ``text`` to inject (a token, a whole
``password=…`` assignment, a PEM block …) and the ``needles`` — the parts of it that must
never be found in clear anywhere agentguard writes (the token itself, the password of an
assignment, every line of a key block).

The values are shaped like real ones: vendor prefixes and lengths, cards of real brands
that pass Luhn (never the documented test numbers), SSNs and IBANs that pass
python-stdnum, phone numbers valid for their region per ``phonenumbers``. The random parts
come from a true PRNG seeded by hypothesis, because real keys are uniformly random;
hypothesis explores the structure (format, brand, region, layout).

Never generated: documentation examples and placeholders (``…EXAMPLE…``, ``xxxx``,
``123456``, ``555-01xx`` numbers, the card networks' test numbers, a value made of one
repeated character), which the detectors score low on purpose. Nor the shapes the
detectors miss: a random part that happens to spell a placeholder (drawn again), some
password shapes (a leading symbol, ``name.attribute``, ``word=…`` after a colon, symbols
that end an unquoted value) and a card number right after a bare comma. Each of these
has a failing reproduction in DETECTOR_GAPS in test_never_leak.py, so none is silent.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import phonenumbers
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban
from stdnum.us import ssn as stdnum_ssn

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
BASE32 = string.ascii_uppercase + "234567"
BASE64 = ALNUM + "+/"
BASE64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
LOWER = string.ascii_lowercase
#: password symbols that no way of writing a password (unquoted, quoted, in a URL) treats
#: as a delimiter; symbols that are, and a leading symbol, are detector gaps (see
#: DETECTOR_GAPS in test_never_leak.py)
PASSWORD_SYMBOLS = "-_.+=^~:/?"

#: the placeholders the detectors document and score low (``…EXAMPLE…``, ``xxxx``,
#: ``${VAR}`` …); a random value holds one now and then (about 1 in 1 500 RS256 JWTs), and
#: is then stored in clear: see DETECTOR_GAPS in test_never_leak.py
_EXAMPLE_MARKERS = (
    "example", "dummy", "placeholder", "xxxx", "changeme", "change_me", "change-me",
    "replaceme", "replace_me", "your_", "your-", "redacted", "sample", "notreal",
    "not_real", "not-a-real", "fake", "****", "...", "\u2026", "${", "{{", "}}", "%(",
    "123456", "abcdefgh", "qwerty",
)  # fmt: skip


@dataclass(frozen=True)
class Sensitive:
    """A secret or a piece of PII as it is written, and the parts of it that must not leak."""

    kind: str
    text: str
    needles: tuple[str, ...]

    def __post_init__(self) -> None:
        assert self.needles and all(len(n) >= 6 for n in self.needles), self


def realistic(value: str) -> bool:
    """A random value as a real generator makes it: no placeholder, no dominant character."""
    low = value.lower()
    if any(marker in low for marker in _EXAMPLE_MARKERS):
        return False
    return not value or Counter(value).most_common(1)[0][1] * 2 < len(value)


def rand(rng: random.Random, alphabet: str, size: int, *, classes: Sequence[str] = ()) -> str:
    """A realistic random string over ``alphabet`` holding a character of each of ``classes``."""
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(size))
        if realistic(value) and all(any(ch in cls for ch in value) for cls in classes):
            return value


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def jwt_part(document: dict[str, object]) -> str:
    """A JWT header or claims part: compact JSON, base64url without padding."""
    return _b64url(json.dumps(document, separators=(",", ":")).encode())


# --------------------------------------------------------------------------- secrets

Builder = Callable[[st.DrawFn, random.Random], Sensitive]


def aws_keys(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    key_id = draw(st.sampled_from(["AKIA", "ASIA"])) + rand(rng, BASE32, 16)
    secret = rand(
        rng, BASE64, 40, classes=(string.ascii_lowercase, string.ascii_uppercase, string.digits)
    )
    layout = draw(
        st.sampled_from(
            [
                "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n",
                "AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY={secret}",
                '{{"AccessKeyId": "{id}", "SecretAccessKey": "{secret}"}}',
                "access key {id} with secret {secret}",
            ]
        )
    )
    return Sensitive("aws", layout.format(id=key_id, secret=secret), (key_id, secret))


def github_token(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    if draw(st.booleans()):
        token = draw(st.sampled_from(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"])) + rand(
            rng, ALNUM, 36
        )
    else:
        token = f"github_pat_{rand(rng, ALNUM, 22)}_{rand(rng, ALNUM, 59)}"
    return Sensitive("github", token, (token,))


def slack_token(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    def number() -> str:
        return str(rng.randrange(10**9, 10**13))

    shape = draw(st.sampled_from(["bot", "user", "webhook"]))
    if shape == "bot":
        token = f"xoxb-{number()}-{number()}-{rand(rng, ALNUM, 24)}"
    elif shape == "user":
        token = f"xoxp-{number()}-{number()}-{number()}-{rand(rng, HEX, 32)}"
    else:
        team, bot = rand(rng, UPPER_DIGITS, 10), rand(rng, UPPER_DIGITS, 10)
        token = f"https://hooks.slack.com/services/T{team}/B{bot}/{rand(rng, ALNUM, 24)}"
    return Sensitive("slack", token, (token,))


def stripe_key(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    prefix = draw(st.sampled_from(["sk_live_", "rk_live_"]))
    body = draw(
        st.sampled_from([rand(rng, ALNUM, 24), "51" + rand(rng, ALNUM, 97), rand(rng, ALNUM, 32)])
    )
    key = prefix + body
    return Sensitive("stripe", key, (key,))


def jwt(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    alg = draw(st.sampled_from(["HS256", "RS256", "ES256", "HS512"]))
    header: dict[str, object] = {"alg": alg, "typ": "JWT"}
    if draw(st.booleans()):
        header["kid"] = rand(rng, ALNUM, 20)
    if draw(st.booleans()):
        header = dict(reversed(header.items()))  # some libraries write "typ" first
    iat = rng.randrange(1_500_000_000, 1_800_000_000)
    payload: dict[str, object] = {"sub": rand(rng, ALNUM, 12), "iat": iat, "exp": iat + 3600}
    if draw(st.booleans()):
        payload["scope"] = "read write"
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    sig_bytes = {"HS256": 32, "HS512": 64, "RS256": 256, "ES256": 64}[alg]
    while True:
        token = ".".join(
            [
                _b64url(json.dumps(header, separators=separators).encode()),
                _b64url(json.dumps(payload, separators=separators).encode()),
                _b64url(rng.randbytes(sig_bytes)),
            ]
        )
        if realistic(token):
            return Sensitive("jwt", token, (token,))


def private_key(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    label = draw(
        st.sampled_from(
            [
                "RSA PRIVATE KEY",
                "PRIVATE KEY",
                "EC PRIVATE KEY",
                "OPENSSH PRIVATE KEY",
                "ENCRYPTED PRIVATE KEY",
                "DSA PRIVATE KEY",
            ]
        )
    )
    size = draw(st.integers(120, 1200))
    body = base64.b64encode(rng.randbytes(size)).decode()
    while not realistic(body):
        body = base64.b64encode(rng.randbytes(size)).decode()
    width = 70 if label.startswith("OPENSSH") else 64
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    dashes = "-" * 5
    block_lines = [f"{dashes}BEGIN {label}{dashes}", *lines, f"{dashes}END {label}{dashes}"]
    newline = draw(st.sampled_from(["\n", "\r\n", "\\n"]))  # "\\n": inside a JSON text
    block = newline.join(block_lines) + newline
    if newline == "\\n" and draw(st.booleans()):  # a service-account JSON file as text
        block = (
            '{"type": "service_account", "private_key_id": "'
            + rand(rng, HEX, 40)
            + '", "private_key": "'
            + block
            + '", "client_email": "svc@proj.iam.gserviceaccount.com"}'
        )
    return Sensitive("private_key", block, tuple(line for line in lines if len(line) >= 16))


#: passwords the detectors misread: identifier characters around dots (attribute access,
#: ``settings.db_password``), or a first "=" after identifier characters (``key: type =
#: value``, a typed assignment, when written after a colon)
_MISREAD = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|[A-Za-z_][\w.]*=(?!=).*")


def password(rng: random.Random) -> str:
    """A random high-entropy password: letters, digits and the symbols above, starting with
    a letter or a digit and not one of the shapes above (all are detector gaps: see
    DETECTOR_GAPS in test_never_leak.py)."""
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    while True:
        tail = rand(rng, ALNUM + PASSWORD_SYMBOLS * 2, rng.randint(11, 27), classes=classes)
        value = rng.choice(ALNUM) + tail
        if not _MISREAD.fullmatch(value):
            return value


def url_with_password(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    scheme = draw(
        st.sampled_from(
            ["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp", "https"]
        )
    )
    user = rand(rng, LOWER, rng.randint(3, 10))
    secret = quote(password(rng), safe="")
    host = draw(st.sampled_from(["db", "primary.db.internal", "10.2.3.4", "cache-1.prod"]))
    port = draw(st.sampled_from(["", ":5432", ":6379", ":3306"]))
    url = f"{scheme}://{user}:{secret}@{host}{port}/{rand(rng, LOWER, 6)}"
    return Sensitive("url_password", url, (secret,))


_PASSWORD_KEYS = (
    "password", "PASSWORD", "db_password", "DB_PASSWORD", "passwd", "pwd", "admin_password",
    "smtp_pass", "passphrase", "POSTGRES_PASSWORD", "userPassword",
)  # fmt: skip
_ASSIGNMENTS = (
    "{k}={v}", "{k}: {v}", '{k} = "{v}"', '"{k}": "{v}"', "{k}='{v}'", "<{k}>{v}</{k}>",
    "export {k}={v}", "the {k} is {v}",
)  # fmt: skip


def password_assignment(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    key = draw(st.sampled_from(_PASSWORD_KEYS))
    layout = draw(st.sampled_from(_ASSIGNMENTS))
    secret = password(rng)
    return Sensitive("password_assignment", layout.format(k=key, v=secret), (secret,))


def api_token(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    """Other vendor and bearer credentials the detectors know."""
    shape = draw(
        st.sampled_from(
            ["openai", "anthropic", "google", "gitlab", "npm", "bearer", "basic", "agentguard"]
        )
    )
    if shape == "openai":
        token = "sk-proj-" + rand(rng, ALNUM + "_-", 120, classes=(string.digits,))
    elif shape == "anthropic":
        token = "sk-ant-api03-" + rand(rng, ALNUM + "_-", 95) + "AA"
    elif shape == "google":
        token = "AIza" + rand(rng, ALNUM + "_-", 35)
    elif shape == "gitlab":
        token = "glpat-" + rand(rng, ALNUM + "_-", 20)
    elif shape == "npm":
        token = "npm_" + rand(rng, ALNUM, 36)
    elif shape == "agentguard":
        token = f"ag_{rand(rng, HEX, 12)}_{rand(rng, BASE64URL, 43)}"
    elif shape == "bearer":
        token = rand(rng, BASE64URL, rng.randint(32, 64), classes=(string.digits,))
        return Sensitive("bearer", f"Authorization: Bearer {token}", (token,))
    else:
        secret = password(rng)
        raw = base64.b64encode(f"{rand(rng, LOWER, 6)}:{secret}".encode()).decode()
        return Sensitive("basic_auth", f"Authorization: Basic {raw}", (raw,))
    return Sensitive(shape, token, (token,))


# ------------------------------------------------------------------------------- PII


def email(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    first, last = rand(rng, LOWER, rng.randint(3, 9)), rand(rng, LOWER, rng.randint(3, 12))
    local = draw(
        st.sampled_from(
            [
                f"{first}.{last}",
                f"{first}{rng.randint(1, 99)}",
                f"{first[0]}{last}",
                f"{first}_{last}+{rand(rng, LOWER, 4)}",
                f"{first}-{last}",
            ]
        )
    )
    domain = rand(rng, LOWER, rng.randint(4, 10)) + draw(
        st.sampled_from([".com", ".net", ".org", ".io", ".de", ".co.uk", ".com.br", ".fr"])
    )
    address = f"{local}@{domain}"
    if draw(st.integers(0, 4)) == 0:
        address = address.title()
    return Sensitive("email", address, (address,))


#: regions whose numbers are written with a country code in international traffic
PHONE_REGIONS = (
    "US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "PL",
    "PT", "IE", "IN", "BR", "MX", "AR", "JP", "KR", "CN", "AU", "NZ", "ZA", "NG", "KE", "SG",
)  # fmt: skip
_PHONE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)


def _fictional(number: phonenumbers.PhoneNumber) -> bool:
    """Numbers reserved for fiction (NANP 555-01xx, Ofcom drama ranges): scored low."""
    national = str(number.national_number)
    if number.country_code == 1:
        return national[3:6] == "555"
    return number.country_code == 44 and national.startswith(
        ("2079460", "1632960", "1134960", "7700900")
    )


def phone(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    region = draw(st.sampled_from(PHONE_REGIONS))
    kind = draw(st.sampled_from(_PHONE_TYPES))
    example = phonenumbers.example_number_for_type(region, kind) or phonenumbers.example_number(
        region
    )
    assert example is not None, region
    national = phonenumbers.national_significant_number(example)
    for _ in range(500):  # vary the example's trailing digits until the number is valid
        keep = rng.randint(1, max(1, len(national) - 4))
        digits = national[:keep] + "".join(rng.choice(string.digits) for _ in national[keep:])
        candidate = phonenumbers.parse(f"+{example.country_code}{digits}")
        if (
            phonenumbers.is_valid_number(candidate)
            and phonenumbers.region_code_for_number(candidate) == region
            and not _fictional(candidate)
            and realistic(digits)
        ):
            break
    else:
        raise AssertionError(f"no valid {region} number found near the example")
    style = draw(
        st.sampled_from(
            [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
        )
    )
    text = phonenumbers.format_number(candidate, style)
    national_part = text.split(" ", 1)[1] if " " in text else text
    needles = (text, national_part) if len(national_part) >= 6 else (text,)
    return Sensitive("phone", text, needles)


#: brand -> (prefixes, lengths)
_CARD_BRANDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "visa": (("4",), (16, 13, 19)),
    "mastercard": (("51", "52", "53", "54", "55", "2221", "2720", "23", "26"), (16,)),
    "amex": (("34", "37"), (15,)),
    "discover": (("6011", "65", "644", "649"), (16,)),
    "jcb": (("3528", "3530", "3589"), (16,)),
    "diners": (("36", "38", "300", "305"), (14,)),
    "unionpay": (("62",), (16, 19)),
}
#: the test numbers the card networks and processors publish (scored low on purpose)
_TEST_CARDS = frozenset(
    {
        "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
        "5555555555554444", "5105105105105100", "5200828282828210", "378282246310005",
        "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000",
        "3566002020360505", "30569309025904", "38520000023237", "4222222222222",
        "4000000000000002", "4000000000000077",
    }
)  # fmt: skip


def luhn_complete(partial: str) -> str:
    total = 0
    for index, ch in enumerate(reversed(partial + "0")):
        d = int(ch)
        if index % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def card(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    brand = draw(st.sampled_from(sorted(_CARD_BRANDS)))
    prefixes, lengths = _CARD_BRANDS[brand]
    prefix, length = draw(st.sampled_from(prefixes)), draw(st.sampled_from(lengths))
    while True:
        body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
        number = luhn_complete(body)
        if number not in _TEST_CARDS and realistic(number[len(prefix) :]):
            break
    sep = draw(st.sampled_from(["", " ", "-"]))
    if length in (14, 15):  # Amex and Diners print 4-6-5 and 4-6-4
        groups = [number[:4], number[4:10], number[10:]]
    else:
        groups = [number[i : i + 4] for i in range(0, length, 4)]
    text = sep.join(groups)
    return Sensitive("card", text, tuple(dict.fromkeys((text, number))))


def ssn(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    while True:
        area, group, serial = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        dashed = f"{area:03d}-{group:02d}-{serial:04d}"
        if area != 666 and stdnum_ssn.is_valid(dashed) and realistic(dashed.replace("-", "")):
            break
    style = draw(st.sampled_from(["dashed", "spaced", "labelled"]))
    if style == "dashed":
        return Sensitive("ssn", dashed, (dashed,))
    if style == "spaced":
        spaced = dashed.replace("-", " ")
        return Sensitive("ssn", spaced, (spaced,))
    compact = dashed.replace("-", "")
    label = draw(st.sampled_from(["SSN", "SSN:", "social security number"]))
    return Sensitive("ssn", f"{label} {compact}", (compact,))


#: country -> BBAN layout ("n" digit, "a" upper-case letter, "c" either)
_IBAN_LAYOUTS = {
    "DE": "n" * 18,
    "GB": "aaaa" + "n" * 14,
    "IE": "aaaa" + "n" * 14,
    "FR": "n" * 10 + "c" * 11 + "nn",
    "IT": "a" + "n" * 10 + "c" * 12,
    "NL": "aaaa" + "n" * 10,
    "CH": "n" * 5 + "c" * 12,
    "AT": "n" * 16,
    "PL": "n" * 24,
    "SE": "n" * 20,
    "PT": "n" * 21,
    "DK": "n" * 14,
    "FI": "n" * 14,
    "LU": "nnn" + "c" * 13,
    "CZ": "n" * 20,
    "RO": "aaaa" + "c" * 16,
    "SA": "nn" + "c" * 18,
    "AE": "n" * 19,
}
_IBAN_CHARS = {"n": string.digits, "a": string.ascii_uppercase, "c": UPPER_DIGITS}
#: IBANs printed in the registry and in bank documentation (scored low on purpose)
_EXAMPLE_IBANS = frozenset(
    {
        "GB82WEST12345698765432",
        "GB29NWBK60161331926819",
        "GB33BUKB20201555555555",
        "DE89370400440532013000",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
        "CH9300762011623852957",
    }
)


def iban(draw: st.DrawFn, rng: random.Random) -> Sensitive:
    country = draw(st.sampled_from(sorted(_IBAN_LAYOUTS)))
    while True:
        bban = "".join(rng.choice(_IBAN_CHARS[c]) for c in _IBAN_LAYOUTS[country])
        check = stdnum_iban.calc_check_digits(f"{country}00{bban}")
        number = f"{country}{check}{bban}"
        if stdnum_iban.is_valid(number) and number not in _EXAMPLE_IBANS and realistic(bban):
            break
    text = stdnum_iban.format(number) if draw(st.booleans()) else number
    return Sensitive("iban", text, tuple(dict.fromkeys((text, number))))


# ------------------------------------------------------------------------ strategies

SECRETS: dict[str, Builder] = {
    "aws": aws_keys,
    "github": github_token,
    "slack": slack_token,
    "stripe": stripe_key,
    "jwt": jwt,
    "private_key": private_key,
    "url_password": url_with_password,
    "password_assignment": password_assignment,
    "api_token": api_token,
}
PII: dict[str, Builder] = {
    "email": email,
    "phone": phone,
    "card": card,
    "ssn": ssn,
    "iban": iban,
}
BUILDERS: dict[str, Builder] = {**SECRETS, **PII}


@st.composite
def sensitive(draw: st.DrawFn, kinds: Sequence[str] = tuple(BUILDERS)) -> Sensitive:
    """One realistic secret or piece of PII of one of ``kinds``."""
    build = BUILDERS[draw(st.sampled_from(list(kinds)))]
    return build(draw, draw(st.randoms(use_true_random=True)))


#: ordinary words around the value; none of them is a context word that the detectors use
#: to lower a score ("order", "invoice", "ticket", "serial", "version", "example" …)
_WORDS = (
    "please", "review", "the", "attached", "notes", "from", "yesterday", "deploy", "config",
    "values", "here", "below", "kindly", "update", "thanks", "regards", "team", "status",
    "pending", "done", "check", "customer", "wrote", "forwarded", "details", "see", "and",
    "Hola", "gracias", "bitte", "prüfen", "merci", "völlig", "naïve", "café", "日本語", "Привет",
)  # fmt: skip
#: characters a value may follow: each ends any token, address, number or key (a bare
#: comma does not end a card number for the detectors: see DETECTOR_GAPS)
_BEFORE = (" ", "\n", "\t", ": ", "=", "(", "[", '"', "'", "<", "> ", ", ")
_AFTER = (" ", "\n", ". ", ", ", "; ", ")", "]", '"', "'", "!", "?", "\n\n")


def marker_word(rng: random.Random) -> str:
    """A harmless marker no detector reports (letters and a hyphen, no digits)."""
    return "canary-" + "".join(rng.choice(LOWER) for _ in range(12))


@st.composite
def filler(draw: st.DrawFn) -> str:
    """A few ordinary words in any script, without digits."""
    words = draw(st.lists(st.sampled_from(_WORDS), max_size=8))
    if draw(st.booleans()):
        words.append(draw(st.text(st.characters(categories=["L"]), max_size=12)))
    return " ".join(w for w in words if w)


@dataclass(frozen=True)
class Placed:
    """A sensitive value in a string, with a marker beside it that must survive."""

    text: str
    secret: Sensitive
    marker: str


@st.composite
def placed(draw: st.DrawFn, kinds: Sequence[str] = tuple(BUILDERS)) -> Placed:
    """A sensitive value alone, or inside ordinary text, with a marker word."""
    value = draw(sensitive(kinds))
    marker = marker_word(draw(st.randoms(use_true_random=True)))
    if draw(st.integers(0, 3)) == 0:
        return Placed(value.text, value, marker)  # alone: the marker goes in another field
    before, after = draw(filler()), draw(filler())
    text = (
        f"{before} {marker} {draw(st.sampled_from(_BEFORE))}{value.text}"
        f"{draw(st.sampled_from(_AFTER))}{after}"
    )
    return Placed(text, value, marker)
