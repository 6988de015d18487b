"""Redis stopped under a webhook that answers through ``webhook.respond`` (issue fault 6): the
caller gets 503 with Retry-After and nothing is started, so its retry makes no duplicate; once
Redis is back, the same API process answers the retry without a restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from test_webhooks import _executions
from webhook_testkit import hook_workflow, publish

from reporunner.platform.api.app import create_app
from reporunner.platform.executions.service import TERMINAL
from reporunner.platform.services import redis_server_binary
from reporunner.platform.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisProcess:
    """A throw-away redis-server child on a fixed port, stoppable with SIGKILL."""

    def __init__(self, tmp: Any) -> None:
        self.port = _free_port()
        self.dir = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(redis_server_binary()), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.kill()


async def test_a_respond_webhook_with_redis_down_answers_503_and_starts_nothing(
    services, settings: Settings, tenant_factory, own_redis: RedisProcess, tmp_path
) -> None:
    tenant = await tenant_factory()
    respond = {"respond_with": "json", "status": 200, "body": {"ok": True}}
    wf = await publish(
        services.database_url,
        tenant.workspace_id,
        hook_workflow("outage", response_mode="respond_node", respond=respond),
    )
    key = base64.b64encode(b"k" * 32).decode()
    app_settings = settings.model_copy(
        update={
            "redis_url": own_redis.url,
            "queue_name": f"outage:{uuid.uuid4().hex}",
            "data_dir": tmp_path,
            "secret_key": SecretStr(key),
            "webhook_response_timeout_seconds": 60,
        }
    )
    async with AsyncTestClient(create_app(app_settings)) as client:
        own_redis.kill()  # Redis stops while the API runs
        down = await client.post(f"/hooks/{tenant.slug}/outage", json={"n": 1})
        assert down.status_code == 503, down.text
        assert int(down.headers["retry-after"]) >= 1
        assert down.headers["content-type"].startswith("application/problem+json")
        assert down.json()["code"] == "service_unavailable"
        assert await _executions(services.database_url, wf) == []  # nothing to duplicate
        # Redis comes back on the same address: the same API process answers the retry, run
        # by a real worker process (the test client blocks this loop while it waits)
        own_redis.start()
        env = {
            **os.environ,
            "DATABASE_URL": services.database_url,
            "REDIS_URL": own_redis.url,
            "REPORUNNER_QUEUE_NAME": app_settings.queue_name,
            "REPORUNNER_DATA_DIR": str(tmp_path),
            "REPORUNNER_SECRET_KEY": key,
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "reporunner.platform.cli", "worker"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            again = await client.post(f"/hooks/{tenant.slug}/outage", json={"n": 1})
            assert again.status_code == 200, again.text
            assert again.json() == {"ok": True}
            deadline = time.monotonic() + 60
            while any(
                r.status not in TERMINAL for r in await _executions(services.database_url, wf)
            ):
                assert time.monotonic() < deadline, "the execution never ended"
                await asyncio.sleep(0.05)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
    assert len(await _executions(services.database_url, wf)) == 1


async def test_a_waited_run_with_redis_down_answers_503_and_starts_nothing(
    services, settings: Settings, tenant_factory, own_redis: RedisProcess, tmp_path
) -> None:
    tenant = await tenant_factory()
    wf = await publish(services.database_url, tenant.workspace_id, hook_workflow("unused"))
    app_settings = settings.model_copy(update={"redis_url": own_redis.url, "data_dir": tmp_path})
    async with AsyncTestClient(create_app(app_settings)) as client:
        own_redis.kill()
        response = await client.post(
            f"/workflows/{wf}/executions?wait=true", json={}, headers=tenant.headers
        )
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == "service_unavailable"
    assert await _executions(services.database_url, wf) == []


async def test_a_worker_process_survives_a_redis_restart_and_says_so_once(
    services, settings: Settings, tenant_factory, own_redis: RedisProcess, tmp_path
) -> None:
    from reporunner.platform.executions import start_execution
    from reporunner.platform.resources import open_resources

    tenant = await tenant_factory()
    wf = await publish(services.database_url, tenant.workspace_id, hook_workflow("later"))
    queue = f"outage:{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": own_redis.url,
        "REPORUNNER_QUEUE_NAME": queue,
        "REPORUNNER_DATA_DIR": str(tmp_path),
        "REPORUNNER_LOG_FORMAT": "text",
    }
    log = tmp_path / "worker.log"
    app_settings = settings.model_copy(update={"redis_url": own_redis.url, "queue_name": queue})
    with log.open("w") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-m", "reporunner.platform.cli", "worker"],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while "worker started" not in log.read_text():
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker did not start"
                await asyncio.sleep(0.1)
            own_redis.kill()
            while "worker lost Redis" not in log.read_text():
                assert worker.poll() is None, "the worker died with Redis: " + log.read_text()
                assert time.monotonic() < deadline + 60, "the worker did not notice"
                await asyncio.sleep(0.1)
            own_redis.start()
            resources = await open_resources(app_settings)
            try:
                out = await start_execution(resources, tenant.workspace_id, uuid.UUID(wf), {})
                while True:
                    [row] = await _executions(services.database_url, wf)
                    if row.status in TERMINAL:
                        break
                    assert worker.poll() is None, log.read_text()
                    assert time.monotonic() < deadline + 120, "the run never ended"
                    await asyncio.sleep(0.1)
                assert (row.id, row.status) == (out.id, "succeeded")
            finally:
                await resources.close()
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=90)
    text = log.read_text()
    assert text.count("worker lost Redis") == 1, text
    assert text.count("worker reconnected to Redis") == 1, text
    assert "Traceback" not in text, text
