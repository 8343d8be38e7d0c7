"""Where the guard finds its layers: each layer module registers one :class:`LayerSpec`.

A spec names the layer, gives its place in the order, builds it from one
:class:`LayerContext`, and names the :class:`~agentguard.errors.Denied` subclass raised when
it refuses an action. The guard asks :func:`build_layers` for the layers of a policy and
never lists them itself, so a new layer is one new module in ``agentguard.layers`` (found by
:func:`load_builtin_layers`) or, from another package, one entry point in the group
``agentguard.layers`` naming a :class:`LayerSpec`.

Example (the whole registration of a layer module)::

    register(LayerSpec("killswitch", 200, lambda ctx: KillSwitchLayer(ctx.store), AgentStopped))

Orders of the built-in layers (leave gaps for new ones): identity 100, killswitch 200,
input 300, access 400, breakers 500, limits 600, content 700, leaks 800, quality 900.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from agentguard.errors import Denied, register_denial

if TYPE_CHECKING:
    from agentguard.clock import Clock
    from agentguard.detect.base import Detector
    from agentguard.pipeline import Layer
    from agentguard.policy import LoadedPolicy
    from agentguard.store import Store
    from agentguard.tools import ToolFunction


@dataclass(frozen=True)
class LayerContext:
    """Everything a layer may be built from."""

    policy: LoadedPolicy
    store: Store
    clock: Clock
    #: the registered tool implementations (may grow: read it at call time)
    functions: Mapping[str, ToolFunction]
    #: the functions of the policy's quality checks, by name
    quality: Mapping[str, Callable[..., Any]]
    #: the PII and secrets detectors the guard redacts with (created on first call)
    detectors: Callable[[], tuple[Detector, ...]]
    #: anything else a guard was given for its layers (``owner_resolver`` …)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its name, its place in the order, how it is built and what it raises.

    ``build`` may return None when the policy gives the layer nothing to do: it is then left
    out of the pipeline and costs nothing.
    """

    name: str
    order: int
    build: Callable[[LayerContext], Layer | None]
    denied: type[Denied] = Denied


_SPECS: dict[str, LayerSpec] = {}
_lock = threading.RLock()  # importing a layer module registers it under the lock
_loaded = False


def register(spec: LayerSpec) -> LayerSpec:
    """Add a layer (a second registration under the same name replaces the first)."""
    register_denial(spec.name, spec.denied)  # refuses a class that is no Denied
    with _lock:
        _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> LayerSpec | None:
    """Remove a layer added by :func:`register` (guards built before keep theirs)."""
    with _lock:
        return _SPECS.pop(name, None)


def specs() -> list[LayerSpec]:
    """Every registered layer, in pipeline order."""
    load_builtin_layers()
    with _lock:
        return sorted(_SPECS.values(), key=lambda s: (s.order, s.name))


def build_layers(context: LayerContext) -> list[Layer]:
    """The layers for ``context``'s policy, in order, leaving out those with nothing to do."""
    built = (spec.build(context) for spec in specs())
    return [layer for layer in built if layer is not None]


def load_builtin_layers() -> None:
    """Import every module of ``agentguard.layers`` (each registers itself) and every
    ``agentguard.layers`` entry point, once."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        import agentguard.layers as package

        for module in pkgutil.iter_modules(package.__path__):
            if module.name != "registry":
                importlib.import_module(f"{package.__name__}.{module.name}")
        _loaded = True
    for point in entry_points(group="agentguard.layers"):
        spec = point.load()
        if not isinstance(spec, LayerSpec):
            raise TypeError(
                f"entry point {point.name!r} in group agentguard.layers must name a LayerSpec"
            )
        register(spec)
