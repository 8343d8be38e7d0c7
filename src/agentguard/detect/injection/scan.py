"""One pass over one text: the trigger tables (keywords, one punctuation alternation, base64
candidates, each tried only where its pre-pass probes occur), the dispatch to each concept's
anchored checks, and the context-adjusted findings."""

from __future__ import annotations

import re
from collections.abc import Callable

from agentguard.detect import prepass
from agentguard.detect.base import Finding
from agentguard.detect.injection.addressee import addressee, leak, the_user
from agentguard.detect.injection.common import NAME, Hit
from agentguard.detect.injection.context import adjusted_scores
from agentguard.detect.injection.hidden import HIDDEN_CHAR, run_with_hidden
from agentguard.detect.injection.links import check_image, check_link
from agentguard.detect.injection.malicious import (
    free_bin_sh,
    free_dev_tcp,
    free_drop,
    free_pipe_sh,
    free_rm,
    free_sql_quote,
    free_subst,
    free_traversal,
)
from agentguard.detect.injection.override import (
    cancelled,
    foreign,
    from_now_on,
    instruction_word,
    override_verb,
    pretend,
    you_are_now,
)
from agentguard.detect.injection.payloads import B64_TRIGGER, encoded
from agentguard.detect.injection.roles import (
    VOCAB_CAP,
    VocabIndex,
    bracket_role,
    json_role,
    role_label,
    role_tag,
    special_token,
)
from agentguard.detect.prepass import WS, Literal, Pattern, PreparedText, matches_at, prepare

_Handler = Callable[["Scan", int], None]
_I = re.IGNORECASE
_AI_WORD = re.compile(r"ai\b")


class Scan:
    """One pass over one text: triggers → anchored checks → context → findings."""

    __slots__ = (
        "_vocab",
        "allowed",
        "b64_until",
        "depth",
        "hits",
        "low",
        "prepared",
        "text",
        "traversal_until",
        "url_until",
        "vocab_left",
    )

    def __init__(self, prepared: PreparedText, allowed: frozenset[str], depth: int = 0) -> None:
        self.prepared = prepared
        self.text = prepared.text
        self.low = prepared.low
        self.allowed = allowed
        self.depth = depth
        self.hits: list[Hit] = []
        self.b64_until = -1
        self.traversal_until = -1
        self.url_until = -1
        #: role markers whose following vocabulary is still read from their own window
        self.vocab_left = VOCAB_CAP
        self._vocab: VocabIndex | None = None

    def spawn(self, text: str, depth: int) -> Scan:
        """A scan of ``text`` (decoded or stripped from this one) at nesting ``depth``."""
        return Scan(prepare(text), self.allowed, depth)

    # -- driver

    def run(self) -> None:
        prepared = self.prepared
        if (
            not prepared.is_ascii
            and prepared.starts(_HIDDEN_PROBE) != []
            and HIDDEN_CHAR.search(self.text) is not None
        ):
            run_with_hidden(self)
            return
        self.run_plain()

    def run_plain(self) -> None:
        """Every trigger on the text as it is (see :func:`run_with_hidden` for the rest)."""
        prepared = self.prepared
        hits = prepared.hits()
        for probe, handler in _WORD_PROBES:
            positions = prepared.positions(probe) if hits is None else hits.get(probe)
            if positions:
                for pos in positions:
                    handler(self, pos)
        for m in matches_at(_AI_WORD, self.low, prepared.starts(_AI_PROBE)):
            _ai_word(self, m.start())
        text = self.text
        for m in matches_at(_PUNCT_TRIGGER, text, prepared.starts(_PUNCT_PROBE)):
            start = m.start()
            if start < self.traversal_until and text[start] in ".%":
                continue  # a "../" inside a run free_traversal has read (``../../../…``)
            _dispatch_punct(self, m)
        if self.depth < 2:
            # İ ı ſ K reach the probe as ASCII letters: there it may miss a run's first match
            starts = None if prepared.case_variants else prepared.starts(_B64_PROBE)
            for m in matches_at(B64_TRIGGER, self.text, starts):
                if m.start() >= self.b64_until:
                    encoded(self, m.start())

    def vocab(self) -> VocabIndex:
        """The role vocabulary of the whole text, found once (see :func:`role_with_vocab`)."""
        if self._vocab is None:
            self._vocab = VocabIndex(self.text)
        return self._vocab

    def add(
        self, subtype: str, start: int, end: int, score: float, contextual: bool = True
    ) -> None:
        self.hits.append(Hit(subtype, start, end, score, contextual))

    # -- results

    def findings(self, min_score: float) -> list[Finding]:
        """Context-adjusted findings (the raw hits are left untouched)."""
        if not self.hits:
            return []
        hits = _dedupe(self.hits)
        scores = adjusted_scores(self.text, hits)
        out = [
            Finding(h.type, h.start, h.end, round(sc, 3), NAME, h.subtype)
            for h, sc in zip(hits, scores, strict=True)
            if sc >= min_score
        ]
        out.sort(key=lambda f: (f.start, f.end, f.subtype or ""))
        return out

    def max_score(self) -> float:
        return max((f.score for f in self.findings(0.0)), default=0.0)


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """Each chain of overlapping hits of one subtype collapses into its strongest hit."""
    out: list[Hit] = []
    ordered = sorted(hits, key=lambda h: (h.subtype, h.start))
    best: Hit | None = None
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


# --------------------------------------------------------------------------- triggers

# keywords that start the checks of several concepts


def _ai_word(scan: Scan, pos: int) -> None:
    low = scan.low
    end = pos + 2
    if (pos > 0 and low[pos - 1].isalnum()) or (end < len(low) and low[end].isalnum()):
        return
    addressee(scan, pos)
    role_label(scan, pos, 2, 0.4)


def _system_word(scan: Scan, pos: int) -> None:
    role_label(scan, pos, 6, 0.45)
    json_role(scan, pos, 6)
    leak(scan, pos)


def _assistant_word(scan: Scan, pos: int) -> None:
    role_label(scan, pos, 9, 0.4)
    json_role(scan, pos, 9)
    addressee(scan, pos)


def _developer_word(scan: Scan, pos: int) -> None:
    role_label(scan, pos, 9, 0.45)
    json_role(scan, pos, 9)


def _human_label(scan: Scan, pos: int) -> None:
    role_label(scan, pos, 5, 0.35)  # anchored on "human:"


def _user_label(scan: Scan, pos: int) -> None:
    role_label(scan, pos, 4, 0.3)  # anchored on "user:"


# each entry costs one C-level substring search of the whole text: keep the list short
_WORD_TRIGGERS: tuple[tuple[str, _Handler], ...] = (
    ("ignor", override_verb),
    ("disregard", override_verb),
    ("forg", override_verb),
    ("overr", override_verb),
    ("bypass", override_verb),
    ("set aside", override_verb),
    ("discard", override_verb),
    ("instru", instruction_word),
    ("anweisung", foreign),
    ("re now", you_are_now),
    ("no longer", cancelled),
    ("pretend", pretend),
    ("from now on", from_now_on),
    ("the user", the_user),
    ("system", _system_word),
    ("assistant", _assistant_word),
    ("developer", _developer_word),
    ("human:", _human_label),
    ("user:", _user_label),
    ("llm", addressee),
    ("language model", addressee),
    ("prompt", leak),
)
_WORD_PROBES = tuple((prepass.literal(w, caseless=True), h) for w, h in _WORD_TRIGGERS)
_AI_PROBE = prepass.pattern(r"ai\b", width=2, caseless=True)
_HIDDEN_PROBE = prepass.pattern(prepass.FORMAT_CHAR, width=1)

# Every top-level branch starts with a literal character: CPython's ``re`` then skips ahead
# to the next candidate character in C (a branch starting with a group or a class disables
# that and costs ~40x). The handler is chosen from the first character(s) of the match.
# Runs of blanks side by side are possessive (a long run would otherwise be split every
# way between them: quadratic); what follows them never starts with a blank.
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
    | '[\ \t]*+\)*+[\ \t]*+(?:;|(?:or|and|union)\b)
    | "[\ \t]*+\)*+[\ \t]*+(?:;|(?:or|and|union)\b)
    """,
    _I | re.X,
)


# every match of _PUNCT_TRIGGER starts where one of these does (a pattern's first
# character never recurs in it, so hyperscan's leftmost start is the only one)
_PUNCT_PROBE = prepass.probe(
    *(
        Literal(word, caseless=True)
        for word in (
            *("<|", "<<sys>>", "<</sys>>", "<img", "[inst]", "[/inst]", "![", "](", "$("),
            *("../", "..\\", "..%2f", "..%5c", "..%252f", "..%c0%af", "%2e", "%252e", "%c0%ae"),
            *("/dev/tcp/", "/dev/udp/", "/bin/sh", "/bin/bash", "/bin/zsh", "/bin/dash"),
            *(
                f"<{slash}{role}"
                for slash in ("", "/")
                for role in ("system", "user", "assistant", "developer", "human", "tool")
            ),
        )
    ),
    *(
        Pattern(p, caseless=True)
        for p in (
            rf"\[{WS}*(?:system|admin|developer)",
            rf"\({WS}*(?:system|admin|developer)",
            rf"\|{WS}*(?:sudo|bash|zsh|dash|ksh|sh|rm)",
            r";[ \t]*(?:drop|sudo|rm)",
            rf"&&{WS}*(?:sudo|rm)",
            rf"&{WS}*(?:sudo|rm)",
            # any mix of blanks and closing brackets: cheaper to find than the regex's order
            r"'[ \t)]*(?:;|or|and|union)",
            r'"[ \t)]*(?:;|or|and|union)',
        )
    ),
)
# the first place in each run of base64 characters where B64_TRIGGER matches: encoded()
# reads the whole run from there and moves b64_until past it, so the run's later matches
# would be skipped anyway
_B64_PROBE = prepass.pattern(
    r"(?:^|[^A-Za-z0-9+/_\-])[a-z+/_\-]*[A-Z0-9][A-Za-z0-9+/_\-]{19}", width=20
)


#: every check starts where one of these pre-pass probes fires
PROBES = frozenset(
    {*(probe for probe, _ in _WORD_PROBES), _AI_PROBE, _HIDDEN_PROBE, _PUNCT_PROBE, _B64_PROBE}
)


def _dispatch_punct(scan: Scan, m: re.Match[str]) -> None:
    s = m.group()
    c = s[0]
    if c == "<":
        second = s[1]
        if second in "|<":
            special_token(scan, m)
        elif s[1:4].lower() == "img":
            check_image(scan, m)
        else:
            role_tag(scan, m.start())
    elif c == "[":
        if s[-1] == "]":
            special_token(scan, m)
        else:
            bracket_role(scan, m)
    elif c == "(":
        bracket_role(scan, m)
    elif c == "!":
        check_image(scan, m)
    elif c == "]":
        check_link(scan, m)
    elif c in ".%":
        free_traversal(scan, m)
    elif c == "$":
        free_subst(scan, m)
        free_rm(scan, m.start())
    elif c == "|":
        if s.rstrip().endswith("-"):
            free_rm(scan, m.start())
        else:
            free_pipe_sh(scan, m)
    elif c == "/":
        if s.startswith("/dev"):
            free_dev_tcp(scan, m)
        else:
            free_bin_sh(scan, m.start())
    elif c == ";":
        if s.rstrip().endswith("-"):
            free_rm(scan, m.start())
        else:
            free_drop(scan, m.start())
    elif c == "&":
        free_rm(scan, m.start())
    else:
        free_sql_quote(scan, m)
