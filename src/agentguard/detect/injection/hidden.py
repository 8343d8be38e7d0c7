"""``hidden_text``: zero-width characters, bidi controls and Unicode tag characters. The
tag characters are decoded and scanned; the rest of the text is scanned with the invisible
characters removed (so ``ig<U+200B>nore`` still reads “ignore”) and its offsets mapped back.
Joiners inside emoji or joining scripts, LRM/RLM in right-to-left text and tag-sequence flags
are legitimate and ignored."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from typing import TYPE_CHECKING

from agentguard.detect.injection.common import FLAG_THRESHOLD, HIDDEN, Hit

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

# one character, not a run: with "+" CPython's re loses its fast character-class loop
HIDDEN_CHAR = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u180e\u061c\U000e0000-\U000e007f]"
)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_TAG_BASE = 0xE0000


def run_with_hidden(scan: Scan) -> None:
    """Report the hidden characters, then scan the text with them removed (so that
    ``ig<U+200B>nore`` still reads ``ignore``) and map offsets back."""
    text = scan.text
    # (position in the stripped text, characters removed up to and including that run)
    removed: list[tuple[int, int]] = []
    pieces: list[str] = []
    last = 0
    total = 0
    has_rtl = _RTL.search(text) is not None
    hidden_hits: list[Hit] = []
    runs: list[list[int]] = []
    for m in HIDDEN_CHAR.finditer(text):
        if runs and runs[-1][1] == m.start():
            runs[-1][1] = m.end()
        else:
            runs.append([m.start(), m.end()])
    for run_start, run_end in runs:
        pieces.append(text[last:run_start])
        stripped_pos = run_start - total
        total += run_end - run_start
        removed.append((stripped_pos, total))
        last = run_end
        hidden_hits.extend(_classify_hidden(text, run_start, run_end, has_rtl, scan))
    pieces.append(text[last:])
    stripped = "".join(pieces)
    sub = scan.spawn(stripped, scan.depth)
    sub.run_plain()
    keys = [r[0] for r in removed]

    def to_original(pos: int, is_end: bool) -> int:
        # a removed run sitting exactly at `pos` lies after an end and before a start
        i = bisect_right(keys, pos - 1 if is_end else pos) - 1
        return pos + (removed[i][1] if i >= 0 else 0)

    in_word = sum(1 for h in hidden_hits if h.in_word)
    spanning: list[tuple[int, int]] = []
    for hit in sub.hits:
        start = to_original(hit.start, False)
        end = to_original(hit.end, True)
        if end - start != hit.end - hit.start:
            spanning.append((start, end))
        scan.hits.append(Hit(hit.subtype, start, end, hit.score, hit.contextual))
    if spanning:
        # a finding that spans removed characters is an obfuscated injection: the hidden
        # characters inside any such finding are raised (one look-up each in their union)
        lows, highs = _union(spanning)
        for h in hidden_hits:
            i = bisect_right(lows, h.start) - 1
            if i >= 0 and h.start < highs[i]:
                h.score = max(h.score, 0.9)
    if in_word >= 3:
        for h in hidden_hits:
            if h.in_word:
                h.score = max(h.score, 0.7)
    scan.hits.extend(hidden_hits)


def _union(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The union of ``spans`` as sorted, disjoint ``[low, high)`` intervals."""
    lows: list[int] = []
    highs: list[int] = []
    for start, end in sorted(spans):
        if start >= end:
            continue
        if highs and start <= highs[-1]:
            highs[-1] = max(highs[-1], end)
        else:
            lows.append(start)
            highs.append(end)
    return lows, highs


def _classify_hidden(text: str, start: int, end: int, has_rtl: bool, scan: Scan) -> list[Hit]:
    run = text[start:end]
    tags = [c for c in run if 0xE0020 <= ord(c) <= 0xE007E]
    if tags:
        decoded = "".join(chr(ord(c) - _TAG_BASE) for c in tags)
        prev = text[start - 1] if start > 0 else ""
        if prev == "\U0001f3f4" and re.fullmatch(r"[a-z0-9]{2,7}", decoded):
            return []  # a subdivision flag emoji (England, Scotland, Wales)
        if scan.depth < 2:
            sub = scan.spawn(decoded, scan.depth + 1)
            sub.run()
            best = sub.max_score()
        else:
            best = 0.0
        if best >= FLAG_THRESHOLD:
            score = 0.97
        elif len(decoded.strip()) >= 3:
            score = 0.85
        else:
            score = 0.6
        return [Hit(HIDDEN, start, end, score, contextual=False)]
    hits: list[Hit] = []
    zero_width = 0
    for offset, ch in enumerate(run):
        code = ord(ch)
        i = start + offset
        if code in (0x202D, 0x202E):
            hits.append(Hit(HIDDEN, i, i + 1, 0.45 if has_rtl else 0.75, contextual=False))
        elif 0x202A <= code <= 0x202C or 0x2066 <= code <= 0x2069:
            if not has_rtl:
                hits.append(Hit(HIDDEN, i, i + 1, 0.55, contextual=False))
        elif code in (0x200E, 0x200F, 0x061C):
            if not has_rtl:
                hits.append(Hit(HIDDEN, i, i + 1, 0.35, contextual=False))
        elif (code == 0xFEFF and i == 0) or (
            code in (0x200C, 0x200D) and _joiner_is_legitimate(text, start, end)
        ):
            continue  # a byte-order mark, or a joiner inside an emoji or a joining script
        elif 0x206A <= code <= 0x206F:
            hits.append(Hit(HIDDEN, i, i + 1, 0.5, contextual=False))
        else:
            zero_width += 1
    if zero_width:
        before = text[start - 1] if start > 0 else " "
        after = text[end] if end < len(text) else " "
        in_word = before.isalpha() and after.isalpha()
        if zero_width >= 4:
            score = 0.8  # a run of invisible characters: steganography
        elif in_word:
            score = 0.45  # splits a word: keyword evasion
        else:
            score = 0.35
        hits.append(Hit(HIDDEN, start, end, score, contextual=False, in_word=in_word))
    return hits


def _joiner_is_legitimate(text: str, start: int, end: int) -> bool:
    """ZWJ/ZWNJ inside emoji sequences or between letters of scripts that need them."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    for ch in (before, after):
        if not ch:
            continue
        code = ord(ch)
        if code >= 0x1F000 or code in (0xFE0F, 0x2640, 0x2642, 0x2695, 0x2696, 0x2708, 0x2764):
            return True
        if unicodedata.category(ch) in ("So", "Sk"):
            return True
        if code >= 0x0590 and unicodedata.category(ch)[0] in ("L", "M"):
            return True
    return False
