"""Prompt-injection and malicious-input detection: :class:`InjectionDetector` (name
``"injection"``) and :func:`detect_in_argument` for tool arguments of a known kind.

The detector and its documentation are in :mod:`agentguard.detect.injection.detector`
(whose docstring also lays out the other modules of this package).
"""

from agentguard.detect.injection.common import (
    ARGUMENT_KINDS,
    FLAG_THRESHOLD,
    MALICIOUS_INPUT,
    MALICIOUS_SUBTYPES,
    NAME,
    PROMPT_INJECTION,
    PROMPT_INJECTION_SUBTYPES,
)
from agentguard.detect.injection.detector import InjectionDetector, detect_in_argument

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
