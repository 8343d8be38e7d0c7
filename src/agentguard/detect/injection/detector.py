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

Speed. Every check starts at a trigger: about twenty keywords, the punctuation of one
compiled alternation (``![``, ``<|``, ``../``, ``$(``, a quote before ``OR``/``UNION`` …),
base64/hex candidates, and invisible characters. These are pre-pass probes
(:mod:`agentguard.detect.prepass`): one scan of the case-folded text finds them for every
detector family at once, and each trigger then runs one anchored pattern at its own
offset, so ordinary text costs little more than that shared scan. Work per trigger is
bounded (400-character line look-back, context scoring for the first 500 hits, the
vocabulary after a role marker read from its own window for the first 1000 markers and
from one pass over the text after that, an image or link address read once and at most
2000 characters), runs of blanks side by side are matched possessively, and the typed
argument checks read each line once however many operators it has, so adversarially dense
input stays linear.

Known limits: paraphrases without trigger words (“set aside what you were told” is covered,
“the real task is …” is not), languages beyond a few German/Spanish/French/Italian forms,
homoglyph and NFKC (full-width) obfuscation, URL-encoded or rot13 payloads, reference-style
markdown images, and attacks that are pure social engineering.

Layout: this module is the public face; ``scan`` drives one pass (triggers, dispatch,
findings) over the checks of ``override`` and ``addressee`` (instruction_override),
``roles``, ``hidden``, ``links`` (exfiltration), ``payloads`` and ``malicious``; ``context``
scores the sentence around each hit and ``common`` holds the shared names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from agentguard.detect.base import Finding, Target
from agentguard.detect.injection.common import (
    ARGUMENT_KINDS,
    FLAG_THRESHOLD,
    MALICIOUS_INPUT,
    MALICIOUS_SUBTYPES,
    NAME,
    PROMPT_INJECTION,
    PROMPT_INJECTION_SUBTYPES,
)
from agentguard.detect.injection.learned import learned_findings
from agentguard.detect.injection.malicious import KIND_CHECKS
from agentguard.detect.injection.scan import PROBES, Scan
from agentguard.detect.prepass import PreparedText, prepare

#: where the learned model scores text: nowhere, tool results only, everything
ModelUse = Literal["off", "results", "all"]

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


class InjectionDetector:
    """Prompt-injection and malicious-input detector (see the module docstring).

    ``allowed_hosts``: hosts (and their subdomains) that markdown images/links may point at
    without an exfiltration finding. ``min_score``: findings scoring below it are dropped;
    anything at or above :data:`FLAG_THRESHOLD` (0.5) is meant to be acted on. ``model``:
    where the shipped learned model also scores the text (``PROMPT_INJECTION/learned``
    findings, :mod:`agentguard.detect.injection.learned`): ``"results"`` (the default)
    only on what tools return (:meth:`detect_in` with ``"results"``: indirect injection,
    where the rules see little), ``"all"`` on everything, ``"off"`` nowhere. Measured on
    held-out public data (``bench/eval_injection_model.py``), it is not yet precise enough
    on what agents send to be on there by default.
    """

    name: str = NAME
    types: frozenset[str] = frozenset({PROMPT_INJECTION, MALICIOUS_INPUT})

    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        *,
        min_score: float = 0.25,
        model: ModelUse = "results",
    ) -> None:
        if model not in ("off", "results", "all"):
            raise ValueError(f"model is 'off', 'results' or 'all', not {model!r}")
        self.allowed_hosts = frozenset(h.lower().lstrip(".") for h in allowed_hosts)
        self.min_score = min_score
        self.model = model

    def detect(self, text: str) -> list[Finding]:
        """Findings in ``text`` judged as something an agent sends."""
        return self.detect_in(text, "text")

    def detect_in(self, text: str, target: Target) -> list[Finding]:
        """Findings in ``text`` coming from ``target`` (the model's threshold depends on
        it: ``"results"`` are what tools return, anything else what agents send)."""
        if not text:
            return []
        return self._detect(prepare(text), target)

    def detect_prepared(self, prepared: PreparedText) -> list[Finding]:
        """:meth:`detect` on a text prepared once for several families."""
        return self._detect(prepared, "text")

    def _detect(self, prepared: PreparedText, target: Target) -> list[Finding]:
        if not prepared.text:
            return []
        found: list[Finding] = []
        if prepared.any_fires(PROBES):
            scan = Scan(prepared, self.allowed_hosts)
            scan.run()
            found = scan.findings(self.min_score)
        if self.model == "all" or (self.model == "results" and target == "results"):
            found.extend(learned_findings(prepared.text, target, self.min_score))
        return found

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
        scan = Scan(prepare(value), self.allowed_hosts)
        scan.run()
        check = KIND_CHECKS.get(kind)
        if check is not None:
            scan.hits.extend(check(value))
        found = scan.findings(self.min_score)
        if self.model == "all":
            found.extend(learned_findings(value, "inputs", self.min_score))
        return found


_DEFAULT = InjectionDetector()


def detect_in_argument(
    value: str, kind: str, *, detector: InjectionDetector | None = None
) -> list[Finding]:
    """Findings for one tool-argument value of a known ``kind`` (``"path"``, ``"shell"``,
    ``"sql"`` or ``"text"``); see :meth:`InjectionDetector.detect_argument`."""
    return (detector or _DEFAULT).detect_argument(value, kind)
