"""Requests that hold shutdown hostage (#18, finding 3: "SIGTERM did not stop it").

``reporunner serve`` waited for every open request before it exited: an upload that never
finishes sending, or an event stream that follows an execution which never ends, kept it
running after SIGTERM for as long as the client liked. Now open requests get the documented
grace period (``REPORUNNER_WORKER_SHUTDOWN_GRACE_SECONDS``, the same one the worker gets), then
serve closes them and exits.

The stream is open (its response has started) and the upload half-sent before the signal, so
both are in flight by an event, not by timing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from security_testkit import REPORUNNER, free_port
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.timeout(240)

GRACE = 2.0
SLACK = 30.0
"""What "within the grace period" allows beyond the grace itself (a loaded machine); the fault
was a server that never exits."""

WAITING = {
    "name": "never ends without a worker",
    "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "noop", "type": "logic.noop"}],
    "edges": [{"source": "start", "target": "noop"}],
}


@pytest.fixture
def served(services: Any, tmp_path: Any) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    name = f"rr_stop_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "rr_template"')
    url = make_url(services.database_url).set(database=name, drivername="postgresql")
    port = free_port()
    token = "rr_stop_" + "s" * 32
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORUNNER_")}
    env.update(
        DATABASE_URL=url.render_as_string(hide_password=False),
        REDIS_URL=services.redis_url,
        REPORUNNER_DATA_DIR=str(tmp_path / "data"),
        REPORUNNER_BOOTSTRAP_TOKEN=token,
        REPORUNNER_QUEUE_NAME=f"rr-stop-{uuid.uuid4().hex[:8]}",
        REPORUNNER_WORKER_SHUTDOWN_GRACE_SECONDS=str(GRACE),
        REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE="0",
        REPORUNNER_LOG_FORMAT="text",
    )
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [REPORUNNER, "serve", "--port", str(port), "--no-worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        yield proc, base, token
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _queued_execution(base: str, headers: dict[str, str]) -> str:
    made = httpx.post(f"{base}/workflows?publish=true", json=WAITING, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    wf = made.json()["workflow"]["id"]
    run = httpx.post(f"{base}/workflows/{wf}/executions", json={}, headers=headers, timeout=30)
    assert run.status_code in (200, 201, 202), run.text
    return str(run.json()["id"])


def test_sigterm_stops_serve_with_a_stream_and_an_upload_in_flight(
    served: tuple[subprocess.Popen[str], str, str],
) -> None:
    proc, base, token = served
    headers = {"Authorization": f"Bearer {token}"}
    execution = _queued_execution(base, headers)  # no worker: it stays queued, the stream open
    port = int(base.rsplit(":", 1)[1])

    stream = socket.create_connection(("127.0.0.1", port), timeout=30)
    stream.sendall(
        f"GET /executions/{execution}/events HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    assert stream.recv(4096).startswith(b"HTTP/1.1 200")  # the response has started

    upload = socket.create_connection(("127.0.0.1", port), timeout=30)
    boundary = "b" * 16
    first = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n' + "x" * 65536
    ).encode()
    upload.sendall(
        f"POST /knowledge-bases/{uuid.uuid4()}/documents HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode()
        + first
    )  # and never the rest

    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=GRACE + SLACK)
    finally:
        stream.close()
        upload.close()
    assert code == 0
