"""Load-time checks of the policy's ``detectors:`` section: every detector a rule names is
created once (built-in families, the policy's ``custom:`` detectors, entry points), every
finding type and tool pattern it names exists, and every quality check's function imports.

Problems are reported through the loader's ``report(loc, message)`` so that each carries
``file:line:column``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agentguard.detect.base import Detector
from agentguard.detect.plugins import DetectorLoadError, import_target, resolve_detectors
from agentguard.policy.models import Policy, ToneSettings

#: A quality check: ``(fields, action) -> True | False | str | None`` (sync or async).
#: True or None passes; False or a string (the reason) fails.
QualityFunction = Callable[..., Any]
Report = Callable[[Iterable[str | int], str], None]


def builtin_factories(tone: ToneSettings) -> dict[str, Callable[[], Detector]]:
    """The built-in detector families, created on first use (some load data)."""

    def pii() -> Detector:
        from agentguard.detect.pii import PIIDetector

        return PIIDetector()

    def secrets() -> Detector:
        from agentguard.detect.secrets import SecretsDetector

        return SecretsDetector()

    def injection() -> Detector:
        from agentguard.detect.injection import InjectionDetector

        return InjectionDetector()

    def tone_detector() -> Detector:
        from agentguard.detect.tone import ToneDetector

        return ToneDetector(
            banned_phrases=tone.banned_phrases,
            required_disclaimers=tone.required_disclaimers,
            extra_words=tone.extra_words,
            allowed_words=tone.allowed_words,
        )

    return {"pii": pii, "secrets": secrets, "injection": injection, "tone": tone_detector}


def matches_any(tool: str, patterns: Iterable[str]) -> bool:
    """Whether ``tool`` matches one of the names or glob patterns."""
    return any(p == tool or fnmatch.fnmatchcase(tool, p) for p in patterns)


def load_content(
    model: Policy, tool_names: list[str], report: Report
) -> tuple[dict[str, Detector], dict[str, QualityFunction | None]]:
    section = model.detectors
    factories = builtin_factories(section.tone)
    detectors: dict[str, Detector] = {}
    for index, rule in enumerate(section.rules):
        loc: list[str | int] = ["detectors", "rules", index]
        for pattern in rule.tools:
            if not any(fnmatch.fnmatchcase(t, pattern) for t in tool_names):
                report(
                    [*loc, "tools"],
                    f"detector rule {index + 1} names tool {pattern!r}, which matches no tool "
                    "defined under 'tools:'",
                )
        found: list[Detector] = []
        for position, name in enumerate(rule.detectors):
            if name in detectors:
                found.append(detectors[name])
                continue
            try:
                created = resolve_detectors([name], custom=section.custom, builtin=factories)[name]
            except DetectorLoadError as exc:
                report([*loc, "detectors", position], str(exc))
                continue
            detectors[name] = created
            found.append(created)
        if rule.types is not None and len(found) == len(rule.detectors):
            offered = {t for d in found for t in d.types}
            for position, kind in enumerate(rule.types):
                if kind not in offered:
                    report(
                        [*loc, "types", position],
                        f"no detector of this rule reports type {kind!r} "
                        f"(they report: {', '.join(sorted(offered))})",
                    )
    for name, target in section.custom.items():
        if name not in detectors:  # unused, but must still load: a typo is not ignored
            try:
                detectors[name] = resolve_detectors(
                    [name], custom=section.custom, builtin=factories
                )[name]
            except DetectorLoadError as exc:
                report(["detectors", "custom", name], f"{exc} (custom detector {target!r})")

    functions: dict[str, QualityFunction | None] = {}
    for index, check in enumerate(section.quality_checks):
        loc = ["detectors", "quality_checks", index]
        if check.name in functions:
            report([*loc, "name"], f"two quality checks are named {check.name!r}")
            continue
        functions[check.name] = None
        if check.call is not None:
            try:
                target = import_target(check.call)
            except DetectorLoadError as exc:
                report([*loc, "call"], str(exc))
                continue
            if not callable(target):
                report([*loc, "call"], f"{check.call!r} is not callable")
                continue
            functions[check.name] = target
        for pattern in check.tools:
            if not any(fnmatch.fnmatchcase(t, pattern) for t in tool_names):
                report(
                    [*loc, "tools"],
                    f"quality check {check.name!r} names tool {pattern!r}, which matches no "
                    "tool defined under 'tools:'",
                )
    return detectors, functions


def outbound_fields(model: Policy) -> Mapping[str, tuple[str, ...]]:
    """tool → its outbound argument paths."""
    return {name: tuple(spec.outbound) for name, spec in model.tools.items() if spec.outbound}
