"""Fixtures of the security tests (see ``security_testkit``)."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from security_testkit import Listener, Served, serve_subprocess
from sqlalchemy.engine import make_url


@pytest.fixture(scope="session")
def served(services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    name = f"rr_served_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "rr_template"')
    url = make_url(services.database_url).set(database=name)
    database_url = url.render_as_string(hide_password=False)
    data_dir = tmp_path_factory.mktemp("served")
    token = "rr_security_" + "t" * 32
    env = {
        "DATABASE_URL": url.set(drivername="postgresql").render_as_string(hide_password=False),
        "REDIS_URL": services.redis_url,
        "REPORUNNER_BOOTSTRAP_TOKEN": token,
        "REPORUNNER_QUEUE_NAME": f"rr-served-{uuid.uuid4().hex[:8]}",
    }
    try:
        # with its default worker processes, as a user runs it (two of them starting on
        # this fresh database once deadlocked in the checkpoint table set-up:
        # tests/platform/engine/test_engine_checkpoint_setup.py)
        with serve_subprocess(env, data_dir, ready_seconds=180) as (proc, base, log):
            port = int(base.rsplit(":", 1)[1])
            yield Served(base, port, token, database_url, log, proc)
    finally:
        with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_ANSWER = (
    b'{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,'
    b'"message":{"role":"assistant","content":"pwned"},"finish_reason":"stop"}],'
    b'"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    found = Listener(int(server.getsockname()[1]))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            found.connections += 1
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    found.received.append(data)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                        % (len(_ANSWER), _ANSWER)
                    )
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stop.set()
    server.close()
    thread.join(timeout=5)
