"""Finding detectors by name: the built-in families, the policy's ``custom:`` entries and
detectors that installed packages offer in the entry-point group ``agentguard.detectors``.

A custom target is ``"module:attribute"``; the attribute may be a detector instance, a
class, or a function returning a detector (classes and functions are called with no
arguments). Whatever it yields must satisfy :class:`agentguard.detect.Detector`.

Example (``pyproject.toml`` of a package offering a detector)::

    [project.entry-points."agentguard.detectors"]
    acme_ids = "acme_guard.detectors:AcmeIdDetector"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from agentguard.detect.base import Detector

ENTRY_POINT_GROUP = "agentguard.detectors"


class DetectorLoadError(ValueError):
    """A detector name that names nothing, or a target that does not load."""


def import_target(target: str) -> Any:
    """The object at ``"module:attribute"`` (dotted attributes allowed)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise DetectorLoadError(f"{target!r} is not of the form 'module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise DetectorLoadError(
            f"cannot import module {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise DetectorLoadError(f"module {module_name!r} has no {attribute!r}") from None
    return obj


def as_detector(obj: Any, name: str) -> Detector:
    """A detector from an instance, a class or a factory; checks the protocol."""
    candidate = obj
    # A class has the protocol's attributes too, so classes are always instantiated.
    if isinstance(obj, type) or (not isinstance(obj, Detector) and callable(obj)):
        try:
            candidate = obj()
        except Exception as exc:
            raise DetectorLoadError(
                f"detector {name!r} could not be created ({type(exc).__name__}: {exc})"
            ) from None
    if isinstance(candidate, type) or not isinstance(candidate, Detector):
        raise DetectorLoadError(
            f"detector {name!r} does not provide name, types and detect(text) -> list[Finding]"
        )
    return candidate


def entry_point_names() -> dict[str, str]:
    """Detectors offered by installed packages: name → 'module:attribute'."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_detectors(
    names: Iterable[str],
    *,
    custom: Mapping[str, str],
    builtin: Mapping[str, Callable[[], Detector]],
) -> dict[str, Detector]:
    """Create one detector per distinct name. Lookup order: ``custom`` (the policy's own),
    then the built-in families, then entry points. Raises :class:`DetectorLoadError`."""
    offered: dict[str, str] | None = None
    found: dict[str, Detector] = {}
    for name in names:
        if name in found:
            continue
        if name in custom:
            found[name] = as_detector(import_target(custom[name]), name)
            continue
        if name in builtin:
            found[name] = builtin[name]()
            continue
        if offered is None:
            offered = entry_point_names()
        if name in offered:
            found[name] = as_detector(import_target(offered[name]), name)
            continue
        known = sorted({*custom, *builtin, *offered})
        raise DetectorLoadError(f"no detector named {name!r} (known: {', '.join(known)})")
    return found
