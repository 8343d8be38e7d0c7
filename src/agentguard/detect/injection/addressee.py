"""``instruction_override``, second half: text aimed at the model that reads it — notes to
“any AI reading this”, “if you are an LLM …”, vocatives (“Assistant, ignore …”), secrecy from
the user (“do not tell the user”) and requests for the system prompt."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agentguard.detect.injection.common import OVERRIDE
from agentguard.detect.injection.context import imperative

if TYPE_CHECKING:
    from agentguard.detect.injection.scan import Scan

_I = re.IGNORECASE

_DONT_TELL = re.compile(
    r"(?:(?P<neg>do\s+not|don't|dont|never|must\s+not|should\s+not|shouldn't|mustn't)\s+"
    r"(?:\w+\s+)?|(?P<without>without)\s+)"
    r"(?:tell|telling|inform|informing|notify|notifying|mention|mentioning|reveal|revealing|"
    r"disclose|disclosing|alert|alerting|warn|warning|let|letting|show|showing)\s+"
    r"(?:(?:this|it|anything)\s+)?(?:to\s+)?the\s+user",
    _I,
)
_DONT_TELL_BACK = re.compile(
    r"(?:do\s+not|don't|dont|never|must\s+not|should\s+not|shouldn't|mustn't|without)\s+"
    r"(?:\w+\s+)?\w+\s+(?:(?:this|it|anything)\s+)?(?:to\s+)?$",
    _I,
)
_USER_OBJECT = re.compile(r"\s+(?:their|his|her|your|its|a|an|the)\b(?!\s+(?:about|that))", _I)
_AI_WORDS = (
    r"(?:ai|llm|large\s+language\s+models?|language\s+models?|assistants?|agents?|chatbots?|"
    r"bots?|(?:chat)?gpt|models?|claude|gemini|copilot)"
)
_AI_NOUN_AT = re.compile(_AI_WORDS + r"\b", _I)
_NOTE_BACK = re.compile(
    r"(?:note|message|instructions?|attention|important|reminder|memo|notice|p\.?\s?s\.?)\s*"
    r"(?P<to>(?:to|for)\s+)?(?:any\s+|all\s+|the\s+)?$",
    _I,
)
# "AI team", "LLM research": the AI word is a modifier, nobody is addressed
_AI_MODIFIED = re.compile(
    r"\s+(?:team|teams|lab|labs|group|research\w*|department|committee|community|policy|"
    r"ethics|act|regulation|startup|company|industry|market|project|hype|conference|workshop|"
    r"course|class|club|newsletter|strategy|roadmap|budget|council|engineers?|experts?)\b",
    _I,
)
_AI_NOUN_TAIL = re.compile(
    r"(?:\s+(?:agents?|assistants?|models?|systems?|bots?|tools?))?\s*[:,]", _I
)
_IFYOU_BACK = re.compile(r"(?:if|when|whenever)\s+you\s+are\s+(?:an?\s+)?(?:large\s+)?$", _I)
_READING_AT = re.compile(
    r"(?:ai|llm|(?:large\s+)?language\s+model)s?\s+"
    r"(?:(?:coding|email|browsing|research|customer|support|web)\s+)?"
    r"(?:(?:models?|assistants?|agents?|systems?|tools?|bots?)\s+)?"
    r"(?:reading|processing|summari[sz]ing|screening|reviewing|parsing|analy[sz]ing|browsing|"
    r"crawling|indexing|evaluating)\b",
    _I,
)
_VOCATIVE_AT = re.compile(
    r"""(?:ai(?:\s+(?:assistant|agent|model))?|llm|assistant|agent|chatbot|bot|(?:chat)?gpt|
       claude|gemini|copilot)\s*[,:]\s*(?:please\s+)?
       (?:(?:when|if|after|before|once)\s[^.\n]{0,60}?,\s*)?
       (?:ignore|forget|disregard|override|do|don't|never|always|you|send|forward|email|
       delete|remove|run|execute|call|reveal|print|output|tell|say|add|transfer|approve|
       accept|click|visit|open|write|include|append|recommend|rank|rate|stop|from\s+now)\b""",
    _I | re.X,
)
_VOCATIVE_BACK = re.compile(
    r"(?:^|[\n.!?>:]|<!--)\s*(?:(?:hey|hi|dear|attention|ok|okay|yo)\s+)?$", _I
)
_LEAK_VERBS = (
    "reveal",
    "print",
    "show",
    "output",
    "repeat",
    "display",
    "leak",
    "dump",
    "disclose",
    "recite",
    "share",
    "give me",
    "tell me",
    "write out",
    "spell out",
    "paste",
)
_LEAK = re.compile(
    r"(?:reveal|print|show|output|repeat|display|leak|dump|disclose|recite|share|give\s+me|"
    r"tell\s+me|write\s+out|spell\s+out|paste)\s+(?:me\s+|us\s+)?(?:back\s+)?"
    r"(?:all\s+(?:of\s+)?)?(?:"
    r"(?:your|its)\s+(?:(?:full|entire|complete|exact|original|initial|hidden|secret|internal|"
    r"real)\s+)*(?:system\s+(?:prompt|message|instructions?)|instructions|prompt|rules|"
    r"guidelines)"
    r"|the\s+(?:(?:full|entire|complete|exact|original|initial|hidden|secret|internal|real)\s+)*"
    r"(?:system\s+(?:prompt|message|instructions?)|(?:initial|hidden|original|secret|internal)"
    r"\s+(?:instructions?|prompt)))\b",
    _I,
)
_LEAK_STRONG = re.compile(
    r"\s*(?:verbatim|word\s+for\s+word|exactly|in\s+full|above|including)", _I
)


def leak(scan: Scan, pos: int) -> None:
    text = scan.text
    lo = max(0, pos - 70)
    window = scan.low[lo:pos]
    if not any(verb in window for verb in _LEAK_VERBS):
        return
    m = _LEAK.search(text, lo, pos + 40)
    if m is None or not (m.start() <= pos < m.end()):
        return
    score = 0.6
    if _LEAK_STRONG.match(text, m.end()):
        score = 0.75
    scan.add(OVERRIDE, m.start(), m.end(), score + imperative(text, m.start()))


def the_user(scan: Scan, pos: int) -> None:
    text = scan.text
    lo = max(0, pos - 40)
    window = scan.low[lo:pos]
    if not ("not" in window or "n't" in window or "never" in window or "without" in window):
        return
    back = _DONT_TELL_BACK.search(text, lo, pos)
    if back is None:
        return
    m = _DONT_TELL.match(text, back.start())
    if m is None or m.end() != pos + len("the user"):
        return
    if m.group("without") is not None:
        score = 0.45
    elif _USER_OBJECT.match(text, m.end()) is not None:
        score = 0.4
    else:
        score = 0.7
    scan.add(OVERRIDE, m.start(), m.end(), score)


def addressee(scan: Scan, pos: int) -> None:
    """Text addressed to a model: "Note to any AI …", "If you are an LLM …", "AI agents
    reading this …", "Assistant, ignore …"."""
    text = scan.text
    low = scan.low
    if pos >= 4 and low.startswith("chatgpt", pos - 4):
        pos -= 4
    if pos > 0 and low[pos - 1].isalpha():
        return
    noun = _AI_NOUN_AT.match(text, pos)
    if noun is None:
        return
    if _AI_MODIFIED.match(text, noun.end()) is not None:
        return
    lo = max(0, pos - 40)
    window = low[lo:pos]
    note = _NOTE_BACK.search(text, lo, pos)
    if note is not None and (
        note.group("to") is not None or _AI_NOUN_TAIL.match(text, noun.end()) is not None
    ):
        scan.add(OVERRIDE, note.start(), noun.end(), 0.65)
        return
    if "you are" in window:
        ifyou = _IFYOU_BACK.search(text, lo, pos)
        if ifyou is not None:
            scan.add(OVERRIDE, ifyou.start(), noun.end(), 0.7)
            return
    if low.startswith(("ai", "llm", "language", "large"), pos):
        reading = _READING_AT.match(text, pos)
        if reading is not None:
            scan.add(OVERRIDE, pos, reading.end(), 0.65)
            return
    vocative = _VOCATIVE_AT.match(text, pos)
    if vocative is not None:
        back = _VOCATIVE_BACK.search(text, max(0, pos - 24), pos)
        if back is not None:
            start = back.start()
            while start < pos and text[start] in " \t\n\r.!?>:-<":
                start += 1
            scan.add(OVERRIDE, start, vocative.end(), 0.7)
