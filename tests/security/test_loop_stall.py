"""Silent loop stalls (#18, from the code's notes): "a loop whose body never sends items back
ends ``succeeded`` without its ``done`` port".

A ``logic.loop`` whose body is not wired back to its ``continue`` input is refused at
validation (``loop_without_continue``, with the loop node's JSON pointer). A body that is wired
back but drops a whole batch (a filter that keeps nothing) stalls the loop at run time: the
execution now fails with ``loop_stalled`` naming the loop instead of succeeding without the
loop's results.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from reporunner.nodes.registry import default_registry
from reporunner.platform.auth import create_workspace_with_owner
from reporunner.platform.db.session import transaction
from reporunner.platform.engine.validate import validate
from reporunner.platform.executions import start_execution
from reporunner.platform.executions.service import get_execution
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import load_settings
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

pytestmark = pytest.mark.timeout(120)

KEEP_BIG = {
    "conditions": [{"value": "{{ item.n }}", "operator": "gte", "compare": 100}],
    "combinator": "and",
}


def _loop(body_back: bool) -> dict[str, Any]:
    edges = [
        {"source": "start", "target": "split"},
        {"source": "split", "target": "loop"},
        {"source": "loop", "source_port": "loop", "target": "keep"},
        {"source": "loop", "source_port": "done", "target": "after"},
    ]
    if body_back:
        edges.append({"source": "keep", "target": "loop", "target_port": "continue"})
    return {
        "name": "loop",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "split", "type": "data.split_out", "params": {"field": "items"}},
            {"id": "loop", "type": "logic.loop", "params": {"batch_size": 2}},
            {"id": "keep", "type": "logic.filter", "params": KEEP_BIG},
            {"id": "after", "type": "logic.noop"},
        ],
        "edges": edges,
    }


def test_a_loop_body_not_wired_back_is_refused_at_validation() -> None:
    problems = validate(_loop(body_back=False), default_registry())
    found = [p for p in problems if p.code == "loop_without_continue"]
    assert len(found) == 1, problems
    assert found[0].pointer == "/nodes/2"
    assert "'continue'" in found[0].message
    assert not [p for p in validate(_loop(body_back=True), default_registry())]


@pytest.fixture
async def resources(services: Any) -> AsyncIterator[Resources]:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        queue_name=f"sec:loop:{uuid.uuid4().hex}",
    )
    opened = await open_resources(settings)
    yield opened
    await opened.close()


async def _run(resources: Resources, items: list[dict[str, Any]]) -> Any:
    slug = f"ws-{uuid.uuid4().hex[:10]}"
    async with resources.sessions() as session, session.begin():
        workspace, _, _ = await create_workspace_with_owner(
            session, slug=slug, email=f"{slug}@example.test"
        )
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, workspace.id, _loop(body_back=True), default_registry())
    started = await start_execution(resources, workspace.id, wf.id, {"items": items})
    await build_worker(resources, burst=True, handle_signals=False).main()
    async with transaction(resources.sessions) as db:
        return await get_execution(db, workspace.id, started.id)


async def test_a_batch_dropped_by_the_body_fails_the_run_as_stalled(
    resources: Resources,
) -> None:
    done = await _run(resources, [{"n": 1}, {"n": 2}, {"n": 3}])  # the filter keeps nothing
    assert done.status == "failed", done
    assert done.error is not None
    assert done.error["code"] == "loop_stalled"
    assert "'loop'" in done.error["message"]
    assert "1 item(s) still to send" in done.error["message"]


async def test_a_body_that_sends_every_batch_back_succeeds(resources: Resources) -> None:
    done = await _run(resources, [{"n": 100}, {"n": 200}, {"n": 300}])
    assert done.status == "succeeded", done.error
