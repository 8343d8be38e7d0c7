"""Detectors behind one protocol: each takes text and returns findings with offsets.

A finding's ``start``/``end`` are character offsets into the text given to ``detect``;
``score`` is a confidence in [0, 1] (validators and context words raise it, known
test/example values lower it); ``type`` is a stable upper-case name (EMAIL, CREDIT_CARD,
SECRET …) and ``subtype`` refines it (``aws_access_key``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

#: where a text comes from: an agent's arguments, its outbound fields, a tool's result, or
#: plain text (``agentguard scan``)
Target = Literal["inputs", "outbound", "results", "text"]


@dataclass(frozen=True, slots=True)
class Finding:
    """Something sensitive or dangerous found in a text."""

    type: str
    start: int
    end: int
    score: float
    detector: str
    subtype: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "detector": self.detector,
        }
        if self.subtype is not None:
            out["subtype"] = self.subtype
        return out


@runtime_checkable
class Detector(Protocol):
    """One family of detection (``pii``, ``secrets``, ``injection``, ``tone``)."""

    name: str
    #: the finding types this detector can report
    types: frozenset[str]

    def detect(self, text: str) -> list[Finding]: ...


def detect_in(detector: Detector, text: str, target: Target) -> list[Finding]:
    """``detector``'s findings in ``text`` coming from ``target``. A detector may define
    ``detect_in(text, target)`` to judge differently by where the text comes from (the
    injection model has one threshold for what agents send, another for what tools
    return); any other detector's ``detect(text)`` is used as is."""
    method = getattr(detector, "detect_in", None)
    if method is None:
        return detector.detect(text)
    found: list[Finding] = method(text, target)
    return found


class DetectorRegistry:
    """Detectors by name. Adding one never edits the pipeline."""

    def __init__(self) -> None:
        self._detectors: dict[str, Detector] = {}

    def register(self, detector: Detector) -> Detector:
        if detector.name in self._detectors:
            raise ValueError(f"a detector named {detector.name!r} is already registered")
        self._detectors[detector.name] = detector
        return detector

    def get(self, name: str) -> Detector:
        try:
            return self._detectors[name]
        except KeyError:
            known = ", ".join(sorted(self._detectors)) or "none"
            raise KeyError(f"no detector named {name!r} (known: {known})") from None

    def __iter__(self) -> Iterator[Detector]:
        return iter(self._detectors.values())

    def __contains__(self, name: object) -> bool:
        return name in self._detectors
