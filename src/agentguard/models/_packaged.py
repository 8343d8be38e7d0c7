"""Weights shipped as package data, read once per process on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import resources
from typing import Generic, TypeVar

T = TypeVar("T")


class Packaged(Generic[T]):
    """The object ``build`` makes from the bytes of ``agentguard.models/<file>``: built on
    the first :meth:`get`, once however many threads ask at the same time."""

    def __init__(self, file: str, build: Callable[[bytes], T]) -> None:
        self._file = file
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                value = self._value
                if value is None:
                    blob = resources.files(__package__).joinpath(self._file).read_bytes()
                    value = self._value = self._build(blob)
        return value
