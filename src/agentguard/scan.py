"""Scanning text with the built-in detectors: the engine behind ``agentguard scan``.

Detector families by name: ``pii``, ``secrets``, ``injection``, ``tone``.
Findings are ``agentguard.detect.Finding`` values with character offsets into the text.
Each text is prepared once (:func:`agentguard.detect.prepass.prepare`: case fold and one
probe scan) for every detector that can share it; any other detector gets the text.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Sequence

from agentguard.detect.base import Detector, DetectorRegistry, Finding
from agentguard.detect.prepass import PreparedText, prepare

#: family name → "module:class" of its default detector
FAMILIES: dict[str, str] = {
    "pii": "agentguard.detect.pii:PIIDetector",
    "secrets": "agentguard.detect.secrets:SecretsDetector",
    "injection": "agentguard.detect.injection:InjectionDetector",
    "tone": "agentguard.detect.tone:ToneDetector",
}

#: the largest text one scan accepts (characters); larger input is refused, not truncated
MAX_TEXT_CHARS = 16 * 1024 * 1024


def available_families() -> list[str]:
    """Families whose detector module is installed in this version."""
    found = []
    for name, target in FAMILIES.items():
        module = target.split(":")[0]
        if importlib.util.find_spec(module) is not None:
            found.append(name)
    return found


def default_registry(families: Iterable[str] | None = None) -> DetectorRegistry:
    """A registry with the default detector of each named family (all by default)."""
    registry = DetectorRegistry()
    chosen = list(families) if families is not None else available_families()
    for name in chosen:
        target = FAMILIES.get(name)
        if target is None:
            known = ", ".join(available_families())
            raise ValueError(f"unknown detector family {name!r} (available: {known})")
        module_name, class_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            raise ValueError(f"detector family {name!r} is not available in this version") from None
        detector: Detector = getattr(module, class_name)()
        registry.register(detector)
    return registry


def scan_text(text: str, detectors: Sequence[Detector] | DetectorRegistry) -> list[Finding]:
    """All findings of all detectors, ordered by position."""
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"text of {len(text)} characters is over the limit of {MAX_TEXT_CHARS}; "
            "split it (for example one document per --batch line)"
        )
    findings: list[Finding] = []
    prepared: PreparedText | None = None
    for detector in detectors:
        shared = getattr(detector, "detect_prepared", None)
        if shared is None:
            findings.extend(detector.detect(text))
            continue
        if prepared is None:
            prepared = prepare(text)
        findings.extend(shared(prepared))
    findings.sort(key=lambda f: (f.start, f.end, f.type))
    return findings
