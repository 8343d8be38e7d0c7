"""Context scoring: how the sentence around a hit moves its score (quotation, meta-discourse,
reported speech, question form, negation, imperative position, an addressed model) and
corroboration by other confident hits nearby; see the
:mod:`agentguard.detect.injection.detector` docstring for the figures."""

from __future__ import annotations

import re
from bisect import bisect_right

from agentguard.detect.injection.common import FLAG_THRESHOLD, MALICIOUS, OVERRIDE, ROLE, Hit

_I = re.IGNORECASE

# every branch starts with a literal character, so a search skips ahead in C (the "e.g." /
# "i.e." checks look back from after the full stop)
BOUNDARY = re.compile(
    r"[.!?](?<!\be\.g[.!?])(?<!\bi\.e[.!?])(?=\s|$)|\n|<!--|-->|"
    r"</?(?:p|div|br|li|h[1-6]|td|tr|table|section|article|body|html|head|title|ul|ol|span|"
    r"blockquote)\b[^<>]{0,200}>",
    _I,
)
_META = re.compile(
    r"(?<![./@-])\b(?:prompt[- ]injections?|injections?|traversal|xss|csrf|ssrf|rce|sqli|"
    r"jailbreak\w*|attacks?|attackers?|adversar\w*|exploit\w*|payloads?|malicious|phrases?|"
    r"strings?|examples?|e\.g\.|such\s+as|like|"
    r"known\s+as|called|named|techniques?|vulnerab\w*|mitigat\w*|defen[cs]\w*|protect\w*|"
    r"detect\w*|prevent\w*|filter\w*|sanitiz\w*|red[- ]team\w*|pen[- ]?test\w*|security|"
    r"classifiers?|research\w*|dataset|samples?|cheat\s*sheet|tutorial|explain\w*|"
    r"articles?|paper|write-?up|cve|owasp|waf|log\s+line|logs?|scanner|fuzz\w*|threat\w*|"
    r"ctf|comic|lecture|slides?|training|tricked|spoof\w*|smuggl\w*|variants?|regex|"
    r"typical|one-liner|format|template|tokens?|tags?|markers?|delimiters?|syntax|"
    r"guardrails?|firewall|refuse\w*|doc(?:s|umentation)?|unit\s+tests?|tests?|testing|"
    r"fixtures?|asserts?|expects?)\b",
    _I,
)
_REPORTED = re.compile(
    r"\b(?:says?|said|saying|wrote|writes|told|tells|telling|asked|asks|explains?|explained|"
    r"mentions?|mentioned|claims?|claimed|reads|typed|types|means|meaning|according\s+to|"
    r"quotes?|quoted|contains?|containing|using)\b",
    _I,
)
_QUESTION_LEAD = re.compile(
    r"^\W*(?:q:\s*)?(?:how|what|why|when|where|which|who|whom|whose|is|are|was|were|does|do|"
    r"did|should|shall|can|could|would|will|has|have|may|might)\b",
    _I,
)
_DIRECT_REQUEST = re.compile(r"\b(?:can|could|would|will|won't)\s+you\s+(?:please\s+)?$", _I)
_NEGATED = re.compile(
    r"\b(?:never|not|n't|no\s+longer|cannot|refuse\s+to|won't)\s+(?:\w+\s+){0,2}$", _I
)
_CLAUSE_LEAD = re.compile(
    r"(?:^|[,;:\-–—(>]|\b(?:please|kindly|and|then|now|so|just|also|first|immediately|simply|"
    r"must|should|will|need\s+to|have\s+to|shall|are\s+to|stop))\s*$",
    _I,
)
_DIRECTED = re.compile(
    r"\b(?:you|your|assistant|ai|model|agent|chatbot|bot|gpt|llm|chatgpt|claude)\b", _I
)
_FENCE = re.compile("```")
_NEARBY = 600  # characters: how far corroborating evidence may be
_CONTEXT_CAP = 500  # hits per text that get context scoring
_OPENERS = {'"': '"', "“": "”", "'": "'", "‘": "’", "«": "»", "`": "`", "„": "“"}
_OPEN_BLOCKERS = frozenset(":[{,=")


def _clamp(score: float) -> float:
    return 0.01 if score < 0.01 else 0.99 if score > 0.99 else score


def adjusted_scores(text: str, hits: list[Hit]) -> list[float]:
    """The final score of each hit in ``hits``: context-adjusted, corroborated, clamped."""
    fences = [m.start() for m in _FENCE.finditer(text)] if "```" in text else []
    # context costs a few hundred characters of regex work per hit; adversarially dense
    # input (thousands of hits) keeps raw scores past the cap so time stays linear and small
    scores = [
        _clamp(h.score + _context(text, h, fences))
        if h.contextual and i < _CONTEXT_CAP
        else _clamp(h.score)
        for i, h in enumerate(hits)
    ]
    # corroboration: another confident prompt-injection signal nearby raises a hit
    confident = sorted(h.start for h, sc in zip(hits, scores, strict=True) if sc >= FLAG_THRESHOLD)
    if confident:
        for i, hit in enumerate(hits):
            if not hit.contextual or scores[i] < 0.3 or hit.subtype in MALICIOUS:
                continue
            lo = bisect_right(confident, hit.start - _NEARBY - 1)
            hi = bisect_right(confident, hit.end + _NEARBY)
            if any(c < hit.start or c >= hit.end for c in confident[lo:hi]):
                scores[i] = _clamp(scores[i] + 0.1)
    return scores


def imperative(text: str, pos: int) -> float:
    """+0.1 when the phrase opens a sentence or clause (or follows ``please``/``you must``)."""
    s0, _ = _sentence(text, pos, pos)
    pre = text[s0:pos].rstrip(" \t'\"“‘`(")
    if _NEGATED.search(pre + " ") is not None:
        return 0.0
    return 0.1 if _CLAUSE_LEAD.search(pre) is not None else -0.1


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(0, start - 240)
    s0 = lo
    for b in BOUNDARY.finditer(text, lo, start):
        s0 = b.end()
    hi = min(len(text), end + 240)
    after = BOUNDARY.search(text, end, hi)
    s1 = after.end() if after is not None else hi
    return s0, s1


def _is_apostrophe(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return before.isalnum() and after.isalnum()


def _quoted(text: str, s0: int, start: int, end: int, s1: int, fences: list[int]) -> str | None:
    """``"code"`` or ``"quote"`` when the match sits in a short quotation or a code span."""
    if fences and bisect_right(fences, start) % 2 == 1:
        return "code"
    i = start - 1
    limit = max(s0 - 1, start - 40, -1)
    while i > limit:
        ch = text[i]
        if ch in _OPENERS:
            if ch in "'’" and _is_apostrophe(text, i):
                i -= 1
                continue
            before = text[i - 1] if i > 0 else " "
            if before.isalnum() or before in ".,!?;)]}":
                return None  # a closing quote: the match is outside any quotation
            j = i - 1
            while j >= 0 and text[j] in " \t":
                j -= 1
            if j >= 0 and text[j] in _OPEN_BLOCKERS and ch == '"':
                return None  # a JSON string or an attribute value: data, not a quotation
            closer = _OPENERS[ch]
            k = end
            stop = min(len(text), end + 60, s1 + 2)
            while k < stop:
                if text[k] == closer and not (closer == "'" and _is_apostrophe(text, k)):
                    return "code" if ch == "`" else "quote"
                k += 1
            return None
        i -= 1
    return None


def _is_title_case(phrase: str) -> bool:
    words = [w for w in phrase.split() if w.isalpha()]
    return len(words) >= 2 and all(w[0].isupper() and not w.isupper() for w in words)


def _context(text: str, hit: Hit, fences: list[int]) -> float:
    s0, s1 = _sentence(text, hit.start, hit.end)
    pre = text[s0 : hit.start]
    post = text[hit.end : s1]
    penalty = 0.0
    quoted = _quoted(text, s0, hit.start, hit.end, s1, fences)
    if quoted == "code":
        penalty += 0.25
    elif quoted == "quote":
        penalty += 0.2
    if quoted == "quote" and _is_title_case(text[hit.start : hit.end]):
        penalty += 0.15  # 'Ignore Previous Prompt: …' is the title of a paper
    meta_pre = len(_META.findall(pre))
    meta_post = len(_META.findall(post))
    if meta_pre:
        penalty += min(0.45, 0.3 + 0.1 * (meta_pre + meta_post - 1))
    elif meta_post:
        penalty += min(0.25, 0.15 + 0.05 * (meta_post - 1))
    if _REPORTED.search(pre) is not None:
        penalty += 0.25
    sentence = text[s0:s1].rstrip()
    if (
        sentence.endswith("?")
        and _DIRECT_REQUEST.search(pre) is None
        and (_QUESTION_LEAD.search(sentence) is not None or hit.subtype not in MALICIOUS)
    ):
        penalty += 0.3
    if _NEGATED.search(pre) is not None:
        penalty += 0.45
    bonus = 0.0
    if hit.subtype in (OVERRIDE, ROLE) and _DIRECTED.search(text, s0, s1) is not None:
        bonus += 0.05
    return bonus - min(0.55, penalty)
