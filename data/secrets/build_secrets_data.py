"""Build data/secrets/{tune,dev}.jsonl.gz from public source snapshots (see data/README.md).

    python data/secrets/build_secrets_data.py --noseyparker DIR --kingfisher DIR \
        --credsweeper DIR --fastapi DIR --cobra DIR --openai-python DIR --axios DIR

Each DIR is a checkout (or git archive) of that repository at the commit the data card
names. Records: ``{"id", "text", "label", "spans", "source", "kind", "split", "synthetic"}``;
``label`` 1 = the text holds a secret, 0 = a look-alike only; ``spans`` are the secrets'
character ranges (empty when the source rule's regex could not place them).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import random
import re
import string
import uuid
import zlib
from pathlib import Path
from typing import Any

import regex
import yaml

Record = dict[str, Any]

# rule names that describe an identifier, not a secret
_ID_NAME = re.compile(
    r"(?i)\b(?:id|identifier|username|user|email|url|domain|host|hostname|endpoint|region|"
    r"org|organization|account name|account id|client id|app id|tenant|subdomain|"
    r"instance|project|team|workspace|zone)\)?$"
)


def _spans(pattern: str, text: str) -> list[list[int]]:
    try:
        rx = regex.compile(pattern)
    except regex.error:
        return []
    out: list[list[int]] = []
    try:
        for m in rx.finditer(text, timeout=2):
            groups = [i for i in range(1, (rx.groups or 0) + 1) if m.span(i) != (-1, -1)]
            for g in groups or [0]:
                s, e = m.span(g)
                if e > s and [s, e] not in out:
                    out.append([s, e])
    except TimeoutError:
        return []
    return out


def rule_examples(root: Path, glob: str, source: str, np_style: bool) -> list[Record]:
    out = []
    for path in sorted(root.glob(glob)):
        doc = yaml.safe_load(path.read_text())
        for rule in (doc or {}).get("rules", []):
            cats = [str(c) for c in rule.get("categories", []) or []]
            name = str(rule.get("name", ""))
            if np_style and "secret" not in cats:
                continue
            if _ID_NAME.search(name.strip()) or "hashed" in cats:
                continue
            for ex in rule.get("examples", []) or []:
                text = str(ex).rstrip("\n")
                if not text.strip():
                    continue
                out.append(
                    {
                        "text": text,
                        "label": 1,
                        "spans": _spans(str(rule.get("pattern", "")), text),
                        "source": source,
                        "kind": str(rule.get("id", name)),
                    }
                )
    return out


# ---------------------------------------------------------------- look-alikes from real files

_LOOKALIKE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\b[0-9a-f]{32,128}\b|sha\d+[-:]|h1:|(?<![A-Za-z0-9+/])[A-Za-z0-9+/_\-]{24,}={0,2}"
    r"|(?i:your[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|password))|xxxx|<[A-Za-z_ -]*(?:key|token)>"
)
# a credential-named key given a random-looking, unmarked value: a text-only label cannot
# tell a documentation example from a live key, so such windows are left out
_AMBIGUOUS = re.compile(
    r"(?i)(?:pass(?:word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential)[\w.-]*"
    r"[\"']?\s*[:=]+\s*[\"']?([A-Za-z0-9+/_\-.=]{12,})"
)
_VENDOR = re.compile(
    r"gh[pousr]_|github_pat_|AKIA|ASIA|sk_live|rk_live|xox[abpe]-|glpat-|npm_[A-Za-z0-9]{36}|"
    r"sk-[A-Za-z0-9]{20}|AIza|PRIVATE KEY|hf_[A-Za-z]{30}|SG\.[\w-]{22}\.|eyJ[\w-]{10,}\.eyJ"
)
_MARKERS = ("example", "xxx", "your", "<", "placeholder", "dummy", "fake", "...", "my api key")


def _entropy(value: str) -> float:
    import math
    from collections import Counter

    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values()) if n else 0.0


def _ambiguous(window: str) -> bool:
    if _VENDOR.search(window):
        return True
    for m in _AMBIGUOUS.finditer(window):
        value = m.group(1)
        if any(mark in value.lower() for mark in _MARKERS):
            continue
        if re.search(r"\d", value) and re.search(r"[A-Za-z]", value) and _entropy(value) > 3.3:
            return True
    return False


def lookalike_windows(
    files: list[Path], root: Path, source: str, per_file: int, rng: random.Random
) -> tuple[list[Record], int]:
    out: list[Record] = []
    dropped = 0
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        hits = [i for i, line in enumerate(lines) if len(line) < 600 and _LOOKALIKE.search(line)]
        rng.shuffle(hits)
        taken: set[int] = set()
        for i in hits:
            if len(taken) >= per_file:
                break
            if i in taken or i - 1 in taken or i + 1 in taken:
                continue
            lo, hi = max(0, i - rng.randint(0, 2)), min(len(lines), i + 1 + rng.randint(0, 2))
            window = "\n".join(lines[lo:hi]).strip("\n")
            if len(window) > 700:
                window = lines[i]
            if _ambiguous(window):
                dropped += 1
                continue
            taken.add(i)
            rel = path.relative_to(root).as_posix()
            out.append(
                {"text": window, "label": 0, "spans": [], "source": source, "kind": rel}
            )
    return out, dropped


def _files(root: Path, patterns: list[str], exclude: str = r"$^") -> list[Path]:
    found: list[Path] = []
    for pat in patterns:
        found.extend(p for p in sorted(root.glob(pat)) if p.is_file())
    bad = re.compile(exclude)
    return [p for p in dict.fromkeys(found) if not bad.search(p.relative_to(root).as_posix())]


# ------------------------------------------------------------ synthetic (tune only)

_ALNUM = string.ascii_letters + string.digits
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b62(n: int, width: int) -> str:
    out = ""
    while n:
        n, d = divmod(n, 62)
        out = _B62[d] + out
    return out.rjust(width, "0")


def _crc_token(rng: random.Random, prefix: str, body: int) -> str:
    """GitHub / npm style: random base62 body, then base62 CRC32 of it (6 characters)."""
    random_part = _r(rng, _ALNUM, body)
    return prefix + random_part + _b62(zlib.crc32(random_part.encode()), 6)


def _synthetic_secrets(rng: random.Random) -> list[tuple[str, str]]:
    """(kind, value) from each provider's documented format: random bodies."""
    h = string.hexdigits[:16]
    up = string.ascii_uppercase + string.digits
    b64 = _ALNUM + "+/"
    url = _ALNUM + "-_"
    jwt_head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    claims = json.dumps({"sub": _r(rng, string.digits, 8), "iat": rng.randint(10**9, 2 * 10**9)})
    jwt_body = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=").decode()
    return [
        ("aws", "AKIA" + _r(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        ("github", _crc_token(rng, rng.choice(["ghp_", "gho_", "ghs_", "ghu_"]), 30)),
        ("github_pat", "github_pat_" + _r(rng, _ALNUM, 22) + "_" + _r(rng, _ALNUM, 59)),
        ("gitlab", "glpat-" + _r(rng, url, 20)),
        ("slack", f"xoxb-{_r(rng, string.digits, 12)}-{_r(rng, string.digits, 13)}-"
         + _r(rng, _ALNUM, 24)),
        ("stripe", "sk_live_" + _r(rng, _ALNUM, 99)),
        ("stripe_restricted", "rk_live_" + _r(rng, _ALNUM, 99)),
        ("square", "EAAA" + _r(rng, url, 60)),
        ("square_sandbox", "sq0csp-" + _r(rng, url, 43)),
        ("twilio", "SK" + _r(rng, h.lower(), 32)),
        ("sendgrid", "SG." + _r(rng, url, 22) + "." + _r(rng, url, 43)),
        ("mailgun", "key-" + _r(rng, h.lower(), 32)),
        ("openai", "sk-proj-" + _r(rng, url, 74) + "T3BlbkFJ" + _r(rng, url, 74)),
        ("anthropic", "sk-ant-api03-" + _r(rng, url, 93) + "AA"),
        ("huggingface", "hf_" + _r(rng, string.ascii_letters, 34)),
        ("npm", _crc_token(rng, "npm_", 30)),
        ("pypi", "pypi-AgEIcHlwaS5vcmc" + _r(rng, url, 70)),
        ("dockerhub", "dckr_pat_" + _r(rng, url, 27)),
        ("shopify", "shpat_" + _r(rng, h.lower(), 32)),
        ("atlassian", "ATATT3xFfGF0" + _r(rng, url, 170) + "=" + _r(rng, h.upper(), 8)),
        ("newrelic", "NRAK-" + _r(rng, up, 27)),
        ("digitalocean", "dop_v1_" + _r(rng, h.lower(), 64)),
        ("databricks", "dapi" + _r(rng, h.lower(), 32)),
        ("okta", "00" + _r(rng, url, 40)),
        ("replicate", "r8_" + _r(rng, _ALNUM, 37)),
        ("gcp", "AIza" + _r(rng, url, 35)),
        ("azure_storage", base64.b64encode(rng.randbytes(64)).decode()),
        ("jwt", f"{jwt_head}.{jwt_body}.{_r(rng, url, 43)}"),
        ("telegram", f"{rng.randint(10**8, 10**10)}:AA{_r(rng, url, 33)}"),
        ("cohere", _r(rng, _ALNUM, 40)),
        ("datadog", _r(rng, h.lower(), 32)),
        ("heroku", "HRKU-AA" + _r(rng, url, 58)),
        ("b64_secret", _r(rng, b64, 40)),
    ]


_ENV_NAMES = {
    "aws": "AWS_ACCESS_KEY_ID",
    "azure_storage": "AZURE_STORAGE_KEY",
    "cohere": "COHERE_API_KEY",
    "datadog": "DD_API_KEY",
    "okta": "OKTA_API_TOKEN",
    "b64_secret": "AWS_SECRET_ACCESS_KEY",
    "mailgun": "MAILGUN_API_KEY",
    "twilio": "TWILIO_API_KEY",
}

_POS_TEMPLATES = [
    "{NAME}={v}",
    'export {NAME}="{v}"',
    "{name}: {v}",
    '  "{name}": "{v}",',
    'client = Client(api_key="{v}")',
    "2024-05-01 12:00:03 DEBUG auth header token={v} sent",
    "hey, use this one for now: {v} (rotate it after the demo)",
    "    - name: {NAME}\n      value: {v}",
    "[default]\n{name} = {v}\n",
]

_NEG_TEMPLATES = [
    "request_id: {u}",
    'id = "{u}"',
    "commit {sha1}\nAuthor: build bot",
    "sha256sum: {sha256}  dist/app.tar.gz",
    'integrity "sha512-{b64}"',
    "etag: W/\"{md5}\"",
    "Image digest: sha256:{sha256}",
    "OPENAI_API_KEY=your-api-key-here",
    'api_key = "sk-xxxxxxxxxxxxxxxxxxxxxxxx"',
    "STRIPE_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX",
    "export GITHUB_TOKEN=<your-token>",
    # AWS's own documented example key id, joined here so that secret scanners run over
    # this repository do not stop on the literal (the built data is the same)
    "AWS_ACCESS_KEY_ID=" + "AKIA" + "IOSFODNN7EXAMPLE",
    "token: ${{ secrets.NPM_TOKEN }}",
    "password: changeme",
    "see /usr/lib/python3.11/site-packages/{word}/__init__.py",
    "version: {ver}",
    "trace_id={hex32} span_id={hex16}",
    "nonce: {b64url}",
    "public_key: {b64url}",
    "cache key: {sha1}",
    "session_id={u}",
    "key_id: {u}",
    "{word}_{word2}_{word3}_TOKEN_SECRET_NAME",
    "git checkout {sha1}",
    "data:image/png;base64,{b64}",
]


def synthetic(rng: random.Random, n_pos: int, n_neg: int) -> list[Record]:
    out: list[Record] = []
    while len(out) < n_pos:
        for kind, value in _synthetic_secrets(rng):
            name = _ENV_NAMES.get(kind, kind.upper() + "_TOKEN")
            tpl = rng.choice(_POS_TEMPLATES)
            head, _, tail = tpl.partition("{v}")
            head = head.replace("{NAME}", name).replace("{name}", name.lower())
            tail = tail.replace("{NAME}", name).replace("{name}", name.lower())
            text = head + value + tail
            out.append(
                {
                    "text": text,
                    "label": 1,
                    "spans": [[len(head), len(head) + len(value)]],
                    "source": "synthetic-formats",
                    "kind": kind,
                    "synthetic": True,
                }
            )
    words = ["requests", "numpy", "billing", "orders", "queue", "cache", "user", "auth"]
    for _ in range(n_neg):
        tpl = rng.choice(_NEG_TEMPLATES)
        text = tpl.format(
            u=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            sha1=hashlib.sha1(rng.randbytes(8)).hexdigest(),
            sha256=hashlib.sha256(rng.randbytes(8)).hexdigest(),
            md5=hashlib.md5(rng.randbytes(8)).hexdigest(),
            b64=base64.b64encode(rng.randbytes(48)).decode(),
            b64url=base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("="),
            hex32=rng.randbytes(16).hex(),
            hex16=rng.randbytes(8).hex(),
            ver=f"{rng.randint(0, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 99)}",
            word=rng.choice(words),
            word2=rng.choice(words).upper(),
            word3=rng.choice(words).upper(),
        )
        out.append(
            {
                "text": text,
                "label": 0,
                "spans": [],
                "source": "synthetic-lookalikes",
                "kind": tpl.split("{")[0].strip()[:24] or "template",
                "synthetic": True,
            }
        )
    return out


# ------------------------------------------------------------------------------- main


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("noseyparker", "kingfisher", "credsweeper", "fastapi", "cobra"):
        ap.add_argument(f"--{name}", type=Path, required=True)
    ap.add_argument("--openai-python", type=Path, required=True)
    ap.add_argument("--axios", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    rng = random.Random(20260901)
    stats: dict[str, int] = {}

    tune = rule_examples(
        args.noseyparker, "crates/noseyparker/data/default/builtin/rules/*.yml",
        "noseyparker-rules", np_style=True,
    )
    dev_pos = rule_examples(args.kingfisher, "data/rules/*.yml", "kingfisher-rules", False)
    # held out by source: drop a kingfisher example that repeats a noseyparker one, or whose
    # secret occurs in one (kingfisher's rules started as a copy of noseyparker's)
    np_texts = {_norm(r["text"]) for r in tune}
    np_blob = "\n".join(r["text"] for r in tune)
    kept = []
    for r in dev_pos:
        secrets = [r["text"][s:e] for s, e in r["spans"]]
        if _norm(r["text"]) in np_texts or any(len(s) >= 8 and s in np_blob for s in secrets):
            continue
        kept.append(r)
    stats["kingfisher_dropped_as_repeats"] = len(dev_pos) - len(kept)
    dev = kept

    neg, d = lookalike_windows(
        _files(args.noseyparker, ["Cargo.lock", "docs/**/*.md", "README.md", "CHANGELOG.md"]),
        args.noseyparker, "noseyparker-files", 60, rng,
    )
    tune += neg
    stats["dropped_ambiguous_tune"] = d
    neg, d = lookalike_windows(
        _files(args.fastapi, ["docs/en/docs/**/*.md", "docs_src/**/*.py", "pyproject.toml"]),
        args.fastapi, "fastapi-files", 4, rng,
    )
    tune += neg
    stats["dropped_ambiguous_tune"] += d
    tune += synthetic(rng, 330, 260)

    dev_neg: list[Record] = []
    drops = 0
    for root, pats, src, per in (
        (args.cobra, ["go.sum", "site/content/**/*.md", "*.md"], "cobra-files", 80),
        (args.openai_python, ["README.md", "api.md", "CHANGELOG.md", "tests/**/*.py",
                              "examples/**/*.py", "requirements*.lock"], "openai-python-files", 6),
        (args.axios, ["package-lock.json", "*.md", "test/**/*.js"], "axios-files", 120),
    ):
        neg, d = lookalike_windows(_files(root, pats), root, src, per, rng)
        dev_neg += neg
        drops += d
    samples = [
        p for p in sorted((args.credsweeper / "tests/samples").iterdir())
        if re.search(r"(_n$|_n\.|_fp$|false_positive|^uuid|nonce|encoded_data)", p.name)
    ]
    neg, d = lookalike_windows(samples, args.credsweeper, "credsweeper-negative-samples", 40, rng)
    dev_neg += neg
    drops += d
    stats["dropped_ambiguous_dev"] = drops
    dev += dev_neg

    for split, records in (("tune", tune), ("dev", dev)):
        seen: set[str] = set()
        rows = []
        for r in records:
            key = _norm(r["text"]) + str(r["label"])
            if key in seen:
                continue
            seen.add(key)
            r.setdefault("synthetic", False)
            r["split"] = split
            r["id"] = f"{split}-{len(rows):05d}"
            rows.append(r)
        with gzip.open(args.out / f"{split}.jsonl.gz", "wt", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        by: dict[str, list[int]] = {}
        for r in rows:
            by.setdefault(r["source"], [0, 0])[r["label"]] += 1
        print(split, len(rows), {k: tuple(v) for k, v in sorted(by.items())})
    print(stats)


if __name__ == "__main__":
    main()
