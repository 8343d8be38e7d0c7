"""``instruction_override``, first half: attempts to reset the model's instructions —
“ignore all previous instructions”, “previous instructions are void”, “new instructions:”,
“pretend you are … without restrictions”, “you are now DAN”, “from now on you will …”, and a
few German, Spanish, French and Italian forms. Text aimed at the model in other ways is in
:mod:`agentguard.detect.injection.addressee`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentguard.detect.injection.addressee import leak
from agentguard.detect.injection.common import OVERRIDE, start_of_line
from agentguard.detect.injection.context import BOUNDARY, imperative
from agentguard.detect.injection.roles import role_with_vocab

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

_I = re.IGNORECASE

_VERB = (
    r"(?:ignor(?:e|es|ed|ing)|disregard(?:s|ed|ing)?|forget(?:s|ting)?|forgot|"
    r"overrid(?:e|es|ing)|overrode|bypass(?:es|ed|ing)?|set\s+aside|discard(?:s|ed|ing)?)"
)
_NOUN = (
    r"(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|guidance|"
    r"commands?|context|constraints?|restrictions?|polic(?:y|ies)|programming|filters?|"
    r"safeguards?|limitations?|guardrails?|criteria)"
)
_ADJ_STRONG_RE = re.compile(
    r"previous|prior|above|earlier|preceding|foregoing|former|aforementioned"
)
_ADJ_SYS_RE = re.compile(r"system|developer|safety|security|content|hidden|core|base|internal")
_SCOPED = re.compile(
    r"\s+(?:about|regarding|concerning|for|on|re:?)\s+(?:the|my|our|this|that|your)\s+\w", _I
)
_TRAILING_PRIOR = re.compile(
    r"\s+(?:above|before|earlier|previously|so\s+far|you\s+(?:were|have\s+been)\s+given)\b", _I
)
_INSTRUCTION_HEADER = re.compile(r"instructions?[ \t]*:", _I)
_ADJ_STRONG = (
    r"(?:previous(?:ly\s+given)?|prior|above|earlier|preceding|foregoing|former|"
    r"aforementioned)"
)
_ADJ_SYS = r"(?:system|developer|safety|security|content|hidden|core|base|internal)"
_ADJ_WEAK = r"(?:original|initial|old|existing|current|default|given|standing|first)"
_QUANT = (
    r"(?:(?:all|any|every|each|the|of|your|my|these|those|its|their|such|our|this|that)\s+){0,3}"
)

_OVERRIDE_AT = re.compile(
    rf"""
    {_VERB}\s+
    (?:
        (?P<q>{_QUANT})
        (?P<adj>(?:(?:{_ADJ_STRONG}|{_ADJ_SYS}|{_ADJ_WEAK}|all)\s+){{1,2}})
        {_NOUN}\b
      | (?P<det>your|all|any|the|these|those|my|its)\s+(?:(?:own|given|stated)\s+)?{_NOUN}\b
      | (?P<poss>(?:the\s+|your\s+)?[\w-]+'s\s+(?:own\s+)?){_NOUN}\b
      | (?P<hijack>(?:the|this|that|your|all|any|my)\s+(?:[\w-]+\s+){{0,2}}?(?:task|request|
            question|text|document|email|content|summary|article|above|input|translation|
            assignment)\s*(?:,\s*)?(?:and|then)\s+(?:instead|just|only|simply)\b)
      | (?:about\s+)?(?:all\s+(?:of\s+)?)?(?P<every>everything|anything|all(?:\s+of\s+that)?|
            what(?:ever)?(?:\s+[\w']+){{0,3}}?)
        \s+(?:you\s+)?(?:(?:were|was|have\s+been|'ve\s+been|had\s+been|got|are|have)\s+)?
        (?:told|given|said|instructed|taught|programmed|above|before|previously|earlier|
           so\s+far|prior)\b
      | (?:all\s+(?:of\s+)?)?the\s+(?P<bare>above|previous|preceding|foregoing)
        (?=\s*(?:[,.;:!]|and\b|$))
    )
    """,
    _I | re.X,
)
_CANCELLED = re.compile(
    r"(?:previous|prior|above|earlier|original|old|all|initial)\s+(?:system\s+)?"
    r"(?:instructions?|guidance|guidelines|rules|directives?|prompts?|programming)\s+"
    r"(?:(?:are|were|is|has\s+been|have\s+been)\s+)?(?:now\s+)?(?:all\s+)?"
    r"(?:cancel+ed|void|invalid|obsolete|revoked|replaced|superseded|overridden|null|"
    r"irrelevant|no\s+longer\s+(?:apply|applies|valid|relevant|in\s+effect|active|matters?|"
    r"needed|binding))",
    _I,
)
_PRETEND = re.compile(
    r"(?:pretend|imagine|act\s+as\s+if)\s+(?:that\s+)?(?:you\s+are|you're|to\s+be)\s+"
    r"[^.\n]{0,60}?\b(?:without\s+(?:any\s+)?(?:restrictions|rules|filters|limits|"
    r"guidelines|censorship|ethics)|no\s+(?:restrictions|rules|filters|limits|guidelines)|"
    r"unrestricted|unfiltered|uncensored|jailbroken|evil|dan)\b",
    _I,
)
_NEW_INSTRUCTIONS = re.compile(
    r"(?:new|updated|revised|real|actual|true|important|additional|secret|hidden|special|"
    r"urgent|override|priority)\s+(?:system\s+)?instructions?\s*(?::|-{1,2}|—)",
    _I,
)
_INSTRUCTIONS_FOR_AI = re.compile(
    r"instructions?\s+(?:for|to)\s+(?:the\s+|any\s+|all\s+)?(?:ai|llm|assistant|agent|"
    r"model|chatbot|bot|language\s+model)s?\b",
    _I,
)
_YOU_ARE_NOW = re.compile(
    r"""you(?:\s+are|'re)\s+now\s+
    (?:
        (?P<mode>(?:in\s+|an?\s+)?(?:dan|developer|god|jailbr\w*|unrestricted|unfiltered|
            uncensored|evil|admin|root|debug|sudo|maintenance|unlocked)\b(?:\s+mode)?
          | no\s+longer\s+(?:bound|restricted|an?\s+(?:ai|assistant)|required|limited|
            following)
          | free\s+(?:from|of)\s
          | (?:allowed|authori[sz]ed|permitted|able|required|expected)\s+to\b
          | (?:called|named|known\s+as)\s
          | (?:a|an|my|the|our)\s+(?:[\w-]+\s+){0,3}?(?:ai|assistant|model|chatbot|bot|
            language\s+model|agent|persona|character|hacker)\b)
      | (?P<weak>(?:a|an)\s+\w+)
    )""",
    _I | re.X,
)
_FROM_NOW_ON = re.compile(
    r"from\s+now\s+on,?\s+(?:(?P<you>you(?:'ll|\s+(?:will|must|shall|should|are\s+going\s+to|"
    r"need\s+to|may|can|are)))|(?P<imp>respond|reply|answer|act|always|only|ignore|do\s+not|"
    r"don't|never|speak|talk|behave|output|pretend|forward|send))\b",
    _I,
)
_MODEL_VERBS = re.compile(
    r"\b(?:respond\w*|repl(?:y|ies)|answer\w*|act(?:ing)?\s+as|pretend\w*|output\w*|say|speak|"
    r"talk|behave|refuse|obey|comply|follow|ignore|forward\w*|send|reveal|write|role-?play|"
    r"generate|print|include|append|bcc|cc|disregard|be\s+(?:an?|my)\b|unfiltered|"
    r"unrestricted|without\s+(?:any\s+)?(?:warnings?|restrictions?|filters?|rules))\b",
    _I,
)
_FOREIGN_IGNORE = ("ignorier", "ignora", "ignoren", "ignorez", "ignore toutes", "ignore tous")
_FOREIGN = re.compile(
    r"(?:ignoriere|ignorieren|vergiss|vergessen|missachte\w*|ignora|ignoren|olvida|olvide|"
    r"oublie|oubliez|ignorez|dimentica|dimenticate|ignore(?=\s+(?:toutes|tous|les)\b))\s+"
    r"(?:[\w\u00c0-\u024f]+\s+){0,3}"
    r"(?:anweisungen|instruktionen|instrucciones|instructions|istruzioni)\b",
    _I,
)


def override_verb(scan: Scan, pos: int) -> None:
    text = scan.text
    if pos > 0 and text[pos - 1].isalpha():
        return
    if scan.low.startswith("forg", pos) and not scan.low.startswith(("forget", "forgot"), pos):
        return
    m = _OVERRIDE_AT.match(text, pos)
    if m is None:
        if scan.low.startswith(_FOREIGN_IGNORE, pos):
            foreign(scan, pos)  # ignoriere / ignora / ignorez … (Italian has no noun anchor)
        return
    if m.group("adj") is not None:
        adj = m.group("adj").lower()
        quant = (m.group("q") or "").lower()
        words = quant.split()
        if _ADJ_STRONG_RE.search(adj) or "all" in words or "your" in words:
            score = 0.8
        elif _ADJ_SYS_RE.search(adj):
            score = 0.75
        else:
            score = 0.5  # "override the default command"
        if "my" in words or "our" in words:
            score -= 0.35
    elif m.group("det") is not None:
        det = m.group("det").lower()
        score = 0.7 if det in ("your", "all", "any", "its") else 0.3 if det == "my" else 0.35
        if _TRAILING_PRIOR.match(text, m.end()) is not None:
            score = max(score, 0.75)  # "ignore the instructions above"
    elif m.group("every") is not None:
        score = 0.75
    elif m.group("poss") is not None:
        score = 0.5
    elif m.group("hijack") is not None:
        score = 0.7
    else:
        score = 0.6
    if _SCOPED.match(text, m.end()) is not None:
        score -= 0.2  # "… instructions about the catering order": a correction, not a reset
    scan.add(OVERRIDE, pos, m.end(), score + imperative(text, pos))


def instruction_word(scan: Scan, pos: int) -> None:
    text = scan.text
    if not scan.low.startswith("instruction", pos):
        foreign(scan, pos)  # instrucciones, instruktionen
        return
    lo = max(0, pos - 60)
    m = _NEW_INSTRUCTIONS.search(text, lo, pos + 30)
    if m is not None and m.start() <= pos < m.end():
        scan.add(OVERRIDE, m.start(), m.end(), 0.65)
    m = _INSTRUCTIONS_FOR_AI.match(text, pos)
    if m is not None:
        scan.add(OVERRIDE, m.start(), m.end(), 0.6)
    cancelled(scan, pos)
    foreign(scan, pos)
    leak(scan, pos)
    # "### Instruction:" (an Alpaca-style turn header)
    line_start = start_of_line(text, pos)
    prefix = text[line_start:pos].strip()
    if prefix.startswith("##") and prefix.strip("#") == "":
        tail = _INSTRUCTION_HEADER.match(text, pos)
        if tail is not None:
            role_with_vocab(scan, line_start, tail.end(), 0.5)


def cancelled(scan: Scan, pos: int) -> None:
    """ "Previous instructions are void", "your earlier guidance no longer matters"."""
    m = _CANCELLED.search(scan.text, max(0, pos - 60), pos + 90)
    if m is not None and m.start() <= pos < m.end():
        scan.add(OVERRIDE, m.start(), m.end(), 0.75)


def pretend(scan: Scan, pos: int) -> None:
    m = _PRETEND.match(scan.text, pos)
    if m is not None:
        scan.add(OVERRIDE, pos, m.end(), 0.7 + imperative(scan.text, pos))


def foreign(scan: Scan, pos: int) -> None:
    m = _FOREIGN.search(scan.text, max(0, pos - 80), pos + 20)
    if m is not None and m.start() <= pos < m.end() + 1:
        scan.add(OVERRIDE, m.start(), m.end(), 0.75 + imperative(scan.text, m.start()))


def you_are_now(scan: Scan, pos: int) -> None:
    low = scan.low
    if pos >= 5 and low.startswith("you a", pos - 5):
        pos -= 5
    elif pos >= 4 and low.startswith("you'", pos - 4):
        pos -= 4
    else:
        return
    m = _YOU_ARE_NOW.match(scan.text, pos)
    if m is None:
        return
    if m.group("weak") is not None:
        scan.add(OVERRIDE, pos, m.end(), 0.35)
        return
    score = 0.85 if m.group("mode") is not None else 0.7
    scan.add(OVERRIDE, pos, m.end(), score)


def from_now_on(scan: Scan, pos: int) -> None:
    text = scan.text
    m = _FROM_NOW_ON.match(text, pos)
    if m is None:
        return
    stop = BOUNDARY.search(text, m.end(), m.end() + 160)
    s1 = stop.start() if stop is not None else min(len(text), m.end() + 160)
    aimed = _MODEL_VERBS.search(text, m.end(), s1) is not None or m.group("imp") is not None
    # "from now on you will receive invoices by email" is not aimed at a model
    scan.add(OVERRIDE, pos, m.end(), 0.75 if aimed else 0.4)
