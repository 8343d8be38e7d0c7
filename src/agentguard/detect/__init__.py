"""Content detectors (PII, secrets, injection, tone) behind one protocol and a registry."""

from agentguard.detect.base import Detector, DetectorRegistry, Finding

__all__ = ["Detector", "DetectorRegistry", "Finding"]
