"""Public NER corpora and name lists -> data/person/{train,names}.jsonl.gz

    python training/build_person_data.py --wnut17 DIR --btc DIR --uner-pud DIR --gum DIR \
        --names DIR --wordfreq DIR

Each DIR is a checkout (or ``git archive``) of the snapshot that data/README.md names
(``--names``: the unpacked ``names`` 0.3.0 sdist from PyPI; ``--wordfreq``: the unpacked
``wordfreq`` 3.1.1 wheel). ``train.jsonl.gz`` holds one
record per sentence or post, ``{"id", "text", "spans", "source"}`` with ``spans`` the
``[start, end)`` character ranges of the PERSON names; ``names.jsonl.gz`` one record per
name-list entry, ``{"list": "first"|"last", "name", "rank"}`` (lower-cased, US Census 1990);
``wordfreq.jsonl.gz`` one record per word of wordfreq's small English list, ``{"word", "cb"}``
(``cb``: minus the word's frequency in centibels, so Zipf = 9 - cb / 100).

Taken (see the data card): WNUT 2017 *train* (``person``; its dev and test are the held-out
evaluation and are not read), the Broad Twitter Corpus (``PER``; an ``@user`` mention is
not a name in WNUT's or UNER's convention, so those become unlabelled), UNER English-PUD
(``PER``), and the GUM genres whose texts are under a permissive licence (academic,
biographies, court, interviews, news, voyage): a PROPN token whose innermost entity is a
``person`` is part of a name. A text that repeats a text of ``data/pii/dev.jsonl.gz``
(lower-cased, whitespace collapsed) is dropped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from _common import ROOT, digest, normalise

OUT = ROOT / "data" / "person"
Span = list[int]
Record = dict[str, object]
GUM_GENRES = ("academic", "bio", "court", "interview", "news", "voyage")


def _place(tokens: list[str], text: str) -> list[tuple[int, int]] | None:
    """Character offsets of ``tokens`` found in order in ``text`` (``None`` if one is not)."""
    out: list[tuple[int, int]] = []
    pos = 0
    for tok in tokens:
        at = text.find(tok, pos)
        if at < 0:
            return None
        out.append((at, at + len(tok)))
        pos = at + len(tok)
    return out


def _spans(offsets: list[tuple[int, int]], inside: list[bool], new: list[bool]) -> list[Span]:
    """Runs of ``inside`` tokens as character spans; ``new`` starts another name."""
    spans: list[Span] = []
    prev = False
    for (s, e), flag, begin in zip(offsets, inside, new, strict=True):
        if flag and prev and not begin:
            spans[-1][1] = e
        elif flag:
            spans.append([s, e])
        prev = flag
    return spans


def _conll_sentences(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    tokens: list[str] = []
    tags: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip() and not line.startswith("# "):
            cols = line.split("\t") if "\t" in line else line.split()
            tokens.append(cols[0])
            tags.append(cols[-1].strip())
        elif tokens:
            yield tokens, tags
            tokens, tags = [], []


def _iob_record(tokens: list[str], tags: list[str], person: str, drop_at: bool) -> Record:
    text = " ".join(tokens)
    offsets = _place(tokens, text)
    assert offsets is not None
    inside = [t[2:] == person for t in tags]
    begin = [t.startswith("B-") for t in tags]
    if drop_at:  # "@ user" or "@user" mentions: not names here
        for i, tok in enumerate(tokens):
            if inside[i] and (tok.startswith("@") or (i and tokens[i - 1] == "@")):
                j = i
                while j < len(tokens) and inside[j] and (j == i or not begin[j]):
                    inside[j] = False
                    j += 1
    return {"text": text, "spans": _spans(offsets, inside, begin)}


def read_wnut(folder: Path) -> Iterator[Record]:
    for n, (tokens, tags) in enumerate(_conll_sentences(folder / "wnut17train.conll")):
        yield {"id": f"wnut17-train/{n}", "source": "wnut17-train"} | _iob_record(
            tokens, tags, "person", drop_at=False
        )


def read_btc(folder: Path) -> Iterator[Record]:
    for section in "abefgh":
        for n, (tokens, tags) in enumerate(_conll_sentences(folder / f"{section}.conll")):
            yield {"id": f"btc/{section}/{n}", "source": "btc"} | _iob_record(
                tokens, tags, "PER", drop_at=True
            )


def read_pud(folder: Path) -> Iterator[Record]:
    sent_id, text, tokens, tags = "", "", [], []
    lines = (folder / "en_pud-ud-test.iob2").read_text(encoding="utf-8").splitlines()
    for line in [*lines, ""]:
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
            offsets = _place(tokens, text)
            if offsets is not None:
                inside = [t[2:] == "PER" for t in tags]
                begin = [t.startswith("B-") for t in tags]
                spans = _spans(offsets, inside, begin)
                yield {"id": f"uner-pud/{sent_id}", "source": "uner-pud", "text": text} | {
                    "spans": spans
                }
            tokens, tags = [], []


_ENTITY_PART = re.compile(r"\((\d+)-([a-z]+)[^()]*(?:\([^()]*\)[^()]*)*(\)?)|(\d+)\)")


def read_gum(folder: Path) -> Iterator[Record]:
    for path in sorted((folder / "dep").glob("GUM_*.conllu")):
        genre = path.stem.split("_")[1]
        if genre not in GUM_GENRES:
            continue
        stack: list[tuple[str, str]] = []  # open entities (id, type), innermost last
        text, sent_id, tokens, flags, ids = "", "", [], [], []
        for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
            if line.startswith("# text = "):
                text = line[len("# text = ") :]
            elif line.startswith("# sent_id = "):
                sent_id = line[len("# sent_id = ") :]
            elif line.startswith("#"):
                continue
            elif line.strip():
                cols = line.split("\t")
                if "-" in cols[0] or "." in cols[0]:
                    continue
                misc = dict(kv.split("=", 1) for kv in cols[9].split("|") if "=" in kv)
                closing_after: list[str] = []
                single: list[tuple[str, str]] = []
                for m in _ENTITY_PART.finditer(misc.get("Entity", "")):
                    if m.group(4):
                        closing_after.append(m.group(4))
                    elif m.group(3):
                        single.append((m.group(1), m.group(2)))
                    else:
                        stack.append((m.group(1), m.group(2)))
                innermost = single[-1] if single else (stack[-1] if stack else ("", ""))
                tokens.append(cols[1])
                flags.append(innermost[1] == "person" and cols[3] == "PROPN")
                ids.append(innermost[0])
                for eid in closing_after:
                    for k in range(len(stack) - 1, -1, -1):
                        if stack[k][0] == eid:
                            del stack[k]
                            break
            elif tokens:
                offsets = _place(tokens, text)
                if offsets is not None:
                    begin = [i == 0 or ids[i] != ids[i - 1] for i in range(len(ids))]
                    yield {
                        "id": f"gum/{sent_id}",
                        "source": f"gum-{genre}",
                        "text": text,
                        "spans": _spans(offsets, flags, begin),
                    }
                tokens, flags, ids = [], [], []


def read_names(folder: Path) -> Iterator[Record]:
    firsts: dict[str, int] = {}
    for fname in ("dist.female.first", "dist.male.first"):
        for line in (folder / "names" / fname).read_text(encoding="ascii").splitlines():
            name, _, _, rank = line.split()
            firsts[name.lower()] = min(int(rank), firsts.get(name.lower(), 10**9))
    for name, rank in sorted(firsts.items()):
        yield {"list": "first", "name": name, "rank": rank}
    for line in (folder / "names" / "dist.all.last").read_text(encoding="ascii").splitlines():
        name, _, _, rank = line.split()
        yield {"list": "last", "name": name.lower(), "rank": int(rank)}


def _unpack(data: bytes, at: int = 0) -> tuple[object, int]:
    """The msgpack value at ``at`` and where it ends: the types wordfreq's files use."""
    b = data[at]
    if b <= 0x7F:
        return b, at + 1
    if 0x90 <= b <= 0x9F or b in (0xDC, 0xDD):
        n, at = (b & 0x0F, at + 1) if b <= 0x9F else _length(data, at, 2 if b == 0xDC else 4)
        items = []
        for _ in range(n):
            item, at = _unpack(data, at)
            items.append(item)
        return items, at
    if 0x80 <= b <= 0x8F:
        pairs = {}
        at += 1
        for _ in range(b & 0x0F):
            key, at = _unpack(data, at)
            pairs[str(key)], at = _unpack(data, at)
        return pairs, at
    if 0xA0 <= b <= 0xBF or b in (0xD9, 0xDA, 0xDB):
        if b <= 0xBF:
            n, at = b & 0x1F, at + 1
        else:
            n, at = _length(data, at, {0xD9: 1, 0xDA: 2, 0xDB: 4}[b])
        return data[at : at + n].decode("utf-8"), at + n
    if b in (0xCC, 0xCD, 0xCE):
        return _length(data, at, {0xCC: 1, 0xCD: 2, 0xCE: 4}[b])
    raise ValueError(f"msgpack type {b:#x} not expected in wordfreq data")


def _length(data: bytes, at: int, size: int) -> tuple[int, int]:
    return int.from_bytes(data[at + 1 : at + 1 + size], "big"), at + 1 + size


def read_wordfreq(folder: Path) -> Iterator[Record]:
    blob = gzip.decompress((folder / "wordfreq" / "data" / "small_en.msgpack.gz").read_bytes())
    buckets, _ = _unpack(blob)
    assert isinstance(buckets, list) and buckets[0] == {"format": "cB", "version": 1}
    for cb, words in enumerate(buckets[1:]):
        for word in sorted(words):
            yield {"word": word, "cb": cb}


def write(path: Path, rows: list[Record]) -> None:
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body.encode(), compresslevel=9, mtime=0))
    print(f"{path.relative_to(ROOT)}: {len(rows)} records")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    for flag in ("--wnut17", "--btc", "--uner-pud", "--gum", "--names", "--wordfreq"):
        ap.add_argument(flag, type=Path, required=True)
    args = ap.parse_args()
    with gzip.open(ROOT / "data" / "pii" / "dev.jsonl.gz", "rt", encoding="utf-8") as fh:
        held_out = {normalise(json.loads(line)["text"]) for line in fh}
    rows: list[Record] = []
    seen: set[str] = set()
    dropped = 0
    for reader, folder in (
        (read_wnut, args.wnut17),
        (read_btc, args.btc),
        (read_pud, args.uner_pud),
        (read_gum, args.gum),
    ):
        for r in reader(folder):
            key = normalise(str(r["text"]))
            if not key or key in seen:
                continue
            seen.add(key)
            if key in held_out:
                dropped += 1
                continue
            rows.append(r)
    rows.sort(key=lambda r: (str(r["source"]), digest(str(r["text"]))))
    print(f"dropped {dropped} texts found in data/pii/dev.jsonl.gz")
    write(OUT / "train.jsonl.gz", rows)
    write(OUT / "names.jsonl.gz", list(read_names(args.names)))
    write(OUT / "wordfreq.jsonl.gz", list(read_wordfreq(args.wordfreq)))
    counts: dict[str, list[int]] = {}
    for r in rows:
        c = counts.setdefault(str(r["source"]), [0, 0])
        c[0] += 1
        c[1] += len(r["spans"])  # type: ignore[arg-type]
    for source, (texts, spans) in sorted(counts.items()):
        print(f"  {source}: {texts} texts, {spans} PERSON spans")


if __name__ == "__main__":
    main()
