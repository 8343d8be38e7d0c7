"""Learned models that ship inside the wheel (no download at run time)."""

from agentguard.models.injection import (
    TOOL_RESULT_THRESHOLD,
    USER_INPUT_THRESHOLD,
    InjectionModel,
    Segment,
)

__all__ = ["TOOL_RESULT_THRESHOLD", "USER_INPUT_THRESHOLD", "InjectionModel", "Segment"]
