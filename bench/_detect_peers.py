"""Peers and shared plumbing for `bench_detectors.py` and `eval_detectors.py`.

Peers (installed by the `bench` extra, imported lazily; a missing one is reported, not fatal):

* Microsoft Presidio (`presidio-analyzer`): an `AnalyzerEngine` whose NLP engine is
  Presidio's own `NoOpNlpEngine` (the `nlp_engine_name: no_op` configuration it ships), so no
  spaCy model is loaded or downloaded. The registry is Presidio's default English set of
  predefined *pattern* recognizers (credit card, email, IBAN, IP, phone, US SSN, dates, URL,
  crypto, US bank/licence/passport/ITIN, UK NHS, medical licence, MAC, UUID), plus its own
  recognizers for the national-ID schemes our eval covers (ES NIF/NIE, IT fiscal code,
  UK NINO, DE tax ID), registered for English since Presidio files them under es/it/de. We
  go through `AnalyzerEngine.analyze` rather than calling each recognizer's
  `.analyze(text, entities, nlp_artifacts=None)` so that Presidio's own validation,
  de-duplication and overlap handling run, as they do for its users. What is lost without a
  model: PERSON / LOCATION / NRP (spaCy NER) and the score boost from context words found
  in the text (it needs lemmas). At Presidio's default threshold (0: everything it
  returns), the pattern results are the same as with spaCy.
* Yelp's `detect-secrets`: the default plugin set and default filters
  (`detect_secrets.settings.default_settings()`), run exactly as `detect-secrets scan FILE`
  runs it: `detect_secrets.core.scan.scan_file` on a temporary `.txt` file (line by line,
  plus its config-file transformers). Its ad-hoc `scan_line` API is not used: it is the
  back end of `scan --string`, which also returns high-entropy strings *below* the entropy
  limit (so the CLI can print their entropy), so it is not a detection verdict.

Offline: `forbid_network()` installs an audit hook that raises on any IP socket connect or
DNS look-up, and points `tldextract` (used by Presidio's email validation, which otherwise
fetches the public-suffix list on first use) at its bundled snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

INSTALL_HINT = "pip install -e '.[bench]'"
DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "detect" / "data"

#: Presidio entity → our type (anything else Presidio reports is not scored)
PRESIDIO_TO_OURS: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "PERSON": "PERSON",
    "LOCATION": "ADDRESS",
    "DATE_TIME": "DATE_OF_BIRTH",
    "ES_NIF": "NATIONAL_ID",
    "ES_NIE": "NATIONAL_ID",
    "IT_FISCAL_CODE": "NATIONAL_ID",
    "UK_NINO": "NATIONAL_ID",
    "DE_TAX_ID": "NATIONAL_ID",
}

PeerT = TypeVar("PeerT")

_NET_EVENTS = frozenset({"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _NET_EVENTS:
        raise RuntimeError(f"network access during a benchmark ({event} {args!r})")
    if (
        event == "socket.connect"
        and isinstance(args[0], socket.socket)
        and args[0].family in (socket.AF_INET, socket.AF_INET6)
    ):
        raise RuntimeError(f"network access during a benchmark ({event} {args[1]!r})")


def forbid_network() -> None:
    """Fail loudly on any network access from here on; keep libraries on local data."""
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.addaudithook(_audit)


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def load_jsonl(name: str) -> list[dict[str, Any]]:
    """Rows of tests/detect/data/NAME (empty when the file is missing)."""
    path = DATA_DIR / name
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass(frozen=True, slots=True)
class PeerHit:
    type: str
    start: int
    end: int
    score: float


class Presidio:
    """Presidio's `AnalyzerEngine`, pattern recognizers only (see the module docstring)."""

    name = "presidio"

    def __init__(self) -> None:
        import tldextract.tldextract as tldx  # imported by presidio; keep it offline

        tldx.TLD_EXTRACTOR = tldx.TLDExtract(
            cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
        )
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
        from presidio_analyzer.predefined_recognizers import (
            DeTaxIdRecognizer,
            EsNieRecognizer,
            EsNifRecognizer,
            ItFiscalCodeRecognizer,
            UkNinoRecognizer,
        )

        nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
        self.engine: Any = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        for extra in (
            EsNifRecognizer,
            EsNieRecognizer,
            ItFiscalCodeRecognizer,
            UkNinoRecognizer,
            DeTaxIdRecognizer,
        ):
            self.engine.registry.add_recognizer(extra(supported_language="en"))
        self.version = version_of("presidio-analyzer")
        self.recognizers = len(list(self.engine.registry.recognizers))

    def entities(self) -> list[str]:
        return sorted(self.engine.get_supported_entities("en"))

    def analyze(self, text: str) -> list[PeerHit]:
        results = self.engine.analyze(text=text, language="en")
        return [PeerHit(r.entity_type, r.start, r.end, r.score) for r in results]


class DetectSecrets:
    """`detect-secrets scan FILE` with default plugins and filters, in process."""

    name = "detect-secrets"

    def __init__(self) -> None:
        from detect_secrets.core.scan import scan_file
        from detect_secrets.settings import default_settings

        self._scan_file = scan_file
        self._stack = contextlib.ExitStack()
        self.settings: Any = self._stack.enter_context(default_settings())
        self._dir = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        self.version = version_of("detect-secrets")
        self.plugins = len(self.settings.plugins)

    def write(self, text: str, name: str = "scan.txt") -> str:
        path = self._dir / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def scan_path(self, path: str) -> list[tuple[int, str]]:
        """(line number from 1, secret type) for each secret reported in the file."""
        return [(s.line_number, s.type) for s in self._scan_file(path)]

    def scan_text(self, text: str) -> list[tuple[int, str]]:
        return self.scan_path(self.write(text))

    def close(self) -> None:
        self._stack.close()


def load_peer(cls: Callable[[], PeerT], name: str) -> PeerT | None:
    """The peer, or None after printing why not and how to install it."""
    try:
        return cls()
    except ImportError as exc:
        print(f"{name}: not installed ({exc.name or exc}); install it with: {INSTALL_HINT}")
        return None
