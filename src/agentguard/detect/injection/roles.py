"""``role_spoofing``: fake conversation turns — ``SYSTEM:`` labels at a line start,
``</user><system>`` tags, ``{"role": "system"}``, chat-template tokens (``<|im_start|>``,
``[INST]``, ``<<SYS>>``) and ``[system note]`` brackets — scored up by the injection
vocabulary that follows them."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from agentguard.detect.injection.common import ROLE, start_of_line

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

_I = re.IGNORECASE

_AFTER_BLOCK_TAG = re.compile(r"<(?:p|div|li|br|td|span|h[1-6])\b[^<>]*>\s*$", _I)
_LINE_PREFIX = re.compile(r"(?:[ \t>*#_|\[(\-=~•]|<[a-zA-Z][^>\n]{0,80}>)*")
# possessive blanks: two runs of blanks side by side would otherwise try every split of a
# long run between them (quadratic); nothing after a run can start with a blank
_LABEL_TAIL = re.compile(
    r"(?:[ \t]++(?:prompt|message|note|notice|instructions?|override|update|alert|directive|"
    r"command|administrator|admin))?[ \t]*+[\])]?[ \t]*+:",
    _I,
)
# an upper-case qualified label may also end with a dash: "SYSTEM OVERRIDE - …"
_UPPER_LABEL_TAIL = re.compile(
    r"[ \t]++(?:PROMPT|MESSAGE|NOTE|NOTICE|INSTRUCTIONS?|OVERRIDE|UPDATE|ALERT|DIRECTIVE|"
    r"COMMAND)[ \t]*+(?::|[-—–]\s)"
)
_ROLE_TAG = re.compile(
    r"</?(?:system|user|assistant|developer|human|tool)(?:[_-]?(?:prompt|message|"
    r"instructions?))?\s*>",
    _I,
)
_BRACKET_ROLE = re.compile(
    r"[\[(]\s*(?:system|admin|developer)\s*(?:message|note|notice|override|prompt|"
    r"instructions?|update|alert)?s?\s*[\])]",
    _I,
)
_JSON_ROLE_BACK = re.compile(r"[\"']role[\"']\s*:\s*[\"']$", _I)
_SPECIAL_TOKEN = re.compile(
    r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|begin_of_text|end_of_text|"
    r"start_header_id|end_header_id|eot_id|eom_id|end|start|channel|message|return|call|"
    r"fim_\w+)\|>|\[/?INST\]|<</?SYS>>",
    _I,
)
#: the start of a word (as str.split cuts them) that is not one special token
_PLAIN_WORD = re.compile(r"(?<!\S)(?!(?:" + _SPECIAL_TOKEN.pattern + r")(?!\S))\S", _I)
_ROLE_STRONG = re.compile(
    r"\b(?:ignor\w*|disregard\w*|overrid\w*|authori[sz]ed|grant\w*|allowed|permitted|"
    r"permission|reveal\w*|disabl\w*|administrator|admin\s+(?:access|rights|privileges|mode|"
    r"password)|verified|forward\w*|transfer\w*|execut\w*|"
    r"delet\w*|comply|bypass\w*|passwords?|credentials?|secrets?|keylogger|malware|"
    r"no\s+(?:restrictions?|limits?|rules|safety|filters?|guidelines)|"
    r"without\s+(?:asking|confirmation|approval|restrictions?|telling)|"
    r"polic(?:y|ies)\s+(?:update|change)|new\s+(?:policy|instructions?|rules?)|must\s+now|"
    r"from\s+now\s+on|you\s+are\s+now|unrestricted|jailbr\w*|safety|share\s+all|user\s+data|"
    r"mailbox|email\s+the|refunds?|append\w*|every\s+(?:answer|response|reply|message)|"
    r"assistant\s+(?:must|should|will|shall|is\s+to|may\s+now|can\s+now))\b",
    _I,
)
_ROLE_WEAK = re.compile(
    r"\b(?:you|your|must|always|never|now|instructions?|should|assistant|immediately|"
    r"proceed)\b",
    _I,
)


def role_label(scan: Scan, pos: int, length: int, base: float) -> None:
    """``SYSTEM:`` / ``assistant:`` at a line start (after markup), or an upper-case label
    right after a sentence end."""
    text = scan.text
    if pos > 0 and text[pos - 1].isalnum():
        return
    end = pos + length
    if end < len(text) and text[end].isalnum():
        return
    word = text[pos:end]
    upper = word.isupper() and len(word) > 2
    qualified = _UPPER_LABEL_TAIL.match(text, end) if upper else None
    tail = qualified or _LABEL_TAIL.match(text, end)
    if tail is None:
        return
    line_start = start_of_line(text, pos)
    prefix = text[line_start:pos]
    prefix_match = _LINE_PREFIX.fullmatch(prefix) or _AFTER_BLOCK_TAG.search(prefix)
    if prefix_match is None:
        stripped = prefix.rstrip()
        if qualified is None and (not upper or not stripped or stripped[-1] not in '.!?"'):
            return
        base -= 0.05
    if upper:
        base += 0.1
    if line_start > 1:
        prev_end = start_of_line(text, line_start - 1)
        previous = text[prev_end : line_start - 1].rstrip()
        if previous and (previous[-1].isalnum() or previous[-1] in ",;("):
            base -= 0.15  # mid-paragraph: most likely prose wrapped before "system:"
    if tail.end() - end > 2 and text[end : tail.end()].strip(" \t:])").strip():
        base += 0.1  # "SYSTEM NOTICE:", "system message:"
    if "#" in prefix or "[" in prefix:
        base += 0.05
    low_role = word.lower() in ("user", "human")
    role_with_vocab(scan, pos, tail.end(), base, cap=0.15 if low_role else 0.45)


#: role markers per text whose vocabulary is read from their own window; past this (a
#: transcript of thousands of turns, or a flood of markers) it is counted from one pass
#: over the whole text, which can differ only for a phrase cut by the window's edge
VOCAB_CAP = 1000
_VOCAB_WINDOW = 250


class VocabIndex:
    """The matches of the role vocabulary in a whole text, to count those in a window."""

    __slots__ = ("_strong", "_weak")

    def __init__(self, text: str) -> None:
        self._strong = _spans(_ROLE_STRONG, text)
        self._weak = _spans(_ROLE_WEAK, text)

    def counts(self, lo: int, hi: int) -> tuple[int, int]:
        """How many strong and weak matches lie in ``text[lo:hi]``."""
        return _count(self._strong, lo, hi), _count(self._weak, lo, hi)


def _spans(pattern: re.Pattern[str], text: str) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for m in pattern.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
    return starts, ends


def _count(spans: tuple[list[int], list[int]], lo: int, hi: int) -> int:
    # the matches do not overlap, so their ends are sorted as their starts are
    starts, ends = spans
    return max(0, bisect_right(ends, hi) - bisect_left(starts, lo))


def role_with_vocab(scan: Scan, start: int, end: int, base: float, cap: float = 0.45) -> None:
    if scan.vocab_left > 0:
        scan.vocab_left -= 1
        window = scan.text[end : end + _VOCAB_WINDOW]
        strong = len(_ROLE_STRONG.findall(window))
        weak = len(_ROLE_WEAK.findall(window))
    else:
        strong, weak = scan.vocab().counts(end, end + _VOCAB_WINDOW)
    score = base + min(cap, min(0.35, 0.2 * strong) + min(0.1, 0.05 * weak))
    scan.add(ROLE, start, end, score)


def role_tag(scan: Scan, pos: int) -> None:
    text = scan.text
    m = _ROLE_TAG.match(text, pos)
    if m is None:
        return
    if text[max(0, pos - 2) : pos] == "?P":
        return  # a regex named group, (?P<user>…)
    word = m.group(0).strip("</> \t").lower()
    base = 0.55 if word.startswith(("system", "assistant", "developer")) else 0.3
    lo = max(0, pos - 200)
    others = _ROLE_TAG.search(text, lo, pos) or _ROLE_TAG.search(text, m.end(), m.end() + 200)
    if others is not None:
        base += 0.2  # a pair such as </user><system>: a fake turn boundary
    role_with_vocab(scan, pos, m.end(), base)


def json_role(scan: Scan, pos: int, length: int) -> None:
    text = scan.text
    end = pos + length
    if end >= len(text) or text[end] not in "\"'" or pos < 8:
        return
    back = _JSON_ROLE_BACK.search(text, max(0, pos - 16), pos)
    if back is not None:
        role_with_vocab(scan, back.start(), end + 1, 0.4)


def special_token(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    line_start = start_of_line(text, m.start())
    before = text[line_start : m.start()]
    # a word before it on its line that is not a special token itself
    words = _PLAIN_WORD.search(before) is not None
    if words and text[m.end() : m.end() + 1] not in ("\n", ""):
        role_with_vocab(scan, m.start(), m.end(), 0.5)  # mentioned inside a sentence
    else:
        scan.add(ROLE, m.start(), m.end(), 0.85)


def bracket_role(scan: Scan, m: re.Match[str]) -> None:
    text = scan.text
    b = _BRACKET_ROLE.match(text, m.start())
    if b is None:
        return
    inner = text[b.start() + 1 : b.end() - 1].strip()
    after = text[b.end() : b.end() + 2]
    labelled = after[:1] == ":" or (after[:1] == " " and after[1:2].isalpha())
    if " " in inner or (inner.isupper() and labelled) or after[:1] == ":":
        role_with_vocab(scan, b.start(), b.end(), 0.5)  # not "[admin](https://…)"
