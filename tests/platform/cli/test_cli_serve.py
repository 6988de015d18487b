"""`reporunner serve` as a real subprocess on the embedded services."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

REPORUNNER = str(Path(sys.executable).parent / "reporunner")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["REPORUNNER_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def _servers_of(data_dir: Path) -> list[psutil.Process]:
    """Postgres processes started on ``data_dir`` and Redis servers running inside it.

    Redis rewrites its process title, so it is recognised by its working directory instead.
    """
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == "postgres":
                if str(data_dir) in " ".join(proc.info["cmdline"] or []):
                    found.append(proc)
            elif proc.info["name"] == "redis-server" and proc.cwd().startswith(str(data_dir)):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_servers_of_finds_both_servers(serve, tmp_path: Path) -> None:
    serve()
    names = {p.info["name"] for p in _servers_of(tmp_path)}
    assert names == {"postgres", "redis-server"}, [p.info for p in _servers_of(tmp_path)]


def test_serving_is_said_once_the_port_listens(serve) -> None:
    proc, port = serve(wait=False)
    assert proc.stdout is not None
    for line in proc.stdout:  # printed lines come before it (migrations, workers...)
        if "serving on" in line:
            break
    else:
        raise AssertionError(f"serve ended without serving: {proc.communicate()}")
    # not a race: the line is printed only after uvicorn has bound the port
    with socket.create_connection(("127.0.0.1", port), timeout=10):
        pass
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200


def _wait_healthy(port: int, proc: subprocess.Popen[str], deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.communicate()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not answer /healthz in time")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    procs: list[subprocess.Popen[str]] = []

    def start(
        data_dir: Path = tmp_path,
        port: int | None = None,
        wait: bool = True,
        extra: tuple[str, ...] = (),
    ) -> tuple[subprocess.Popen[str], int]:
        port = port or _free_port()
        proc = subprocess.Popen(
            [REPORUNNER, "serve", "--port", str(port), *extra],
            env=_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        if wait:
            _wait_healthy(port, proc)
        return proc, port

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    for server in _servers_of(tmp_path):
        server.kill()


def test_serve_answers_then_sigterm_leaves_nothing_behind(serve, tmp_path: Path) -> None:
    proc, port = serve()
    _wait_readyz(port, 200)  # its worker processes take jobs
    assert _servers_of(tmp_path), "embedded postgres/redis should run under the data dir"
    # the first start prints the owner's one-time set-up link (before serving: already there)
    assert proc.stdout is not None
    shown = [proc.stdout.readline() for _ in range(4)]
    link = next(line for line in shown if "/setup?token=" in line).strip().split(" ")[-1]
    assert link.startswith(f"http://127.0.0.1:{port}/setup?token=")
    token = link.split("token=", 1)[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as browser:
        assert browser.get(f"/auth/setup/{token}").json()["workspace"]["slug"] == "default"
        body = {"token": token, "email": "me@example.test", "password": "a long passphrase"}
        done = browser.post("/auth/setup", json=body)
        assert done.status_code == 200, done.text
        assert browser.get("/auth/me").json()["role"] == "owner"
    proc.send_signal(signal.SIGTERM)
    rest, _err = proc.communicate(timeout=10)
    out = "".join(shown) + rest
    assert proc.returncode == 0
    assert f"serving on http://127.0.0.1:{port}" in out
    assert f"API docs: http://127.0.0.1:{port}/docs" in out
    leftovers: list[psutil.Process] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        leftovers = [p for p in _servers_of(tmp_path) if p.status() != psutil.STATUS_ZOMBIE]
        if not leftovers:
            break
        time.sleep(0.1)
    assert leftovers == []


def test_second_serve_on_same_data_dir_reuses_the_servers(serve, tmp_path: Path) -> None:
    # about the embedded servers, not workers (whose start-up /readyz would wait for)
    first, port1 = serve(extra=("--no-worker",))
    postmasters = [p for p in _servers_of(tmp_path) if p.info["name"] == "postgres"]
    second, port2 = serve(extra=("--no-worker",))
    assert [p for p in _servers_of(tmp_path) if p.info["name"] == "postgres"][:1] == postmasters[:1]
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=10)
    # the second keeps working on the servers the first started
    _wait_readyz(port2, 200)
    second.send_signal(signal.SIGTERM)
    second.communicate(timeout=10)
    assert second.returncode == 0
    deadline = time.monotonic() + 5
    while _servers_of(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _servers_of(tmp_path) == []
    assert port1 != port2


def test_bad_database_url_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [REPORUNNER, "serve", "--port", str(_free_port())],
        env=_env(tmp_path, DATABASE_URL="nonsense"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("reporunner: DATABASE_URL:")
    assert "Traceback" not in result.stderr


def test_version_and_migrate(fresh_database, tmp_path: Path) -> None:
    version = subprocess.run(
        [REPORUNNER, "version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert version.stdout.strip() == "0.1.0"
    migrate = subprocess.run(
        [REPORUNNER, "migrate"],
        env=_env(
            tmp_path,
            DATABASE_URL=fresh_database.database_url,
            REDIS_URL=fresh_database.redis_url,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "newest revision" in migrate.stdout


def test_production_without_secret_key_refuses_before_starting(tmp_path: Path) -> None:
    result = subprocess.run(
        [REPORUNNER, "serve", "--port", str(_free_port())],
        env=_env(tmp_path, REPORUNNER_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("reporunner: REPORUNNER_SECRET_KEY: required")
    assert _servers_of(tmp_path) == []


def _workers_of(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(proc.pid).children()
        if "worker" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE
    ]


def _wait_readyz(port: int, status: int, deadline_s: float = 90) -> httpx.Response:
    """Poll ``/readyz`` until it answers ``status`` (``serve`` is ready once its worker
    processes take jobs, which takes a while on a loaded machine)."""
    deadline = time.monotonic() + deadline_s
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        while (answer := client.get("/readyz")).status_code != status:
            assert time.monotonic() < deadline, f"/readyz never answered {status}: {answer.text}"
            time.sleep(0.2)
    return answer


@pytest.mark.timeout(300)  # two rounds of worker start-up, then their grace period
def test_serve_runs_worker_processes_and_sigterm_stops_them(tmp_path: Path) -> None:
    """/readyz waits for the worker processes (and for a restarted one); SIGTERM stops all."""
    port = _free_port()
    proc = subprocess.Popen(
        [REPORUNNER, "serve", "--port", str(port), "--workers", "2"],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(port, proc)
        ready = _wait_readyz(port, 200)
        # ready means: both processes have started their worker (not just the API listening)
        assert ready.json()["checks"]["workers"] == {"status": "ok", "ready": 2, "processes": 2}
        first = _workers_of(proc)
        assert len(first) == 2
        first[0].kill()  # a worker dies: not ready until its replacement takes jobs
        not_ready = _wait_readyz(port, 503)
        assert not_ready.json()["failed"] == ["workers"]
        assert "1 of 2 worker processes ready" in not_ready.json()["detail"]
        again = _wait_readyz(port, 200)
        assert again.json()["checks"]["workers"]["ready"] == 2
        workers = _workers_of(proc)
        assert len(workers) == 2
        assert first[0].pid not in {w.pid for w in workers}
        proc.send_signal(signal.SIGTERM)
        # each worker gets its grace period (30 s by default, idle here) + slack
        out, _err = proc.communicate(timeout=120)
        assert proc.returncode == 0
        assert "2 worker process(es) beside the API" in out
        assert [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for server in _servers_of(tmp_path):
            server.kill()
