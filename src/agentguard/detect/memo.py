"""A small memo of recent detector runs, so that the layers of one action (content rules,
the leak guard, audit redaction) do not scan the same outbound text twice.

Keyed by the detector object, where the text comes from and the text itself (equal texts
from one place give equal findings, since detectors are pure functions of the text and of
where it comes from). Bounded: the oldest entries are dropped first.
Texts shorter than :data:`MIN_LENGTH` are not memoised (scanning them is cheaper).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from agentguard.detect.base import Detector, Finding, Target, detect_in

MIN_LENGTH = 256
MAX_ENTRIES = 256
MAX_TEXT = 1 << 20

_lock = threading.Lock()
_memo: OrderedDict[tuple[int, str, str], tuple[Detector, list[Finding]]] = OrderedDict()


def detect(detector: Detector, text: str, target: Target = "text") -> list[Finding]:
    """``detector``'s findings in ``text`` from ``target`` (see
    :func:`agentguard.detect.base.detect_in`), remembered for the next call with the same
    text and target."""
    if len(text) < MIN_LENGTH or len(text) > MAX_TEXT:
        return detect_in(detector, text, target)
    # only a detector that judges by origin (detect_in) is keyed by it: for the others the
    # content rules, the leak guard and audit redaction share one scan of an outbound text
    key = (id(detector), target if hasattr(detector, "detect_in") else "", text)
    with _lock:
        hit = _memo.get(key)
        if hit is not None and hit[0] is detector:
            _memo.move_to_end(key)
            return hit[1]
    findings = detect_in(detector, text, target)
    with _lock:
        # the detector is kept in the entry, so its id cannot be reused while the entry lives
        _memo[key] = (detector, findings)
        if len(_memo) > MAX_ENTRIES:
            _memo.popitem(last=False)
    return findings
