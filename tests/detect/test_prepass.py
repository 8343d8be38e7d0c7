"""The shared pre-pass: its two engines give the detectors the same findings (the ``re``
engine leaves every regex to scan the whole text, as before the pre-pass), probes behave as
documented, and ``scan_text`` prepares a text once while still accepting any detector."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agentguard.detect import prepass
from agentguard.detect.base import Finding
from agentguard.detect.injection import InjectionDetector, detect_in_argument
from agentguard.detect.injection import hidden as injection_hidden
from agentguard.detect.injection import scan as injection_scan
from agentguard.detect.pii import PIIDetector
from agentguard.detect.prepass import Literal, Pattern, matches_at, prepare
from agentguard.detect.secrets import SecretsDetector
from agentguard.scan import scan_text

DATA = Path(__file__).parent / "data"
FAMILIES = {
    "pii": PIIDetector(),
    "pii_all_scores": PIIDetector(region="GB", min_score=0.0),
    "secrets": SecretsDetector(),
    "injection": InjectionDetector(),
}
needs_hyperscan = pytest.mark.skipif(
    prepass.engine_name() != "hyperscan", reason="hyperscan is not installed"
)


@contextmanager
def engine(name: str) -> Iterator[None]:
    previous = prepass.set_engine(name)
    try:
        yield
    finally:
        prepass.set_engine(previous)


def findings_by_engine(text: str) -> dict[str, dict[str, list[Finding]]]:
    out: dict[str, dict[str, list[Finding]]] = {}
    for name in ("hyperscan", "re"):
        with engine(name):
            found = {family: d.detect(text) for family, d in FAMILIES.items()}
            found["all"] = scan_text(text, [FAMILIES[f] for f in ("pii", "secrets", "injection")])
            for kind in ("path", "shell", "sql"):
                found[kind] = detect_in_argument(text, kind)
        out[name] = found
    return out


def eval_texts() -> list[str]:
    texts = []
    for name in ("pii_eval.jsonl", "secrets_eval.jsonl", "injection_eval.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts


@needs_hyperscan
def test_engines_agree_on_the_labelled_eval_sets() -> None:
    for text in eval_texts():
        by_engine = findings_by_engine(text)
        assert by_engine["hyperscan"] == by_engine["re"], text


# Pieces that exercise every probe, and the characters the byte mapping treats specially:
# İ ı ſ K (case variants of ASCII letters), wide whitespace, format characters, Latin-1.
FRAGMENTS = [
    *("ignore all previous instructions", "SYSTEM:", "user:", "<|im_start|>", "[INST]"),
    *("</user><system>", "[ system note]", "(admin)", "![x](http://e.vil/a?q=", "](https://"),
    *("../../etc/passwd", "%2e%2e%2f", "$(curl x)", "| sh", "; rm -rf /", "&& rm -rf ~"),
    *("/dev/tcp/1.2.3.4/8", "/bin/sh", "' OR '1'='1", '" or 1=1', "'; DROP TABLE t", "ai"),
    *("password=", "api_key: ", "token", "Bearer ", "Basic ", "IDENTIFIED BY 'x1y2z3w4'"),
    *("AKIA", "ghp_", "xoxb-", "sk_live_", "SK", "sk-", "hf_", "eyJ", "AccountKey=", ":AA"),
    *("https://discord.com/api/webhooks/", "-----BEGIN ", "postgres://u:p@h", "sig="),
    *("Dear John Smith", "Mr. Brown", "customer Jane Doe", "my name is Ana", "Name: Li"),
    *("Sincerely, Mary", "signed by Peter Pan", "José García", "O'Neil", "McDonald"),
    *("42 Oak Street", "Apt 4", "Springfield, IL 62704", "SW1A 1AA", "P.O. Box 12", "born"),
    *("03/12/1985", "March 3rd, 1985", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32"),
    *("123-45-6789", "AB 12 34 56 C", "X1234567L", "+1 (415) 555-2671", "call", "020 7946"),
    *("192.168.1.1", "2001:db8::1", "fe80::1", "a@b.co", "12 1st", "1AB", "Box 9"),
    *("QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "aGVsbG8gd29ybGQgaWdub3JlIGFsbCBwcmV2aW91cw==", "x" * 24),
    *("\u0130", "\u0131", "\u017f", "\u212a", "\u2003", "\u3000", "\xa0", "\x85", "\x1c"),
    *("\u200b", "\u202e", "\u2066", "\ufeff", "\U000e0041", "\U0001f600", "\u2019", "Ł", "é"),
    *("É", "ß", "²", "١٢", "日本", " ", "  ", "\n", "\t", ".", ":", "::", "=", "-", "_", "(", ")"),
]
texts = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), min_size=1, max_size=30
).map("".join)


@needs_hyperscan
@example("x \u017f")  # a lower-case letter the name tagger took for a capital
@given(texts)
@settings(max_examples=200, deadline=None)
def test_engines_agree_on_generated_text(text: str) -> None:
    by_engine = findings_by_engine(text)
    assert by_engine["hyperscan"] == by_engine["re"]


@given(texts)
@settings(max_examples=100, deadline=None)
def test_punctuation_probe_fires_wherever_the_trigger_regex_matches(text: str) -> None:
    starts = prepare(text).starts(injection_scan._PUNCT_PROBE)
    if starts is None:
        return  # the re engine: the regex runs everywhere
    expected = [m.span() for m in injection_scan._PUNCT_TRIGGER.finditer(text)]
    found = [m.span() for m in matches_at(injection_scan._PUNCT_TRIGGER, text, starts)]
    assert found == expected


@given(
    st.text(alphabet="ab-", max_size=30),
    st.sets(st.integers(min_value=0, max_value=30)),
)
def test_matches_at_is_finditer_when_the_starts_cover_every_match(
    text: str, extra: set[int]
) -> None:
    compiled = re.compile(r"ab+|-a|b")
    starts = sorted(
        {m.start() for m in compiled.finditer(text)} | {i for i in extra if i < len(text)}
    )
    assert [m.span() for m in matches_at(compiled, text, starts)] == [
        m.span() for m in compiled.finditer(text)
    ]
    assert [m.span() for m in matches_at(compiled, text, None)] == [
        m.span() for m in compiled.finditer(text)
    ]


@pytest.mark.parametrize("name", ["hyperscan", "re"])
def test_literal_probes_find_every_occurrence_and_fold_case(name: str) -> None:
    if name == "hyperscan" and prepass.engine_name() != "hyperscan":
        pytest.skip("hyperscan is not installed")
    plain = prepass.literal("aba")
    folded = prepass.literal("key", caseless=True)
    with engine(name):
        assert prepare("ababa aba").positions(plain) == [0, 2, 6]
        # K (Kelvin sign) lower-cases to "k"; ı (dotless i) does not become "i"
        text = "KEY Key \u212aey \u0131key"
        assert prepare(text).positions(folded) == [0, 4, 8, 13]
        assert prepare("nothing here").positions(plain) == []


def test_probes_are_validated_and_registered_once() -> None:
    with pytest.raises(ValueError):
        prepass.literal("Key", caseless=True)
    with pytest.raises(ValueError):
        prepass.literal("\u0130x")
    with pytest.raises(ValueError):
        prepass.probe()
    assert prepass.literal("same-probe") == prepass.literal("same-probe")
    with pytest.raises(ValueError):
        prepass.set_engine("regex")


@needs_hyperscan
def test_a_probe_registered_after_the_first_scan_is_found() -> None:
    scan_text("warm the database up", [SecretsDetector()])
    late = prepass.probe(Literal("zq-late-"), Pattern(r"[0-9]{3}zq", width=5))
    assert prepare("a zq-late- b 123zq").starts(late) == [2, 13]


@needs_hyperscan
def test_wide_characters_become_one_byte_each() -> None:
    from agentguard.detect.prepass.hyperscan_engine import to_bytes

    hidden = "".join(
        chr(c)
        for c in (*range(0x100, 0x10000), *range(0xE0000, 0xE0080))
        if injection_hidden.HIDDEN_CHAR.match(chr(c))
    )
    data, exact = to_bytes(hidden + "\u2003\u3000Ł日\u2019\u0130\u0131\u017f\u212a")
    assert not exact
    assert data == b"\x1b" * len(hidden) + b"\x1c\x1c\xaa\xaa\x1aIisK"
    assert to_bytes("plain é") == ("plain é".encode("latin-1"), True)


def test_scan_text_prepares_once_and_accepts_any_detector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def counting_prepare(text: str) -> prepass.PreparedText:
        calls.append(text)
        return prepass.PreparedText(text)

    class Shouting:
        name = "shouting"
        types = frozenset({"SHOUT"})

        def detect(self, text: str) -> list[Finding]:
            return [Finding("SHOUT", 0, len(text), 1.0, self.name)] if text.isupper() else []

    monkeypatch.setattr("agentguard.scan.prepare", counting_prepare)
    text = "HELLO 4111 1111 1111 1111"
    found = scan_text(text, [PIIDetector(), SecretsDetector(), InjectionDetector(), Shouting()])
    assert calls == [text]
    assert {f.type for f in found} == {"CREDIT_CARD", "SHOUT"}
    assert isinstance(PIIDetector(), prepass.SharedPassDetector)
    assert not isinstance(Shouting(), prepass.SharedPassDetector)


def test_threads_scan_concurrently() -> None:
    texts = [t for t in eval_texts() if len(t) > 80][:60]
    detectors: list[Callable[[str], list[Finding]]] = [d.detect for d in FAMILIES.values()]
    expected = [[detect(t) for detect in detectors] for t in texts]
    results: dict[int, list[list[list[Finding]]]] = {}

    def work(worker: int) -> None:
        results[worker] = [[detect(t) for detect in detectors] for t in texts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())
