"""The pipeline's layers, one module each. Each is small and testable alone."""

from agentguard.layers.access import AccessLayer
from agentguard.layers.content import ContentLayer
from agentguard.layers.identity import IdentityLayer
from agentguard.layers.input import InputLayer
from agentguard.layers.killswitch import KillSwitchLayer
from agentguard.layers.leaks import LeakLayer
from agentguard.layers.quality import QualityLayer

__all__ = [
    "AccessLayer",
    "ContentLayer",
    "IdentityLayer",
    "InputLayer",
    "KillSwitchLayer",
    "LeakLayer",
    "QualityLayer",
]
