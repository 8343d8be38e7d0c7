"""Shared pieces of the injection detector: the public type and subtype names, the raw
hit record and the bounded line look-up every check uses."""

from __future__ import annotations

from dataclasses import dataclass

NAME = "injection"
PROMPT_INJECTION = "PROMPT_INJECTION"
MALICIOUS_INPUT = "MALICIOUS_INPUT"
PROMPT_INJECTION_SUBTYPES = (
    "instruction_override",
    "role_spoofing",
    "hidden_text",
    "exfiltration",
    "encoded_payload",
    "learned",
)
MALICIOUS_SUBTYPES = ("path_traversal", "shell_injection", "sql_injection")
ARGUMENT_KINDS = frozenset({"path", "shell", "sql", "text"})
#: a finding at or above this score is meant to be acted on
FLAG_THRESHOLD = 0.5

OVERRIDE = "instruction_override"
ROLE = "role_spoofing"
HIDDEN = "hidden_text"
EXFIL = "exfiltration"
ENCODED = "encoded_payload"
PATH = "path_traversal"
SHELL = "shell_injection"
SQL = "sql_injection"
MALICIOUS = frozenset({PATH, SHELL, SQL})

_LINE_LOOKBACK = 400  # characters


@dataclass(slots=True)
class Hit:
    subtype: str
    start: int
    end: int
    score: float
    contextual: bool = True
    in_word: bool = False

    @property
    def type(self) -> str:
        return MALICIOUS_INPUT if self.subtype in MALICIOUS else PROMPT_INJECTION


def start_of_line(text: str, pos: int) -> int:
    """Start of the line holding ``pos``, looking back at most ``_LINE_LOOKBACK`` characters
    (a longer line is cut there: bounded work per trigger keeps the scan linear)."""
    lo = max(0, pos - _LINE_LOOKBACK)
    nl = text.rfind("\n", lo, pos)
    return nl + 1 if nl >= 0 else lo
