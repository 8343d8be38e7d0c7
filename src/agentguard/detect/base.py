"""Detectors behind one protocol: each takes text and returns findings with offsets.

A finding's ``start``/``end`` are character offsets into the text given to ``detect``;
``score`` is a confidence in [0, 1] (validators and context words raise it, known
test/example values lower it); ``type`` is a stable upper-case name (EMAIL, CREDIT_CARD,
SECRET …) and ``subtype`` refines it (``aws_access_key``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


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
