"""Fixtures of the platform knowledge tests: resources on our own queue and data directory."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.worker import build_worker


@pytest.fixture
def kb_settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"queue_name": f"test:kb:{uuid.uuid4().hex}", "data_dir": tmp_path / "data"}
    )


@pytest.fixture
async def kb_resources(kb_settings: Settings) -> AsyncIterator[Resources]:
    resources = await open_resources(kb_settings)
    yield resources
    await resources.close()


@pytest.fixture
def drain_queue(kb_resources: Resources) -> Callable[[], Awaitable[None]]:
    """Run a burst worker on the test's queue until it is empty."""

    async def run() -> None:
        await build_worker(kb_resources, burst=True, handle_signals=False).main()

    return run
