"""Tone detection: :class:`ToneDetector` (name ``"tone"``): profanity, slurs and slang,
shouting, banned phrases and missing disclaimers.

The detector and its documentation are in :mod:`agentguard.detect.tone.detector`; the
other modules: ``words`` (the word list), ``text`` (folding), ``compile`` and ``scan``
(matching the list), ``context`` (scoring a hit from its context), ``shouting`` and
``phrases``.
"""

from agentguard.detect.tone.detector import (
    BANNED_PHRASE,
    FLAG_THRESHOLD,
    MAX_SCORED,
    MISSING_DISCLAIMER,
    PROFANITY,
    PROFANITY_SUBTYPES,
    SHOUTING,
    ToneDetector,
)
from agentguard.detect.tone.detector import NAME as NAME
from agentguard.detect.tone.phrases import phrase_id

__all__ = [
    "BANNED_PHRASE",
    "FLAG_THRESHOLD",
    "MAX_SCORED",
    "MISSING_DISCLAIMER",
    "PROFANITY",
    "PROFANITY_SUBTYPES",
    "SHOUTING",
    "ToneDetector",
    "phrase_id",
]
