"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

# The golden files are test data (many deliberately broken), not scenarios for the pytest plugin to collect
# when `pytest tests/` names this folder (docs/pytest.md).
collect_ignore_glob = ["golden/*.mock"]


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`@pytest.mark.anyio`) run on asyncio, the loop the server and runner use."""
    return "asyncio"
