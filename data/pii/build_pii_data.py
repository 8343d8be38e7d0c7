"""Build data/pii/*.jsonl.gz from public snapshots and packages (see data/README.md).

    python data/pii/build_pii_data.py --uner-ewt DIR --wnut17 DIR        # {tune,dev}
    python data/pii/build_pii_data.py --meddocan DIR --usaddress DIR     # structured_*

Each DIR is a checkout (or git archive) of that repository at the commit the data card
names. Records: ``{"id", "text", "spans", "source", "split"}``; ``spans`` are
``[start, end, type]`` character ranges. ``{tune,dev}.jsonl.gz`` hold the NER sentences
(PERSON, LOCATION); ``structured_{tune,dev}.jsonl.gz`` hold phone numbers, street addresses,
e-mail addresses and identifier numbers (MEDDOCAN, usaddress, and two generated sets: the
example numbers of libphonenumber's metadata, and scrubadub's fake documents). The generated
sets need ``scrubadub``, ``Faker`` and ``phonenumbers`` at the versions in ``_PINNED`` (the
project does not depend on them: install them in a throw-away environment to rebuild).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Record = dict[str, Any]
_TYPES = {"PER": "PERSON", "LOC": "LOCATION", "person": "PERSON", "location": "LOCATION"}


def _spans_of(tokens: list[str], tags: list[str], text: str) -> list[list[Any]] | None:
    """Character spans of the tagged entities; ``None`` when a token is not in ``text``."""
    offsets: list[tuple[int, int]] = []
    pos = 0
    for tok in tokens:
        at = text.find(tok, pos)
        if at < 0:
            return None
        offsets.append((at, at + len(tok)))
        pos = at + len(tok)
    spans: list[list[Any]] = []
    for i, tag in enumerate(tags):
        kind = _TYPES.get(tag[2:])
        if tag.startswith("B-") and kind:
            spans.append([offsets[i][0], offsets[i][1], kind])
        elif tag.startswith("I-") and kind and spans and spans[-1][2] == kind:
            spans[-1][1] = offsets[i][1]
    return spans


def read_uner(path: Path) -> Iterator[tuple[str, str, list[list[Any]]]]:
    """(sentence id, text, spans) of a UNER ``.iob2`` file (it keeps the original text)."""
    sent_id, text, tokens, tags = "", "", [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("# sent_id = "):
            sent_id = line[len("# sent_id = ") :]
        elif line.startswith("# text = "):
            text = line[len("# text = ") :]
        elif line.startswith("#"):
            continue
        elif line.strip():
            cols = line.split("\t")
            tokens.append(cols[1])
            tags.append(cols[2])
        elif tokens:
            spans = _spans_of(tokens, tags, text)
            if spans is not None:
                yield sent_id, text, spans
            tokens, tags = [], []


def read_conll(path: Path) -> Iterator[tuple[str, list[list[Any]]]]:
    """(text, spans) of a WNUT17 CoNLL file: tokens joined by single spaces."""
    tokens: list[str] = []
    tags: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip():
            tok, tag = line.split("\t")[:2]
            tokens.append(tok)
            tags.append(tag.strip())
        elif tokens:
            text = " ".join(tokens)
            spans = _spans_of(tokens, tags, text)
            if spans is not None:
                yield text, spans
            tokens, tags = [], []


def build(uner: Path, wnut: Path) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {"tune": [], "dev": []}
    seen: set[str] = set()
    for part, split in (("dev", "tune"), ("test", "dev")):
        for sent_id, text, spans in read_uner(uner / f"en_ewt-ud-{part}.iob2"):
            if text in seen:
                continue
            seen.add(text)
            rec = {"id": f"uner-ewt/{sent_id}", "text": text, "spans": spans}
            out[split].append({**rec, "source": "uner-ewt", "split": split})
    for name in ("emerging.dev.conll", "emerging.test.annotated"):
        for i, (text, spans) in enumerate(read_conll(wnut / name)):
            if text in seen:
                continue
            seen.add(text)
            rec = {"id": f"wnut17/{name.split('.')[1]}-{i:05d}", "text": text, "spans": spans}
            out["dev"].append({**rec, "source": "wnut17", "split": "dev"})
    return out


# ---------------------------------------------------------------- structured types

#: MEDDOCAN's PHI classes taken, as our types (FECHAS only in a "Fecha de nacimiento" field)
_MEDDOCAN = {
    "NUMERO_TELEFONO": "PHONE",
    "NUMERO_FAX": "PHONE",
    "CORREO_ELECTRONICO": "EMAIL",
    "CALLE": "ADDRESS",
    "ID_ASEGURAMIENTO": "NATIONAL_ID",
    "FECHAS": "DATE_OF_BIRTH",
}
#: versions the generated sets were made with (other versions draw other values)
_PINNED = {"scrubadub": "2.0.1", "Faker": "40.54.0", "phonenumbers": "9.0.43"}
#: scrubadub locales: tune / dev (held out by locale); ``ssn`` where Faker draws that
#: country's own identifier (elsewhere it falls back to the US format, or to a "ZZ" NINO)
_LOCALES = {
    "tune": ("en_GB", "de_DE", "fr_FR", "es_ES", "en_IN", "sv_SE"),
    "dev": ("en_US", "en_CA", "en_AU", "it_IT", "nl_NL", "pt_BR", "pl_PL", "en_IE"),
}
_SSN_LOCALES = {"en_US", "en_CA", "fr_FR", "sv_SE", "it_IT", "nl_NL", "pt_BR", "pl_PL"}
#: documents per locale (more for en_US, the only locale with US SSNs)
_DOCS = {"en_US": 180}


def _half(key: str) -> str:
    """A fixed split of a source that has no split of its own: by the key's digest."""
    return "tune" if hashlib.sha256(key.encode()).digest()[0] < 128 else "dev"


def read_meddocan(root: Path, part: str) -> Iterator[tuple[str, str, list[list[Any]]]]:
    """(case id, text, spans) of MEDDOCAN's BRAT files in ``corpus/PART/brat``."""
    for txt in sorted((root / "corpus" / part / "brat").glob("*.txt")):
        text = txt.read_text(encoding="utf-8")
        spans: list[list[Any]] = []
        for line in txt.with_suffix(".ann").read_text(encoding="utf-8").splitlines():
            if not line.startswith("T"):
                continue
            _tid, what, surface = line.split("\t")
            label, start, end = what.split(" ")
            kind = _MEDDOCAN.get(label)
            a, b = int(start), int(end)
            if text[a:b] != surface:
                raise ValueError(f"{txt.name}: {line!r} does not match the text")
            if kind == "DATE_OF_BIRTH":
                field = text[text.rfind("\n", 0, a) + 1 : a]
                if not field.lower().startswith("fecha de nacimiento"):
                    continue
            if kind:
                spans.append([a, b, kind])
        if any(k == "EMAIL" and "@" not in text[a:b] for a, b, k in spans):
            continue  # 2 cases: a name, a street address labelled as an e-mail address
        yield txt.stem, text, sorted(spans)


def read_usaddress(path: Path) -> Iterator[tuple[int, str, list[list[Any]]]]:
    """(index, text, spans) of usaddress's labelled strings: street addresses and PO boxes.

    The span runs from the first to the last address component (a leading or trailing
    ``Recipient`` name is left out); intersections and strings without a house number and
    street name or a box are skipped."""
    for i, node in enumerate(ET.parse(path).getroot()):  # noqa: S314 (a pinned snapshot)
        tags = {child.tag for child in node}
        street = {"AddressNumber", "StreetName"} <= tags
        if not (street or "USPSBoxType" in tags) or tags & {"IntersectionSeparator", "NotAddress"}:
            continue
        text, lo, hi = node.text or "", None, 0
        for child in node:
            start = len(text)
            text += child.text or ""
            if child.tag != "Recipient":
                lo = start if lo is None else lo
                hi = len(text)
            text += child.tail or ""
        if lo is not None:
            yield i, text, [[lo, hi, "ADDRESS"]]


def _check_pinned() -> None:
    from importlib import metadata

    for dist, version in _PINNED.items():
        if metadata.version(dist) != version:
            raise SystemExit(f"{dist} {metadata.version(dist)} installed; the data needs {version}")


def gen_libphonenumber() -> Iterator[tuple[str, str, list[list[Any]]]]:
    """(key, text, spans): each region's fixed-line and mobile example number, written in
    libphonenumber's INTERNATIONAL format, alone."""
    import phonenumbers as pn

    kinds = {"fixed": pn.PhoneNumberType.FIXED_LINE, "mobile": pn.PhoneNumberType.MOBILE}
    for region in sorted(pn.SUPPORTED_REGIONS):
        seen: set[str] = set()
        for name, kind in kinds.items():
            number = pn.example_number_for_type(region, kind)
            if number is None:
                continue
            text = pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)
            if text not in seen:
                seen.add(text)
                yield f"{region}-{name}", text, [[0, len(text), "PHONE"]]


def gen_scrubadub(locale: str) -> Iterator[tuple[str, str, list[list[Any]]]]:
    """(key, text, spans): scrubadub's ``make_fake_document`` (Faker sentences, one Faker
    value inserted into each) with its address, phone, credit-card and SSN types, plus IBAN
    and IP-address types drawn from Faker's own providers; URLs and Twitter handles are
    inserted too but not labelled."""
    import scrubadub.comparison
    import scrubadub.filth as sf

    class IbanFilth(sf.Filth):
        type = "iban"

        @staticmethod
        def generate(faker: Any) -> str:
            return str(faker.iban())

    class IpFilth(sf.Filth):
        type = "ip_address"

        @staticmethod
        def generate(faker: Any) -> str:
            return str(faker.ipv4_public() if faker.boolean() else faker.ipv6())

    wanted = ["address", "phone", "credit_card", "iban", "ip_address", "url", "twitter"]
    if locale == "en_IN":  # Faker's en_IN IBANs are GB ones a character short: invalid
        wanted.remove("iban")
    if locale in _SSN_LOCALES:
        wanted.append("social_security_number")
    ssn = "US_SSN" if locale == "en_US" else "NATIONAL_ID"
    types = {
        "address": "ADDRESS", "phone": "PHONE", "credit_card": "CREDIT_CARD", "iban": "IBAN",
        "ip_address": "IP_ADDRESS", "social_security_number": ssn,
    }  # fmt: skip
    extra = [sf.CreditCardFilth, IbanFilth, IpFilth]
    for i in range(_DOCS.get(locale, 60)):
        doc, items = scrubadub.comparison.make_fake_document(
            paragraphs=1,
            locale=locale,
            seed=zlib.crc32(f"{locale}/{i}".encode()),
            filth_types=wanted,
            additional_filth_types=extra,
        )
        spans: list[list[Any]] = []
        pos = 0
        for item in items:
            match = item["match"].strip()  # a phone number loses its extension: "… "
            at = doc.index(match, pos)
            pos = at + len(match)
            if item["filth_type"] in types:
                spans.append([at, pos, types[item["filth_type"]]])
        yield f"{locale}-{i:03d}", doc, spans


def build_structured(meddocan: Path, usaddress: Path) -> dict[str, list[Record]]:
    _check_pinned()
    out: dict[str, list[Record]] = {"tune": [], "dev": []}
    seen: set[str] = set()

    def add(split: str, source: str, key: str, text: str, spans: list[list[Any]]) -> None:
        if text in seen:
            return
        seen.add(text)
        rec = {"id": f"{source}/{key}", "text": text, "spans": spans}
        out[split].append({**rec, "source": source, "split": split})

    for part, split in (("train", "tune"), ("dev", "dev"), ("test", "dev")):
        for case, text, spans in read_meddocan(meddocan, part):
            add(split, "meddocan", f"{part}/{case}", text, spans)
    for i, text, spans in read_usaddress(usaddress / "training" / "labeled.xml"):
        add(_half(text), "usaddress", f"labeled-{i:04d}", text, spans)
    for key, text, spans in gen_libphonenumber():
        add(_half(key.split("-")[0]), "libphonenumber", key, text, spans)
    for split, locales in _LOCALES.items():
        for locale in locales:
            for key, text, spans in gen_scrubadub(locale):
                add(split, "scrubadub-faker", key, text, spans)
    return out


def write(records: list[Record], path: Path) -> None:
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        for rec in records:
            fh.write((json.dumps(rec, ensure_ascii=False) + "\n").encode())
    print(path.name, len(records))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uner-ewt", type=Path, help="NER set: UniversalNER/UNER_English-EWT")
    ap.add_argument("--wnut17", type=Path, help="NER set: leondz/emerging_entities_17")
    ap.add_argument("--meddocan", type=Path, help="structured set: PlanTL-GOB-ES/SPACCC_MEDDOCAN")
    ap.add_argument("--usaddress", type=Path, help="structured set: datamade/usaddress")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    if not ((args.uner_ewt and args.wnut17) or (args.meddocan and args.usaddress)):
        ap.error("give --uner-ewt and --wnut17, or --meddocan and --usaddress, or all four")
    if args.uner_ewt and args.wnut17:
        for split, records in build(args.uner_ewt, args.wnut17).items():
            write(records, args.out / f"{split}.jsonl.gz")
    if args.meddocan and args.usaddress:
        for split, records in build_structured(args.meddocan, args.usaddress).items():
            write(records, args.out / f"structured_{split}.jsonl.gz")


if __name__ == "__main__":
    main()
