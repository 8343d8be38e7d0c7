"""Fixtures of the store contract suites: ``backend`` runs a test once per backend (see
``backends.py``), ``store`` opens one of its stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.store.backends import BACKENDS, Backend

from agentguard.store import Store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    make: Callable[[Path], Backend] = request.param
    return make(tmp_path)


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    opened = backend.open("store")
    yield opened
    opened.close()
