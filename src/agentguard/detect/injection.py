"""Prompt-injection and malicious-input detection.

Two finding types:

``PROMPT_INJECTION``
    ``instruction_override`` (“ignore all previous instructions”, “new instructions:”, “you
    are now …”, “from now on you will …”, “do not tell the user”, notes addressed to “any AI
    reading this”, requests to reveal the system prompt), ``role_spoofing`` (fake turns and
    chat-template tokens: ``SYSTEM:`` at a line start, ``<|im_start|>system``, ``[INST]``,
    ``### Instruction:``, ``</user><system>``, ``{"role": "system"}``), ``hidden_text``
    (zero-width characters, bidi overrides, Unicode tag characters U+E0000–E007F, whose
    decoded text is scanned in turn; the rest of the text is scanned with the invisible
    characters removed, so ``ig<U+200B>nore`` still reads “ignore”; joiners inside emoji or
    joining scripts, LRM/RLM in right-to-left text and tag-sequence flags are legitimate and
    ignored), ``exfiltration`` (markdown images and links, and
    HTML ``<img>``, whose URL carries data to a host outside ``allowed_hosts``) and
    ``encoded_payload`` (base64 or hex blocks of 24+ characters that decode to text which
    itself contains an injection).
``MALICIOUS_INPUT``
    ``path_traversal``, ``shell_injection``, ``sql_injection``. :meth:`InjectionDetector.detect`
    reports only high-confidence forms of these in free text (encoded traversal, ``../`` runs
    reaching ``/etc/passwd``, ``; rm -rf``, ``$(curl …)``, ``/dev/tcp``, ``' OR '1'='1``,
    ``'; DROP TABLE``); :func:`detect_in_argument` applies the strict checks that only make
    sense for a value of a known kind (any ``..`` segment in a path, any command separator or
    substitution in a shell word, any quote break in a SQL literal).

Scoring. Every candidate starts from a base score for its pattern, then the sentence around
it moves the score. The aim is that text *about* injection — questions, articles, policies,
code reviews, tutorials — stays below 0.5 while the same words aimed at the model do not:

* quoted (``"…"``, ``'…'``, ``“…”``, a backtick span or a fenced code block): −0.2 to −0.25;
* meta-discourse in the sentence (“prompt injection”, “attack”, “such as”, “example”,
  “explains”, “payload”, “tutorial”, “detect”, …): −0.3 or more when it precedes the match,
  −0.15 when it only follows;
* reported speech (“says”, “typed”, “tells the model to”): −0.25;
* question form (the sentence ends with “?” and is not “can you …”): −0.3;
* negation (“never ignore”, “must not reveal”): −0.45;
* imperative position (sentence or clause start, after ``please``/``you must``/a label such
  as ``IMPORTANT:``): +0.1, an override verb in mid-clause (“my kid typed ignore …”): −0.1;
  second person or a model addressed (``you``, ``assistant``, ``AI``): +0.05;
* corroboration, another confident prompt-injection finding within 600 characters: +0.1
  (fake ``user:`` turn next to a fake ``system:`` turn, an override next to a role token).

Penalties are capped at −0.55, so a blatant attack wrapped in one “example” word stays
visible. Hidden characters, encoded payloads and typed-argument findings are not moved by
context: an invisible instruction is never “about” anything. Findings below ``min_score``
(default 0.25) are dropped; :data:`FLAG_THRESHOLD` (0.5) is the line for acting on one.

Speed. Text is case-folded once (length-preserving). About twenty trigger keywords are
located with ``str.find``; one compiled alternation, whose every branch starts with a literal
character, finds the punctuation triggers (``![``, ``<|``, ``../``, ``$(``, a quote before
``OR``/``UNION``…); a second pattern finds base64/hex candidates; the hidden-character class
runs only on non-ASCII text. Each trigger runs one anchored pattern at its own offset, so
ordinary text costs a handful of C-level scans (25–30 MB/s on one core for English prose and
markdown). A single alternation of all triggers measured 7–15 MB/s in CPython's ``re``,
which tries every branch at every letter. Work per trigger is bounded (400-character line
look-back, context scoring for the first 500 hits), so adversarially dense input stays
linear.

Known limits: paraphrases without trigger words (“set aside what you were told” is covered,
“the real task is …” is not), languages beyond a few German/Spanish/French/Italian forms,
homoglyph and NFKC (full-width) obfuscation, URL-encoded or rot13 payloads, reference-style
markdown images, and attacks that are pure social engineering.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from agentguard.detect.base import Finding

__all__ = [
    "ARGUMENT_KINDS",
    "FLAG_THRESHOLD",
    "MALICIOUS_INPUT",
    "MALICIOUS_SUBTYPES",
    "NAME",
    "PROMPT_INJECTION",
    "PROMPT_INJECTION_SUBTYPES",
    "InjectionDetector",
    "detect_in_argument",
]

NAME = "injection"
PROMPT_INJECTION = "PROMPT_INJECTION"
MALICIOUS_INPUT = "MALICIOUS_INPUT"
PROMPT_INJECTION_SUBTYPES = (
    "instruction_override",
    "role_spoofing",
    "hidden_text",
    "exfiltration",
    "encoded_payload",
)
MALICIOUS_SUBTYPES = ("path_traversal", "shell_injection", "sql_injection")
ARGUMENT_KINDS = frozenset({"path", "shell", "sql", "text"})
#: a finding at or above this score is meant to be acted on
FLAG_THRESHOLD = 0.5

_OVERRIDE = "instruction_override"
_ROLE = "role_spoofing"
_HIDDEN = "hidden_text"
_EXFIL = "exfiltration"
_ENCODED = "encoded_payload"
_PATH = "path_traversal"
_SHELL = "shell_injection"
_SQL = "sql_injection"
_MALICIOUS = frozenset({_PATH, _SHELL, _SQL})

_I = re.IGNORECASE


@dataclass(slots=True)
class _Hit:
    subtype: str
    start: int
    end: int
    score: float
    contextual: bool = True
    in_word: bool = False

    @property
    def type(self) -> str:
        return MALICIOUS_INPUT if self.subtype in _MALICIOUS else PROMPT_INJECTION


def _clamp(score: float) -> float:
    return 0.01 if score < 0.01 else 0.99 if score > 0.99 else score


def _fold(text: str) -> str:
    """Lower-case without changing any offset (U+0130 is the one code point whose
    lower-case form is two characters)."""
    if not text.isascii() and "\u0130" in text:
        text = text.replace("\u0130", "I")
    return text.lower()


# --------------------------------------------------------------------------- vocabulary

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
_FOREIGN_IGNORE = ("ignorier", "ignora", "ignoren", "ignorez", "ignore toutes", "ignore tous")
_FOREIGN = re.compile(
    r"(?:ignoriere|ignorieren|vergiss|vergessen|missachte\w*|ignora|ignoren|olvida|olvide|"
    r"oublie|oubliez|ignorez|dimentica|dimenticate|ignore(?=\s+(?:toutes|tous|les)\b))\s+"
    r"(?:[\w\u00c0-\u024f]+\s+){0,3}"
    r"(?:anweisungen|instruktionen|instrucciones|instructions|istruzioni)\b",
    _I,
)

# role spoofing
_AFTER_BLOCK_TAG = re.compile(r"<(?:p|div|li|br|td|span|h[1-6])\b[^<>]*>\s*$", _I)
_LINE_PREFIX = re.compile(r"(?:[ \t>*#_|\[(\-=~•]|<[a-zA-Z][^>\n]{0,80}>)*")
_LABEL_TAIL = re.compile(
    r"(?:[ \t]+(?:prompt|message|note|notice|instructions?|override|update|alert|directive|"
    r"command|administrator|admin))?[ \t]*[\])]?[ \t]*:",
    _I,
)
# an upper-case qualified label may also end with a dash: "SYSTEM OVERRIDE - …"
_UPPER_LABEL_TAIL = re.compile(
    r"[ \t]+(?:PROMPT|MESSAGE|NOTE|NOTICE|INSTRUCTIONS?|OVERRIDE|UPDATE|ALERT|DIRECTIVE|"
    r"COMMAND)[ \t]*(?::|[-—–]\s)"
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

# context
_BOUNDARY = re.compile(
    r"(?<!\be\.g)(?<!\bi\.e)[.!?](?=\s|$)|\n|<!--|-->|"
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
_LINE_LOOKBACK = 400  # characters
_OPENERS = {'"': '"', "“": "”", "'": "'", "‘": "’", "«": "»", "`": "`", "„": "“"}
_OPEN_BLOCKERS = frozenset(":[{,=")

# exfiltration
_MD_IMAGE = re.compile(r"!\[[^\]\n]{0,300}\]\(\s*<?([^\s)]{1,2000})")
_MD_LINK = re.compile(r"\]\(\s*<?(https?://[^\s)]{1,2000})", _I)
_HTML_IMG = re.compile(r"<img\b[^>]{0,400}?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", _I)
_PLACEHOLDER = re.compile(
    r"\{\{?\s*[A-Za-z_][\w .-]*\}\}?|\[[A-Z][A-Z0-9_' -]{2,}\]?|<[A-Za-z_][\w ]{0,30}>|"
    r"\$\{?[A-Za-z_]\w*\}?|\.\.\.|…|%7B[A-Za-z_]",
)
# upper-case words that stand for data only inside a query (HISTORY.md is a file name)
_PLACEHOLDER_WORD = re.compile(
    r"INSERT|PASTE|YOUR_|_HERE|SUMMARY|HISTORY|CONVERSATION|SECRET|PASSWORD|API_KEY|TOKEN|"
    r"USER_|EMAIL"
)
_STRONG_PARAMS = frozenset(
    {
        *("secret", "token", "password", "passwd", "pw", "pass", "key", "apikey", "api_key"),
        *("session", "sessionid", "cookie", "creds", "credentials", "conv", "conversation"),
        *("chat", "history", "memory", "context", "leak", "exfil", "payload", "data", "dump"),
        *("ssn", "email", "mail", "summary", "prompt", "subject", "body", "content"),
        *("message", "msg", "text", "steal"),
    }
)
_BENIGN_PARAMS = frozenset(
    {
        *("style", "logo", "logocolor", "label", "color", "colora", "colorb", "w", "h"),
        *("width", "height", "size", "fit", "fm", "auto", "dpr", "format", "v", "ver"),
        *("version", "raw", "sanitize", "cacheseconds", "link", "branch", "theme", "q"),
        *("quality", "crop", "rect", "utm_source", "utm_medium", "utm_campaign"),
        *("utm_content", "utm_term", "ref", "page", "lang", "locale"),
    }
)
_DATA_VALUE = re.compile(r"[A-Za-z0-9+/=_-]{24,}|(?:%[0-9A-Fa-f]{2}[^%&]*){3,}|@|%40")
_EXFIL_CONTEXT = re.compile(
    r"\b(?:render|display|include|append|output|replace|fill\s+in|substitute|insert|embed|"
    r"url-?encode|base64|the\s+user'?s|conversation|chat|summary|reply|answer)\b",
    _I,
)

# encoded payloads
_B64_TRIGGER = re.compile(r"[A-Z0-9][A-Za-z0-9+/_-]{19}")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2})+")

# hidden characters
# one character, not a run: with "+" CPython's re loses its fast character-class loop
_HIDDEN_CHAR = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u180e\u061c\U000e0000-\U000e007f]"
)
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")

# malicious input
_TRAVERSAL = re.compile(
    r"(?:(?:\.|%2e|%252e|%c0%ae|%e0%80%ae|%u002e){2,4}"
    r"(?:/|\\|%2f|%5c|%252f|%255c|%c0%af|%c1%9c|%e0%80%af|%u2215)+)+",
    _I,
)
_DOT_PAIR = re.compile(r"\.\.|%2e%2e|%252e%252e|(?:%c0%ae){2}|\.%2e|%2e\.", _I)
_SENSITIVE = re.compile(
    r"(?:^|[/\\])(?:etc[/\\](?:passwd|shadow|group|sudoers|hosts|crontab|ssh)|proc[/\\]self|"
    r"root[/\\]|\.ssh[/\\]|\.aws[/\\]|\.gnupg|\.kube[/\\]config|\.docker[/\\]config|"
    r"\.env\b|\.git[/\\]config|id_rsa|id_ed25519|\.htpasswd|wp-config\.php|web\.config|"
    r"boot\.ini|win\.ini|windows[/\\]system32|system32[/\\]config|var[/\\]run[/\\]docker\.sock|"
    r"\.bash_history|\.netrc|\.pgpass)",
    _I,
)
_ABSOLUTE = re.compile(r"^(?:file://|~[/\\]|/|[A-Za-z]:[/\\]|\\\\)", _I)
_SHELL_CMD = (
    r"(?:sudo\s+)?(?:rm|curl|wget|nc|ncat|netcat|bash|sh|zsh|ksh|dash|python\d?|perl|ruby|php|"
    r"chmod|chown|cat|echo|id|whoami|uname|ping|sleep|powershell|pwsh|cmd|certutil|base64|"
    r"eval|exec|kill|shutdown|reboot|mkfifo|telnet|scp|ssh|dd|mv|cp|touch|ls|env|export|"
    r"crontab|useradd|passwd|su|tee|xargs|awk|sed|find|tar|openssl|socat|tftp|ftp|nslookup|"
    r"dig|node|lua|java|bitsadmin|mshta|rundll32|regsvr32|net|reg|wmic|systemctl|iex)\b"
)
_SHELL_OP = re.compile(r";|&&|\|\||\||\n|\r|&(?=\s*\S)")
_SHELL_OP_CMD = re.compile(r"\s*" + _SHELL_CMD, _I)
_SHELL_SUBST = re.compile(r"\$\([^)]*\)?|`[^`]+`?|<\([^)]*\)|\$\{[^}]*\}?")
_SHELL_REDIRECT = re.compile(r"\d?>{1,2}\s*&?\s*([^\s;&|]+)")
_SHELL_DANGER = re.compile(
    r"\brm\s+-[a-z]*[rf][a-z]*\s+(?:/|~|\*|\$HOME)|/dev/(?:tcp|udp)/|"
    r"\b(?:nc|ncat|netcat)\b[^\n;|]*\s-[a-z]*[ec]\b|\bbase64\s+(?:-d|--decode)\b[^\n]*\|\s*"
    r"(?:ba|z|da)?sh\b|\bmkfifo\b|\bchmod\s+(?:\+x|[0-7]*7[0-7]*)\b|"
    r"\b(?:curl|wget)\b[^\n|;]*\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b",
    _I,
)
_FREE_RM = re.compile(
    r"(?:;|&&?|\|\|?|\$\()[ \t]*(?:sudo\s+)?rm\s+-[a-z]*[rf][a-z]*\s+"
    r"(?:/(?=[\s*a-z]|$)|~|\*|\$HOME|\.\.?/)\S*"
)
_FREE_SUBST = re.compile(
    r"\$\(\s*(?:curl|wget|nc|ncat|bash|sh|python\d?|perl|rm|base64)[ \t]+[^)\n]{1,200}\)?"
)
_FREE_PIPE_SH = re.compile(
    r"(?:(?P<sep>(?:;|&&|\|\|)\s*)|\b)(?:curl|wget)\b[^\n|;`]{1,300}\|\s*(?:sudo\s+)?"
    r"(?:ba|z|da|k)?sh\b",
    _I,
)
_FREE_DECODE_SH = re.compile(r"base64\s+(?:-d|--decode)\b[^\n|]{0,40}\|\s*(?:ba|z|da)?sh\b", _I)
_FREE_NC = re.compile(r"\b(?:nc|ncat|netcat)\s+(?:-[a-z]+\s+)*-[a-z]*e\s+/bin/\w*sh\b", _I)
_FREE_DEVTCP = re.compile(r"(?:bash\s+-i\s+)?>?&?\s*/dev/(?:tcp|udp)/[\w.$-]+/[\w$]+", _I)
_FREE_SQL = re.compile(
    r"""['"`][\ \t]*\)*[\ \t]*(?:
        (?P<taut>(?:or|and)\s+(?:
            (?P<q0>['"]?)(?P<v0>\w+)(?P=q0)\s*=\s*(?P=q0)(?P=v0)(?P=q0)?
          | (?P<n0>\d+)\s*=\s*(?P=n0)\b
          | true\b
          | ""\s*=\s*"
          | ''\s*=\s*'))
      | (?P<stack>;[\ \t]*(?:drop|delete|truncate|alter|insert|update|shutdown|exec|execute)\b
            [^\n]{0,60})
      | (?P<union>union\s+(?:all\s+)?select\b[^\n]{0,80})
    )""",
    _I | re.X,
)
_FREE_DROP = re.compile(r"(?<=\S)[ \t]*;[ \t]*drop\s+(?:table|database)\s+\w+", _I)
_SQL_BREAK = re.compile(
    r"['\"`]\s*\)*\s*(?:(?:or|and|xor|\|\||&&)\s+[\w'\"(]|union\b|;|--|#|/\*|"
    r"order\s+by|group\s+by|having\b|limit\s+\d|into\s+(?:out|dump)file|procedure\b)",
    _I,
)
_SQL_TAUT = re.compile(
    r"\b(?:or|and)\s+(?:(\d+)\s*(?:=|<>|!=|>=|<=|like)\s*(?:\1\b|\d+)|true\b|"
    r"(['\"])(\w*)\2\s*=\s*\2\3\2?|(\w+)\s*=\s*\4\b)",
    _I,
)
_SQL_STACK = re.compile(
    r";\s*(?:drop|delete|truncate|alter|insert|update|create|exec|execute|shutdown|declare|"
    r"grant|revoke|merge|call|select)\b",
    _I,
)
_SQL_UNION = re.compile(r"\bunion\s+(?:all\s+|distinct\s+)?select\b", _I)
_SQL_FUNC = re.compile(
    r"\b(?:sleep|benchmark|pg_sleep|load_file|xp_cmdshell|sp_executesql|extractvalue|"
    r"updatexml|dbms_pipe\.receive_message|utl_http\.request)\s*\(|\bwaitfor\s+delay\b|"
    r"\binto\s+(?:out|dump)file\b",
    _I,
)
_SQL_META = re.compile(r"\binformation_schema\b|\bsqlite_master\b|\bpg_catalog\b|@@version", _I)


# --------------------------------------------------------------------------- scanning

_Handler = Callable[["_Scan", int], None]
_AI_WORD = re.compile(r"ai\b")


class _Scan:
    """One pass over one text: triggers → anchored checks → context → findings."""

    __slots__ = ("allowed", "b64_until", "depth", "hits", "low", "text", "traversal_until")

    def __init__(self, text: str, allowed: frozenset[str], depth: int = 0) -> None:
        self.text = text
        self.low = _fold(text)
        self.allowed = allowed
        self.depth = depth
        self.hits: list[_Hit] = []
        self.b64_until = -1
        self.traversal_until = -1

    # -- driver

    def run(self) -> None:
        text = self.text
        if not text.isascii() and _HIDDEN_CHAR.search(text) is not None:
            self._run_with_hidden()
            return
        self._run_plain()

    def _run_plain(self) -> None:
        low = self.low
        find = low.find
        for word, handler in _WORD_TRIGGERS:
            pos = find(word)
            while pos >= 0:
                handler(self, pos)
                pos = find(word, pos + 1)
        for m in _AI_WORD.finditer(low):
            self._ai_word(m.start())
        for m in _PUNCT_TRIGGER.finditer(self.text):
            _dispatch_punct(self, m)
        if self.depth < 2:
            for m in _B64_TRIGGER.finditer(self.text):
                if m.start() >= self.b64_until:
                    self._encoded(m.start())

    def _run_with_hidden(self) -> None:
        """Report the hidden characters, then scan the text with them removed (so that
        ``ig<U+200B>nore`` still reads ``ignore``) and map offsets back."""
        text = self.text
        # (position in the stripped text, characters removed up to and including that run)
        removed: list[tuple[int, int]] = []
        pieces: list[str] = []
        last = 0
        total = 0
        has_rtl = _RTL.search(text) is not None
        hidden_hits: list[_Hit] = []
        runs: list[list[int]] = []
        for m in _HIDDEN_CHAR.finditer(text):
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
            hidden_hits.extend(_classify_hidden(text, run_start, run_end, has_rtl, self))
        pieces.append(text[last:])
        stripped = "".join(pieces)
        sub = _Scan(stripped, self.allowed, self.depth)
        sub._run_plain()
        keys = [r[0] for r in removed]

        def to_original(pos: int, is_end: bool) -> int:
            # a removed run sitting exactly at `pos` lies after an end and before a start
            i = bisect_right(keys, pos - 1 if is_end else pos) - 1
            return pos + (removed[i][1] if i >= 0 else 0)

        in_word = sum(1 for h in hidden_hits if h.in_word)
        for hit in sub.hits:
            start = to_original(hit.start, False)
            end = to_original(hit.end, True)
            if end - start != hit.end - hit.start:
                # the finding spans removed characters: an obfuscated injection
                for h in hidden_hits:
                    if start <= h.start < end:
                        h.score = max(h.score, 0.9)
            self.hits.append(_Hit(hit.subtype, start, end, hit.score, hit.contextual))
        if in_word >= 3:
            for h in hidden_hits:
                if h.in_word:
                    h.score = max(h.score, 0.7)
        self.hits.extend(hidden_hits)

    def add(
        self, subtype: str, start: int, end: int, score: float, contextual: bool = True
    ) -> None:
        self.hits.append(_Hit(subtype, start, end, score, contextual))

    # -- results

    def findings(self, min_score: float) -> list[Finding]:
        """Context-adjusted findings (the raw hits are left untouched)."""
        if not self.hits:
            return []
        hits = _dedupe(self.hits)
        text = self.text
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
        confident = sorted(
            h.start for h, sc in zip(hits, scores, strict=True) if sc >= FLAG_THRESHOLD
        )
        if confident:
            for i, hit in enumerate(hits):
                if not hit.contextual or scores[i] < 0.3 or hit.subtype in _MALICIOUS:
                    continue
                lo = bisect_right(confident, hit.start - _NEARBY - 1)
                hi = bisect_right(confident, hit.end + _NEARBY)
                if any(c < hit.start or c >= hit.end for c in confident[lo:hi]):
                    scores[i] = _clamp(scores[i] + 0.1)
        out = [
            Finding(h.type, h.start, h.end, round(sc, 3), NAME, h.subtype)
            for h, sc in zip(hits, scores, strict=True)
            if sc >= min_score
        ]
        out.sort(key=lambda f: (f.start, f.end, f.subtype or ""))
        return out

    def max_score(self) -> float:
        return max((f.score for f in self.findings(0.0)), default=0.0)

    # -- instruction override

    def _override_verb(self, pos: int) -> None:
        text = self.text
        if pos > 0 and text[pos - 1].isalpha():
            return
        if self.low.startswith("forg", pos) and not self.low.startswith(("forget", "forgot"), pos):
            return
        m = _OVERRIDE_AT.match(text, pos)
        if m is None:
            if self.low.startswith(_FOREIGN_IGNORE, pos):
                self._foreign(pos)  # ignoriere / ignora / ignorez … (Italian has no noun anchor)
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
        self.add(_OVERRIDE, pos, m.end(), score + _imperative(text, pos))

    def _instruction_word(self, pos: int) -> None:
        text = self.text
        if not self.low.startswith("instruction", pos):
            self._foreign(pos)  # instrucciones, instruktionen
            return
        lo = max(0, pos - 60)
        m = _NEW_INSTRUCTIONS.search(text, lo, pos + 30)
        if m is not None and m.start() <= pos < m.end():
            self.add(_OVERRIDE, m.start(), m.end(), 0.65)
        m = _INSTRUCTIONS_FOR_AI.match(text, pos)
        if m is not None:
            self.add(_OVERRIDE, m.start(), m.end(), 0.6)
        self._cancelled(pos)
        self._foreign(pos)
        self._leak(pos)
        # "### Instruction:" (an Alpaca-style turn header)
        line_start = _line_start(text, pos)
        prefix = text[line_start:pos].strip()
        if prefix.startswith("##") and prefix.strip("#") == "":
            tail = _INSTRUCTION_HEADER.match(text, pos)
            if tail is not None:
                self._role_with_vocab(line_start, tail.end(), 0.5)

    def _cancelled(self, pos: int) -> None:
        """ "Previous instructions are void", "your earlier guidance no longer matters"."""
        m = _CANCELLED.search(self.text, max(0, pos - 60), pos + 90)
        if m is not None and m.start() <= pos < m.end():
            self.add(_OVERRIDE, m.start(), m.end(), 0.75)

    def _pretend(self, pos: int) -> None:
        m = _PRETEND.match(self.text, pos)
        if m is not None:
            self.add(_OVERRIDE, pos, m.end(), 0.7 + _imperative(self.text, pos))

    def _foreign(self, pos: int) -> None:
        m = _FOREIGN.search(self.text, max(0, pos - 80), pos + 20)
        if m is not None and m.start() <= pos < m.end() + 1:
            self.add(_OVERRIDE, m.start(), m.end(), 0.75 + _imperative(self.text, m.start()))

    def _leak(self, pos: int) -> None:
        text = self.text
        lo = max(0, pos - 70)
        window = self.low[lo:pos]
        if not any(verb in window for verb in _LEAK_VERBS):
            return
        m = _LEAK.search(text, lo, pos + 40)
        if m is None or not (m.start() <= pos < m.end()):
            return
        score = 0.6
        if _LEAK_STRONG.match(text, m.end()):
            score = 0.75
        self.add(_OVERRIDE, m.start(), m.end(), score + _imperative(text, m.start()))

    def _you_are_now(self, pos: int) -> None:
        low = self.low
        if pos >= 5 and low.startswith("you a", pos - 5):
            pos -= 5
        elif pos >= 4 and low.startswith("you'", pos - 4):
            pos -= 4
        else:
            return
        m = _YOU_ARE_NOW.match(self.text, pos)
        if m is None:
            return
        if m.group("weak") is not None:
            self.add(_OVERRIDE, pos, m.end(), 0.35)
            return
        score = 0.85 if m.group("mode") is not None else 0.7
        self.add(_OVERRIDE, pos, m.end(), score)

    def _from_now_on(self, pos: int) -> None:
        text = self.text
        m = _FROM_NOW_ON.match(text, pos)
        if m is None:
            return
        stop = _BOUNDARY.search(text, m.end(), m.end() + 160)
        s1 = stop.start() if stop is not None else min(len(text), m.end() + 160)
        aimed = _MODEL_VERBS.search(text, m.end(), s1) is not None or m.group("imp") is not None
        # "from now on you will receive invoices by email" is not aimed at a model
        self.add(_OVERRIDE, pos, m.end(), 0.75 if aimed else 0.4)

    def _the_user(self, pos: int) -> None:
        text = self.text
        lo = max(0, pos - 40)
        window = self.low[lo:pos]
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
        self.add(_OVERRIDE, m.start(), m.end(), score)

    def _addressee(self, pos: int) -> None:
        """Text addressed to a model: "Note to any AI …", "If you are an LLM …", "AI agents
        reading this …", "Assistant, ignore …"."""
        text = self.text
        low = self.low
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
            self.add(_OVERRIDE, note.start(), noun.end(), 0.65)
            return
        if "you are" in window:
            ifyou = _IFYOU_BACK.search(text, lo, pos)
            if ifyou is not None:
                self.add(_OVERRIDE, ifyou.start(), noun.end(), 0.7)
                return
        if low.startswith(("ai", "llm", "language", "large"), pos):
            reading = _READING_AT.match(text, pos)
            if reading is not None:
                self.add(_OVERRIDE, pos, reading.end(), 0.65)
                return
        vocative = _VOCATIVE_AT.match(text, pos)
        if vocative is not None:
            back = _VOCATIVE_BACK.search(text, max(0, pos - 24), pos)
            if back is not None:
                start = back.start()
                while start < pos and text[start] in " \t\n\r.!?>:-<":
                    start += 1
                self.add(_OVERRIDE, start, vocative.end(), 0.7)

    def _ai_word(self, pos: int) -> None:
        low = self.low
        end = pos + 2
        if (pos > 0 and low[pos - 1].isalnum()) or (end < len(low) and low[end].isalnum()):
            return
        self._addressee(pos)
        self._role_label(pos, 2, 0.4)

    # -- role spoofing

    def _system_word(self, pos: int) -> None:
        self._role_label(pos, 6, 0.45)
        self._json_role(pos, 6)
        self._leak(pos)

    def _assistant_word(self, pos: int) -> None:
        self._role_label(pos, 9, 0.4)
        self._json_role(pos, 9)
        self._addressee(pos)

    def _developer_word(self, pos: int) -> None:
        self._role_label(pos, 9, 0.45)
        self._json_role(pos, 9)

    def _human_label(self, pos: int) -> None:
        self._role_label(pos, 5, 0.35)  # anchored on "human:"

    def _user_label(self, pos: int) -> None:
        self._role_label(pos, 4, 0.3)  # anchored on "user:"

    def _role_label(self, pos: int, length: int, base: float) -> None:
        """``SYSTEM:`` / ``assistant:`` at a line start (after markup), or an upper-case label
        right after a sentence end."""
        text = self.text
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
        line_start = _line_start(text, pos)
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
            prev_end = _line_start(text, line_start - 1)
            previous = text[prev_end : line_start - 1].rstrip()
            if previous and (previous[-1].isalnum() or previous[-1] in ",;("):
                base -= 0.15  # mid-paragraph: most likely prose wrapped before "system:"
        if tail.end() - end > 2 and text[end : tail.end()].strip(" \t:])").strip():
            base += 0.1  # "SYSTEM NOTICE:", "system message:"
        if "#" in prefix or "[" in prefix:
            base += 0.05
        low_role = word.lower() in ("user", "human")
        self._role_with_vocab(pos, tail.end(), base, cap=0.15 if low_role else 0.45)

    def _role_with_vocab(self, start: int, end: int, base: float, cap: float = 0.45) -> None:
        window = self.text[end : end + 250]
        strong = len(_ROLE_STRONG.findall(window))
        weak = len(_ROLE_WEAK.findall(window))
        score = base + min(cap, min(0.35, 0.2 * strong) + min(0.1, 0.05 * weak))
        self.add(_ROLE, start, end, score)

    def _role_tag(self, pos: int) -> None:
        text = self.text
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
        self._role_with_vocab(pos, m.end(), base)

    def _json_role(self, pos: int, length: int) -> None:
        text = self.text
        end = pos + length
        if end >= len(text) or text[end] not in "\"'" or pos < 8:
            return
        back = _JSON_ROLE_BACK.search(text, max(0, pos - 16), pos)
        if back is not None:
            self._role_with_vocab(back.start(), end + 1, 0.4)

    def _special_token(self, m: re.Match[str]) -> None:
        text = self.text
        line_start = _line_start(text, m.start())
        before = text[line_start : m.start()]
        words = [w for w in before.split() if _SPECIAL_TOKEN.fullmatch(w) is None]
        if words and text[m.end() : m.end() + 1] not in ("\n", ""):
            self._role_with_vocab(m.start(), m.end(), 0.5)  # mentioned inside a sentence
        else:
            self.add(_ROLE, m.start(), m.end(), 0.85)

    def _bracket_role(self, m: re.Match[str]) -> None:
        text = self.text
        b = _BRACKET_ROLE.match(text, m.start())
        if b is None:
            return
        inner = text[b.start() + 1 : b.end() - 1].strip()
        after = text[b.end() : b.end() + 2]
        labelled = after[:1] == ":" or (after[:1] == " " and after[1:2].isalpha())
        if " " in inner or (inner.isupper() and labelled) or after[:1] == ":":
            self._role_with_vocab(b.start(), b.end(), 0.5)  # not "[admin](https://…)"

    # -- exfiltration

    def _image(self, m: re.Match[str]) -> None:
        text = self.text
        if text[m.start()] == "!":
            img = _MD_IMAGE.match(text, m.start())
            if img is not None:
                self._url(img.group(1), m.start(), img.end(), image=True)
        else:
            tag = _HTML_IMG.match(text, m.start())
            if tag is not None:
                self._url(tag.group(1), m.start(), tag.end(), image=True)

    def _link(self, m: re.Match[str]) -> None:
        text = self.text
        link = _MD_LINK.match(text, m.start())
        if link is None:
            return
        bracket = text.rfind("[", max(0, m.start() - 300), m.start())
        if bracket < 0:
            return
        if bracket > 0 and text[bracket - 1] == "!":
            return  # an image: handled by _image
        self._url(link.group(1), bracket, link.end(), image=False)

    def _url(self, url: str, start: int, end: int, *, image: bool) -> None:
        if "?" not in url and "%20" not in url and len(url) < 48:
            return
        score = _url_risk(url, self.allowed, image=image)
        if score is None:
            return
        lo = max(0, start - 200)
        if _EXFIL_CONTEXT.search(self.text, lo, min(len(self.text), end + 120)) is not None:
            score += 0.1
        self.add(_EXFIL, start, end, score)

    # -- encoded payloads

    def _encoded(self, pos: int) -> None:
        text = self.text
        start = pos
        lo = max(0, pos - 200)
        while start > lo and text[start - 1] in _B64_CHARS:
            start -= 1
        run = _B64_RUN.match(text, start)
        assert run is not None
        end = run.end()
        self.b64_until = end
        token = text[start:end]
        if len(token) < 24:
            return
        decoded = _decode_token(token)
        if decoded is None:
            return
        sub = _Scan(decoded, self.allowed, self.depth + 1)
        sub.run()
        best = sub.max_score()
        if best >= FLAG_THRESHOLD:
            self.add(_ENCODED, start, end, max(0.8, best), contextual=False)

    # -- malicious input in free text (high confidence only)

    def _traversal(self, m: re.Match[str]) -> None:
        text = self.text
        if m.start() < self.traversal_until:
            return  # inside a run already examined
        t = _TRAVERSAL.match(text, m.start())
        if t is None:
            return
        self.traversal_until = t.end()
        run = t.group(0)
        units = max(1, len(_DOT_PAIR.findall(run)))
        encoded = "%" in run
        # the token the run belongs to (decoded, so that etc%2fpasswd is recognised too)
        end = t.end()
        limit = min(len(text), end + 80)
        while end < limit and not text[end].isspace() and text[end] not in "\"'<>)&;,":
            end += 1
        token = text[t.start() : end]
        target = _SENSITIVE.search(unquote(unquote(token)) if "%" in token else token)
        if target is None:
            end = t.end()
        if encoded and (units >= 2 or target is not None):
            score = 0.85 if target is not None else 0.75
        elif encoded:
            score = 0.45
        elif units >= 2 and target is not None:
            score = 0.8
        elif units >= 3:
            score = 0.4
        else:
            return
        self.add(_PATH, t.start(), end, score)

    def _subst(self, m: re.Match[str]) -> None:
        # only $(…): in prose `…` is far more often a markdown code span than a substitution
        f = _FREE_SUBST.match(self.text, m.start())
        if f is not None:
            self.add(_SHELL, f.start(), f.end(), 0.75)

    def _pipe_sh(self, m: re.Match[str]) -> None:
        text = self.text
        line_start = _line_start(text, m.start())
        lo = max(line_start, m.start() - 300)
        d = _FREE_DECODE_SH.search(text, lo, m.end())
        if d is not None:
            self.add(_SHELL, d.start(), d.end(), 0.7)
            return
        p = _FREE_PIPE_SH.search(text, lo, m.end())
        if p is None or p.end() != m.end():
            return
        self.add(_SHELL, p.start(), p.end(), 0.6 if p.group("sep") else 0.35)

    def _dev_tcp(self, m: re.Match[str]) -> None:
        text = self.text
        lo = max(0, m.start() - 12)
        d = _FREE_DEVTCP.search(text, lo, m.end() + 80)
        if d is not None:
            self.add(_SHELL, d.start(), d.end(), 0.8)

    def _rm(self, pos: int) -> None:
        r = _FREE_RM.match(self.text, pos)
        if r is not None:
            self.add(_SHELL, r.start(), r.end(), 0.8)

    def _bin_sh(self, pos: int) -> None:
        """``nc -e /bin/sh host port``: anchored on ``/bin/sh``, the netcat call is behind."""
        text = self.text
        line_start = _line_start(text, pos)
        n = _FREE_NC.search(text, max(line_start, pos - 80), pos + 12)
        if n is not None:
            self.add(_SHELL, n.start(), n.end(), 0.8)

    def _sql_quote(self, m: re.Match[str]) -> None:
        s = _FREE_SQL.match(self.text, m.start())
        if s is None:
            return
        if s.group("taut") is not None:
            self.add(_SQL, s.start(), s.end(), 0.75)
        else:
            self.add(_SQL, s.start(), s.end(), 0.8)

    def _drop(self, pos: int) -> None:
        d = _FREE_DROP.search(self.text, max(0, pos - 2), pos + 60)
        if d is not None:
            self.add(_SQL, d.start(), d.end(), 0.65)


def _line_start(text: str, pos: int) -> int:
    """Start of the line holding ``pos``, looking back at most ``_LINE_LOOKBACK`` characters
    (a longer line is cut there: bounded work per trigger keeps the scan linear)."""
    lo = max(0, pos - _LINE_LOOKBACK)
    nl = text.rfind("\n", lo, pos)
    return nl + 1 if nl >= 0 else lo


def _imperative(text: str, pos: int) -> float:
    """+0.1 when the phrase opens a sentence or clause (or follows ``please``/``you must``)."""
    s0, _ = _sentence(text, pos, pos)
    pre = text[s0:pos].rstrip(" \t'\"“‘`(")
    if _NEGATED.search(pre + " ") is not None:
        return 0.0
    return 0.1 if _CLAUSE_LEAD.search(pre) is not None else -0.1


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    lo = max(0, start - 240)
    s0 = lo
    for b in _BOUNDARY.finditer(text, lo, start):
        s0 = b.end()
    hi = min(len(text), end + 240)
    after = _BOUNDARY.search(text, end, hi)
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


def _context(text: str, hit: _Hit, fences: list[int]) -> float:
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
        and (_QUESTION_LEAD.search(sentence) is not None or hit.subtype not in _MALICIOUS)
    ):
        penalty += 0.3
    if _NEGATED.search(pre) is not None:
        penalty += 0.45
    bonus = 0.0
    if hit.subtype in (_OVERRIDE, _ROLE) and _DIRECTED.search(text, s0, s1) is not None:
        bonus += 0.05
    return bonus - min(0.55, penalty)


def _dedupe(hits: list[_Hit]) -> list[_Hit]:
    """Each chain of overlapping hits of one subtype collapses into its strongest hit."""
    out: list[_Hit] = []
    ordered = sorted(hits, key=lambda h: (h.subtype, h.start))
    best: _Hit | None = None
    reach = -1
    for hit in ordered:
        if best is not None and hit.subtype == best.subtype and hit.start < reach:
            reach = max(reach, hit.end)
            if hit.score > best.score:
                best = hit
            continue
        if best is not None:
            out.append(best)
        best, reach = hit, hit.end
    if best is not None:
        out.append(best)
    return out


# --------------------------------------------------------------------------- helpers


def _url_risk(url: str, allowed: frozenset[str], *, image: bool) -> float | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if host in allowed or any(host.endswith("." + a) for a in allowed):
        return None
    score = 0.4 if image else 0.25
    features = 0.0
    tail = url[url.find(host) + len(host) :] if host in url else parts.path
    data_part = parts.query + parts.fragment
    if (
        _PLACEHOLDER.search(tail.replace("...", "")) is not None
        or "..." in data_part
        or "…" in data_part
        or _PLACEHOLDER_WORD.search(data_part) is not None
    ):
        features += 0.45
    params = parse_qsl(parts.query, keep_blank_values=True)
    names = {k.lower() for k, _ in params}
    if names & _STRONG_PARAMS:
        features += 0.15
    values = [v for _, v in params if not v.startswith(("http://", "https://", "/"))]
    if any(_DATA_VALUE.search(v) or len(v) >= 40 for v in values) or (
        "%20" in parts.query or parts.query.count("+") >= 3
    ):
        features += 0.15
    for segment in parts.path.split("/"):
        stem = segment.split(".")[0]
        if len(stem) >= 24 and _decode_token(stem) is not None:
            features += 0.25  # the path itself carries encoded text
            break
        if segment.count("%20") >= 2:
            features += 0.15
            break
    if names and names <= _BENIGN_PARAMS and features < 0.3:
        features -= 0.2
    if features <= 0:
        return None
    return score + features


def _decode_token(token: str) -> str | None:
    """Base64 (standard or URL-safe) or hex decoded to mostly printable text, else ``None``."""
    raw: bytes
    if len(token) % 2 == 0 and _HEX_RUN.fullmatch(token) is not None:
        raw = binascii.unhexlify(token)
    else:
        body = token.rstrip("=")
        if not (any(c.isupper() for c in body) and any(c.islower() for c in body)):
            return None
        padded = body + "=" * (-len(body) % 4)
        try:
            if "-" in body or "_" in body:
                raw = base64.urlsafe_b64decode(padded)
            else:
                raw = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(decoded) < 12:
        return None
    printable = sum(1 for c in decoded if c.isprintable() or c in "\n\t\r")
    if printable < 0.95 * len(decoded) or " " not in decoded:
        return None
    return decoded


_TAG_BASE = 0xE0000


def _classify_hidden(text: str, start: int, end: int, has_rtl: bool, scan: _Scan) -> list[_Hit]:
    run = text[start:end]
    tags = [c for c in run if 0xE0020 <= ord(c) <= 0xE007E]
    if tags:
        decoded = "".join(chr(ord(c) - _TAG_BASE) for c in tags)
        prev = text[start - 1] if start > 0 else ""
        if prev == "\U0001f3f4" and re.fullmatch(r"[a-z0-9]{2,7}", decoded):
            return []  # a subdivision flag emoji (England, Scotland, Wales)
        if scan.depth < 2:
            sub = _Scan(decoded, scan.allowed, scan.depth + 1)
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
        return [_Hit(_HIDDEN, start, end, score, contextual=False)]
    hits: list[_Hit] = []
    zero_width = 0
    for offset, ch in enumerate(run):
        code = ord(ch)
        i = start + offset
        if code in (0x202D, 0x202E):
            hits.append(_Hit(_HIDDEN, i, i + 1, 0.45 if has_rtl else 0.75, contextual=False))
        elif 0x202A <= code <= 0x202C or 0x2066 <= code <= 0x2069:
            if not has_rtl:
                hits.append(_Hit(_HIDDEN, i, i + 1, 0.55, contextual=False))
        elif code in (0x200E, 0x200F, 0x061C):
            if not has_rtl:
                hits.append(_Hit(_HIDDEN, i, i + 1, 0.35, contextual=False))
        elif (code == 0xFEFF and i == 0) or (
            code in (0x200C, 0x200D) and _joiner_is_legitimate(text, start, end)
        ):
            continue  # a byte-order mark, or a joiner inside an emoji or a joining script
        elif 0x206A <= code <= 0x206F:
            hits.append(_Hit(_HIDDEN, i, i + 1, 0.5, contextual=False))
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
        hits.append(_Hit(_HIDDEN, start, end, score, contextual=False, in_word=in_word))
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


# --------------------------------------------------------------------------- trigger tables


def _trigger_table() -> tuple[tuple[str, _Handler], ...]:
    s = _Scan
    # each entry costs one C-level substring search of the whole text: keep the list short
    table: list[tuple[str, _Handler]] = [
        ("ignor", s._override_verb),
        ("disregard", s._override_verb),
        ("forg", s._override_verb),
        ("overr", s._override_verb),
        ("bypass", s._override_verb),
        ("set aside", s._override_verb),
        ("discard", s._override_verb),
        ("instru", s._instruction_word),
        ("anweisung", s._foreign),
        ("re now", s._you_are_now),
        ("no longer", s._cancelled),
        ("pretend", s._pretend),
        ("from now on", s._from_now_on),
        ("the user", s._the_user),
        ("system", s._system_word),
        ("assistant", s._assistant_word),
        ("developer", s._developer_word),
        ("human:", s._human_label),
        ("user:", s._user_label),
        ("llm", s._addressee),
        ("language model", s._addressee),
        ("prompt", s._leak),
    ]
    return tuple(table)


_WORD_TRIGGERS = _trigger_table()

# Every top-level branch starts with a literal character: CPython's ``re`` then skips ahead
# to the next candidate character in C (a branch starting with a group or a class disables
# that and costs ~40x). The handler is chosen from the first character(s) of the match.
_PUNCT_TRIGGER = re.compile(
    r"""
      <\|[a-z_]{2,20}\|>
    | <</?SYS>>
    | </?(?:system|user|assistant|developer|human|tool)\b
    | <img\b
    | \[/?INST\]
    | \[\s*(?:system|admin|developer)\b
    | \(\s*(?:system|admin|developer)\b
    | !\[
    | \]\(\s*<?https?://[^\s)]{0,256}?(?:\?|%20|[A-Za-z0-9+/=_-]{24})
    | \.\.(?:/|\\|%2f|%5c|%252f|%c0%af)
    | %(?:2e|252e|c0%ae)(?:%2e|%252e|%c0%ae|\.)?(?:/|\\|%2f|%5c|%252f|%c0%af)
    | \$\(
    | \|\s*(?:sudo\s+)?(?:(?:ba|z|da|k)?sh\b|rm\s+-)
    | /dev/(?:tcp|udp)/
    | /bin/(?:ba|z|da)?sh\b
    | ;[\ \t]*(?:drop\s+(?:table|database)\b|(?:sudo\s+)?rm\s+-)
    | &&?\s*(?:sudo\s+)?rm\s+-
    | '[\ \t]*\)*[\ \t]*(?:;|(?:or|and|union)\b)
    | "[\ \t]*\)*[\ \t]*(?:;|(?:or|and|union)\b)
    """,
    _I | re.X,
)


def _dispatch_punct(scan: _Scan, m: re.Match[str]) -> None:
    s = m.group()
    c = s[0]
    if c == "<":
        second = s[1]
        if second in "|<":
            scan._special_token(m)
        elif s[1:4].lower() == "img":
            scan._image(m)
        else:
            scan._role_tag(m.start())
    elif c == "[":
        if s[-1] == "]":
            scan._special_token(m)
        else:
            scan._bracket_role(m)
    elif c == "(":
        scan._bracket_role(m)
    elif c == "!":
        scan._image(m)
    elif c == "]":
        scan._link(m)
    elif c in ".%":
        scan._traversal(m)
    elif c == "$":
        scan._subst(m)
        scan._rm(m.start())
    elif c == "|":
        if s.rstrip().endswith("-"):
            scan._rm(m.start())
        else:
            scan._pipe_sh(m)
    elif c == "/":
        if s.startswith("/dev"):
            scan._dev_tcp(m)
        else:
            scan._bin_sh(m.start())
    elif c == ";":
        if s.rstrip().endswith("-"):
            scan._rm(m.start())
        else:
            scan._drop(m.start())
    elif c == "&":
        scan._rm(m.start())
    else:
        scan._sql_quote(m)


# --------------------------------------------------------------------------- typed arguments


def _path_hits(value: str) -> list[_Hit]:
    hits: list[_Hit] = []
    decoded = value
    for _ in range(3):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    sensitive = _SENSITIVE.search(decoded) is not None
    for t in _TRAVERSAL.finditer(value):
        units = max(1, len(_DOT_PAIR.findall(t.group(0))))
        score = 0.7 if units == 1 else 0.85
        if "%" in t.group(0):
            score += 0.1
        if sensitive:
            score = max(score, 0.95)
        hits.append(_Hit(_PATH, t.start(), len(value) if sensitive else t.end(), score, False))
    if not hits and re.search(r"(?:^|[/\\])\.\.(?:[/\\]|$)", decoded):
        hits.append(_Hit(_PATH, 0, len(value), 0.7, False))
    if not hits and sensitive:
        absolute = _ABSOLUTE.match(decoded) is not None
        hits.append(_Hit(_PATH, 0, len(value), 0.9 if absolute else 0.5, False))
    nul = re.search(r"%00|\x00", value)
    if nul is not None:
        hits.append(_Hit(_PATH, nul.start(), nul.end(), 0.8, False))
    return hits


def _shell_hits(value: str) -> list[_Hit]:
    hits: list[_Hit] = []
    danger = _SHELL_DANGER.search(value)
    if danger is not None:
        hits.append(_Hit(_SHELL, danger.start(), danger.end(), 0.9, False))
    for sub in _SHELL_SUBST.finditer(value):
        if sub.group(0).startswith("${"):
            hits.append(_Hit(_SHELL, sub.start(), sub.end(), 0.45, False))
        else:
            hits.append(_Hit(_SHELL, sub.start(), sub.end(), 0.85, False))
    for op in _SHELL_OP.finditer(value):
        line_end = value.find("\n", op.end())
        end = len(value) if line_end < 0 else line_end
        if _SHELL_OP_CMD.match(value, op.end()) is not None:
            score = 0.9
        elif op.group(0) == "&":
            score = 0.3
        elif op.group(0) == "|":
            score = 0.55
        else:
            score = 0.6
        hits.append(_Hit(_SHELL, op.start(), max(end, op.end()), score, False))
    for red in _SHELL_REDIRECT.finditer(value):
        target = red.group(1)
        score = 0.85 if _SENSITIVE.search(target) or target.startswith("/") else 0.6
        hits.append(_Hit(_SHELL, red.start(), red.end(), score, False))
    var = re.search(r"\$[A-Za-z_]\w*", value)
    if var is not None:
        hits.append(_Hit(_SHELL, var.start(), var.end(), 0.45, False))
    return hits


def _sql_hits(value: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for pattern, score in (
        (_SQL_BREAK, 0.85),
        (_SQL_STACK, 0.9),
        (_SQL_UNION, 0.9),
        (_SQL_TAUT, 0.8),
        (_SQL_FUNC, 0.85),
        (_SQL_META, 0.7),
    ):
        for m in pattern.finditer(value):
            hits.append(_Hit(_SQL, m.start(), max(m.end(), m.start() + 1), score, False))
    comment = re.search(r"(?:--|#|/\*)[^\n]*$", value)
    if comment is not None and re.search(r"['\"]", value[: comment.start()]):
        hits.append(_Hit(_SQL, comment.start(), len(value), 0.8, False))
    return hits


_KIND_CHECKS: dict[str, Callable[[str], list[_Hit]]] = {
    "path": _path_hits,
    "shell": _shell_hits,
    "sql": _sql_hits,
}


# --------------------------------------------------------------------------- public API


class InjectionDetector:
    """Prompt-injection and malicious-input detector (see the module docstring).

    ``allowed_hosts``: hosts (and their subdomains) that markdown images/links may point at
    without an exfiltration finding. ``min_score``: findings scoring below it are dropped;
    anything at or above :data:`FLAG_THRESHOLD` (0.5) is meant to be acted on.
    """

    name: str = NAME
    types: frozenset[str] = frozenset({PROMPT_INJECTION, MALICIOUS_INPUT})

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        *,
        min_score: float = 0.25,
    ) -> None:
        self.allowed_hosts = frozenset(h.lower().lstrip(".") for h in allowed_hosts)
        self.min_score = min_score

    def detect(self, text: str) -> list[Finding]:
        if not text:
            return []
        scan = _Scan(text, self.allowed_hosts)
        scan.run()
        return scan.findings(self.min_score)

    def detect_argument(self, value: str, kind: str) -> list[Finding]:
        """Like :meth:`detect`, plus the strict checks for ``kind``: ``"path"`` (any ``..``
        segment, encoded dots and slashes, NUL, sensitive absolute targets), ``"shell"`` (a
        value spliced into a command line: separators, pipes, substitution, redirection) or
        ``"sql"`` (a value spliced into a SQL literal: quote breaks, tautologies, stacked
        queries, ``UNION SELECT``, comment tails). ``"text"`` is :meth:`detect` alone."""
        if kind not in ARGUMENT_KINDS:
            known = ", ".join(sorted(ARGUMENT_KINDS))
            raise ValueError(f"unknown argument kind {kind!r} (known: {known})")
        if not value:
            return []
        scan = _Scan(value, self.allowed_hosts)
        scan.run()
        check = _KIND_CHECKS.get(kind)
        if check is not None:
            scan.hits.extend(check(value))
        return scan.findings(self.min_score)


_DEFAULT = InjectionDetector()


def detect_in_argument(
    value: str, kind: str, *, detector: InjectionDetector | None = None
) -> list[Finding]:
    """Findings for one tool-argument value of a known ``kind`` (``"path"``, ``"shell"``,
    ``"sql"`` or ``"text"``); see :meth:`InjectionDetector.detect_argument`."""
    return (detector or _DEFAULT).detect_argument(value, kind)
