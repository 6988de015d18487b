"""Fixtures of the executions tests: resources on a queue of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings


@pytest.fixture
def exec_settings(settings: Settings) -> Settings:
    """Fast heartbeat, and a queue no other test uses.

    ``reap_after_seconds`` is far beyond any heartbeat a busy machine may delay, so a live run is
    never reaped by the clock; a test that needs a lost worker moves the row's clock back
    (``test_exec_reaper._stale``) instead of waiting for it."""
    return settings.model_copy(
        update={
            "queue_name": f"test:exq:{uuid.uuid4().hex}",
            "heartbeat_seconds": 0.3,
            "reap_after_seconds": 60.0,
        }
    )


@pytest.fixture
async def resources(exec_settings: Settings) -> AsyncIterator[Resources]:
    opened = await open_resources(exec_settings)
    yield opened
    await opened.close()
