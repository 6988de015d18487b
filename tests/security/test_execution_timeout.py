"""Runaway executions (#18, from the code's notes): one execution timeout, owned by the engine.

``REPORUNNER_EXECUTION_TIMEOUT_SECONDS`` used to set only arq's ``job_timeout`` while workflows
defaulted to 3,600 s of their own: a longer workflow was cancelled by arq, re-queued by the
reaper and ended ``worker_lost`` after five tries. Now the engine applies the smaller of the
two and fails the execution with ``execution_timeout`` naming the setting; arq's limit is
derived from it and larger, so arq never cancels first.

The workflow waits 3,000 s (``logic.wait``) under a 1 s server limit: only the timeout can end
it, however fast or slow the machine.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from reporunner.nodes.registry import default_registry
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import transaction
from reporunner.platform.executions import start_execution
from reporunner.platform.executions.service import get_execution
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import load_settings
from reporunner.platform.worker import build_worker
from reporunner.platform.worker.app import job_timeout
from reporunner.platform.workflows import create_workflow

pytestmark = pytest.mark.timeout(120)

LONG_WAIT = {
    "name": "waits longer than the server allows",
    "settings": {"timeout_seconds": 7200},
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        {"id": "pause", "type": "logic.wait", "params": {"amount": 3000, "unit": "seconds"}},
    ],
    "edges": [{"source": "start", "target": "pause"}],
}


@pytest.fixture
async def resources(services: Any) -> AsyncIterator[Resources]:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        queue_name=f"sec:timeout:{uuid.uuid4().hex}",
        execution_timeout_seconds=1.0,
    )
    opened = await open_resources(settings)
    yield opened
    await opened.close()


async def test_the_engine_times_out_before_arq_and_names_the_setting(
    resources: Resources,
) -> None:
    settings = resources.settings
    worker = build_worker(resources, burst=True, handle_signals=False)
    assert job_timeout(settings) > settings.execution_timeout_seconds
    assert worker.job_timeout_s == job_timeout(settings)

    slug = f"ws-{uuid.uuid4().hex[:10]}"
    async with resources.sessions() as session, session.begin():
        workspace, _, _ = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, workspace.id, LONG_WAIT, default_registry())
    started = await start_execution(resources, workspace.id, wf.id, {})
    await worker.main()  # burst: returns once the queue is empty

    async with transaction(resources.sessions) as db:
        done = await get_execution(db, workspace.id, started.id)
    assert done.status == "failed", done
    assert done.error is not None
    assert done.error["code"] == "execution_timeout"
    assert "REPORUNNER_EXECUTION_TIMEOUT_SECONDS=1" in done.error["message"]
    assert done.attempts <= 1  # one run, not re-queued by arq's cancel and the reaper
