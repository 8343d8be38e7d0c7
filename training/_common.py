"""Shared helpers of the extract/build scripts: deterministic gzip'd JSONL, git reads."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "data" / "injection" / "sources"

# kinds of record an extractor emits
DIRECT = "direct"  # an attack typed by the user (label 1)
PLANT = "plant"  # an attack sentence meant to be planted in a document (label 1)
PROMPT = "prompt"  # an ordinary user request (label 0)
SECURITY = "security"  # a benign security-themed prompt or sentence (label 0)
DOC = "doc"  # a benign document an agent's tool could return (label 0)
LABELS = {DIRECT: 1, PLANT: 1, PROMPT: 0, SECURITY: 0, DOC: 0}


def record(text: str, kind: str, source: str, **extra: str) -> dict[str, object]:
    return {"text": text, "kind": kind, "label": LABELS[kind], "source": source, **extra}


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def write_jsonl_gz(path: Path, records: Iterable[dict[str, object]]) -> int:
    """Write records sorted and de-duplicated; same input, same bytes (gzip mtime 0)."""
    seen: set[str] = set()
    rows = []
    for r in records:
        text = str(r["text"]).strip()
        key = normalise(text) + "\0" + str(r["kind"])
        if not text or key in seen:
            continue
        seen.add(key)
        rows.append({**r, "text": text})
    rows.sort(key=lambda r: (str(r["source"]), str(r["kind"]), digest(str(r["text"]))))
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(body.encode(), compresslevel=9, mtime=0))
    print(f"{path.relative_to(ROOT)}: {len(rows)} records")
    return len(rows)


def read_jsonl_gz(path: Path) -> Iterator[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def git_show(gitdir: str | Path, rev: str, path: str) -> str:
    out = subprocess.run(  # noqa: S603 - fixed argv, git from PATH
        ["git", "--git-dir", str(gitdir), "show", f"{rev}:{path}"],  # noqa: S607
        check=True,
        capture_output=True,
    )
    return out.stdout.decode("utf-8", errors="replace")


def git_ls(gitdir: str | Path, rev: str, under: str) -> list[str]:
    out = subprocess.run(  # noqa: S603 - fixed argv, git from PATH
        ["git", "--git-dir", str(gitdir), "ls-tree", "-r", "--name-only", rev, "--", under],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    )
    return sorted(out.stdout.split())


_FENCE = re.compile(r"```.*?```", re.S)
_HTML = re.compile(r"<[^>]+>")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def markdown_paragraphs(md: str) -> list[str]:
    """Prose paragraphs of a markdown page: code, tables, links and HTML stripped."""
    md = _LINK.sub(r"\1", _HTML.sub(" ", _FENCE.sub("\n\n", md)))
    out = []
    for block in re.split(r"\n\s*\n", md):
        lines = [ln.strip() for ln in block.splitlines()]
        if not lines or any(ln.startswith(("|", "---", "{%", "title:", "layout:")) for ln in lines):
            continue
        text = " ".join(ln.lstrip("#>*-0123456789. ").strip() for ln in lines)
        text = re.sub(r"[`*_]{1,3}", "", text).strip()
        if text:
            out.append(text)
    return out


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENT.split(paragraph) if s.strip()]


def take(items: list[dict[str, object]], limit: int) -> list[dict[str, object]]:
    """A deterministic sample: the ``limit`` items with the smallest text digests."""
    return sorted(items, key=lambda r: digest(str(r["text"])))[:limit]
