"""The pipeline's layers, one module each. Each is small and testable alone."""

from agentguard.layers.access import AccessLayer
from agentguard.layers.identity import IdentityLayer
from agentguard.layers.input import InputLayer
from agentguard.layers.killswitch import KillSwitchLayer

__all__ = ["AccessLayer", "IdentityLayer", "InputLayer", "KillSwitchLayer"]
