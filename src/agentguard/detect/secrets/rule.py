"""One vendor rule: a regex that starts at a literal prefix, and the structure check that
refines its score (shared by :mod:`~agentguard.detect.secrets.rules` and
:mod:`~agentguard.detect.secrets.catalog`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Check = Callable[[str, re.Match[str]], tuple[float, str] | None]

#: a token must not run on into more token characters
TAIL_GUARD = r"(?![A-Za-z0-9_\-])"


@dataclass(frozen=True, slots=True)
class Rule:
    subtype: str
    pattern: re.Pattern[str]
    score: float
    #: literal substrings one of which must occur before the pattern is run (empty: the
    #: pattern begins with a literal and is run directly, which is just as cheap)
    anchors: tuple[str, ...] = ()
    #: the group holding the secret (0: the whole match)
    group: int = 0
    #: refines (score, subtype) from the match, or drops it by returning None
    check: Check | None = None
    #: the secret must not follow a letter, digit or underscore
    bounded: bool = True
    #: pre-pass probe: every match of ``pattern`` starts where it fires
    probe: int = -1
    #: for a pattern that reads a run of these characters from its start and can still fail
    #: after it (a JWT header not followed by a dot): the starts up to the end of the run
    #: fail the same way, and are skipped (``eyJeyJeyJ…`` costs one read, not one a start)
    run: re.Pattern[str] | None = None
    #: the literal every match starts with, to find the starts without the pre-pass
    literal: str = ""
