"""A run that uses a credential and fails leaks its secret nowhere: not in API responses
(executions, node runs, events, credentials, audit) and not in any log line."""

from __future__ import annotations

import logging
import uuid

from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.logs import JsonFormatter
from reporunner.platform.resources import open_resources
from reporunner.platform.worker import build_worker

SECRET = "Pa55-" + uuid.uuid4().hex


def _flow(credential_id: str) -> dict:
    return {
        "name": "uses a secret",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "bump",
                "type": "redis.command",
                "params": {"operation": "incr", "key": "never"},
                "credentials": {"redis_url": credential_id},
            },
        ],
        "edges": [{"source": "start", "target": "bump"}],
    }


class _Lines(logging.Handler):
    """Every log record of the test, formatted as the JSON log line it would be."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_a_failed_run_leaks_its_credential_nowhere(settings, tenant_factory) -> None:
    root = logging.getLogger()
    handler, level = _Lines(), root.level
    try:
        bodies, execution_id = await _run_and_read(settings, tenant_factory, handler)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert len(bodies) == 7
    for body in bodies:
        assert SECRET not in body
    assert any(execution_id in line for line in handler.lines), handler.lines[-5:]
    for line in handler.lines:
        assert SECRET not in line


async def _run_and_read(settings, tenant_factory, handler: _Lines) -> tuple[list[str], str]:
    admin = await tenant_factory(role="admin")
    own = settings.model_copy(update={"queue_name": f"secrets:{uuid.uuid4().hex}"})
    # a closed port: the node connects with the password and fails
    url = f"redis://:{SECRET}@127.0.0.1:1/0"
    bodies: list[str] = []
    async with AsyncTestClient(create_app(own)) as client:
        # after the app started: Litestar's logging set-up replaces the root handlers
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.DEBUG)
        created = await client.post(
            "/credentials",
            json={"name": "bad redis", "type": "redis_url", "data": {"url": url}},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        cred = created.json()["id"]
        made = await client.post("/workflows", json=_flow(cred), headers=admin.headers)
        assert made.status_code == 201, made.text
        workflow_id = made.json()["workflow"]["id"]
        run = await client.post(
            f"/workflows/{workflow_id}/executions", json={}, headers=admin.headers
        )
        assert run.status_code in (200, 201, 202), run.text
        execution_id = run.json()["id"]
        resources = await open_resources(own)
        try:
            await build_worker(resources, burst=True, handle_signals=False).main()
        finally:
            await resources.close()
        detail = await client.get(f"/executions/{execution_id}", headers=admin.headers)
        assert detail.json()["status"] == "failed", detail.text
        [bump] = [n for n in detail.json()["node_runs"] if n["node_id"] == "bump"]
        assert bump["status"] == "failed", detail.text  # it ran with the credential, and failed
        for path in (
            f"/executions/{execution_id}",
            f"/executions/{execution_id}/events",
            "/executions",
            f"/workflows/{workflow_id}",
            "/credentials",
            f"/credentials/{cred}",
            "/audit",
        ):
            response = await client.get(path, headers=admin.headers)
            assert response.status_code == 200, f"{path}: {response.text}"
            bodies.append(f"{path}: {response.text}")
    return bodies, execution_id
