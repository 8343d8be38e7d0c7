"""Load-time checks of the policy's ``detectors:`` section: every detector a rule names is
created once (built-in families, the policy's ``custom:`` detectors, entry points), every
finding type and tool pattern it names exists, and every quality check's function imports.
Loading can leave the policy's own Python code unimported (``load_plugins=False``), for
checking a policy without running it.

Problems are reported through the loader's ``report(loc, message)`` so that each carries
``file:line:column``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agentguard.detect.base import Detector
from agentguard.detect.plugins import (
    DetectorLoadError,
    entry_point_names,
    import_target,
    resolve_detectors,
)
from agentguard.policy.detectors import InjectionSettings, PIISettings, ToneSettings
from agentguard.policy.models import Policy

#: A quality check: ``(fields, action) -> True | False | str | None`` (sync or async).
#: True or None passes; False or a string (the reason) fails.
QualityFunction = Callable[..., Any]
Report = Callable[[Iterable[str | int], str], None]


def builtin_factories(
    tone: ToneSettings,
    injection_settings: InjectionSettings | None = None,
    pii_settings: PIISettings | None = None,
) -> dict[str, Callable[[], Detector]]:
    """The built-in detector families, created on first use (some load data)."""

    def pii() -> Detector:
        from agentguard.detect.pii import PIIDetector

        settings = pii_settings or PIISettings()
        return PIIDetector(
            region=settings.region,
            phone_regions=settings.phone_regions,
            learned_names=settings.learned_names,
        )

    def secrets() -> Detector:
        from agentguard.detect.secrets import SecretsDetector

        return SecretsDetector()

    def injection() -> Detector:
        from agentguard.detect.injection import InjectionDetector

        settings = injection_settings or InjectionSettings()
        return InjectionDetector(settings.allowed_hosts, model=settings.model)

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


@dataclass(frozen=True, slots=True)
class Plugin:
    """Python code the policy names that was not imported (``load_plugins=False``)."""

    #: "custom detector", "detector entry point" or "quality check"
    kind: str
    #: the detector's or quality check's name in the policy
    name: str
    #: where the code is, as ``module:attribute``
    target: str


def load_content(
    model: Policy, tool_names: list[str], report: Report, *, load_plugins: bool = True
) -> tuple[dict[str, Detector], dict[str, QualityFunction | None], tuple[Plugin, ...]]:
    """Create the detectors the rules name and import the quality check functions.

    With ``load_plugins=False`` nothing outside agentguard is imported: custom detectors,
    detectors offered by other packages and quality check functions are checked by name
    only and returned as :class:`Plugin` entries instead.
    """
    section = model.detectors
    factories = builtin_factories(section.tone, section.injection, section.pii)
    detectors: dict[str, Detector] = {}
    unloaded: dict[str, Plugin] = {}
    offered: dict[str, str] | None = None

    def find(name: str) -> Detector | Plugin:
        """The detector ``name``, or the plugin that would provide it."""
        nonlocal offered
        if load_plugins:
            return resolve_detectors([name], custom=section.custom, builtin=factories)[name]
        if name in section.custom:  # the policy's own detector wins over a built-in one
            return Plugin("custom detector", name, checked_target(section.custom[name]))
        if name in factories:
            return factories[name]()
        if offered is None:
            offered = entry_point_names()  # package metadata only: nothing is imported
        if name in offered:
            return Plugin("detector entry point", name, offered[name])
        known = sorted({*section.custom, *factories, *offered})
        raise DetectorLoadError(f"no detector named {name!r} (known: {', '.join(known)})")

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
            if name in unloaded:
                continue
            try:
                created = find(name)
            except DetectorLoadError as exc:
                report([*loc, "detectors", position], str(exc))
                continue
            if isinstance(created, Plugin):
                unloaded[name] = created
                continue
            detectors[name] = created
            found.append(created)
        if rule.types is not None and len(found) == len(rule.detectors):
            offered_types = {t for d in found for t in d.types}
            for position, kind in enumerate(rule.types):
                if kind not in offered_types:
                    report(
                        [*loc, "types", position],
                        f"no detector of this rule reports type {kind!r} "
                        f"(they report: {', '.join(sorted(offered_types))})",
                    )
    for name, target in section.custom.items():
        if name not in detectors and name not in unloaded:
            # unused, but must still load: a typo is not ignored
            try:
                created = find(name)
            except DetectorLoadError as exc:
                report(["detectors", "custom", name], f"{exc} (custom detector {target!r})")
                continue
            if isinstance(created, Plugin):
                unloaded[name] = created
            else:
                detectors[name] = created

    functions: dict[str, QualityFunction | None] = {}
    checks: list[Plugin] = []
    for index, check in enumerate(section.quality_checks):
        loc = ["detectors", "quality_checks", index]
        if check.name in functions:
            report([*loc, "name"], f"two quality checks are named {check.name!r}")
            continue
        functions[check.name] = None
        if check.call is not None and not load_plugins:
            try:
                checks.append(Plugin("quality check", check.name, checked_target(check.call)))
            except DetectorLoadError as exc:
                report([*loc, "call"], str(exc))
        elif check.call is not None:
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
    return detectors, functions, (*unloaded.values(), *checks)


def checked_target(target: str) -> str:
    """``target`` if it reads as ``module:attribute``, without importing anything."""
    module, sep, attribute = target.partition(":")
    if not (
        sep
        and all(part.isidentifier() for part in module.split("."))
        and all(part.isidentifier() for part in attribute.split("."))
    ):
        raise DetectorLoadError(f"{target!r} is not of the form 'module:attribute'")
    return target


def outbound_fields(model: Policy) -> Mapping[str, tuple[str, ...]]:
    """tool → its outbound argument paths."""
    return {name: tuple(spec.outbound) for name, spec in model.tools.items() if spec.outbound}
