"""The learned half of the injection detector: the shipped model's window scores
(:mod:`agentguard.models.injection`) as ``PROMPT_INJECTION/learned`` findings.

The rules find what they have words for, with precise spans; the model scores every
window of the text, so an instruction planted in a long email, phrased as persuasion or
in a form no rule names, is still found, as the span of the windows that score high
(overlapping windows merged). Its score is calibrated so that :data:`FLAG_THRESHOLD`
(0.5) is the model's threshold for where the text comes from: what agents send
(``inputs``, ``outbound``, plain text) is judged at the user-input threshold, what tools
return (``results``: indirect injection) at the tool-result threshold, each chosen on
training data the evaluation never sees (``data/README.md``).
"""

from __future__ import annotations

from agentguard.detect.base import Finding, Target
from agentguard.detect.injection.common import NAME, PROMPT_INJECTION
from agentguard.models.injection import (
    TOOL_RESULT_THRESHOLD,
    USER_INPUT_THRESHOLD,
    InjectionModel,
)

LEARNED = "learned"


def threshold_for(target: Target) -> float:
    """The model's threshold for text from ``target``."""
    return TOOL_RESULT_THRESHOLD if target == "results" else USER_INPUT_THRESHOLD


def calibrate(probability: float, threshold: float) -> float:
    """The model's probability as a finding score: 0.5 exactly at ``threshold``, linear
    on each side (0 → 0, 1 → 1)."""
    if probability >= threshold:
        return 0.5 + 0.5 * (probability - threshold) / (1.0 - threshold)
    return 0.5 * probability / threshold


def learned_findings(text: str, target: Target, min_score: float) -> list[Finding]:
    """Findings for the windows of ``text`` at or above the model's threshold (a
    calibrated 0.5) and ``min_score``, overlapping windows merged into one finding with
    their highest score. Windows below the threshold are never reported: the rules' low
    scores mean "a trigger word in a harmless sentence", the model's only "less sure"."""
    threshold = threshold_for(target)
    min_score = max(min_score, 0.5)
    lowest = threshold + (min_score - 0.5) * 2.0 * (1.0 - threshold)  # calibrate's inverse
    found: list[Finding] = []
    start = end = -1
    best = 0.0
    for segment in InjectionModel.load().segments(text, min_score=lowest):
        s, e, p = segment.start, segment.end, segment.score
        if s < end:  # overlaps the one being merged
            end, best = max(end, e), max(best, p)
            continue
        if end > start:
            found.append(_finding(start, end, calibrate(best, threshold)))
        start, end, best = s, e, p
    if end > start:
        found.append(_finding(start, end, calibrate(best, threshold)))
    return [f for f in found if f.score >= min_score]


def _finding(start: int, end: int, score: float) -> Finding:
    return Finding(PROMPT_INJECTION, start, end, min(max(score, 0.0), 1.0), NAME, LEARNED)
