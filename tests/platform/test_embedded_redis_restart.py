"""A killed embedded Redis comes back on the same port and password (issue faults 3 and 4): the
processes that hold its URL reconnect to the new server, and one data directory never gets a
second Redis that only newly started processes know about."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil
import redis

from reporunner.platform.services import EmbeddedRedis


def test_a_killed_embedded_redis_restarts_on_the_same_url(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    url = first.start()
    client = redis.Redis.from_url(url, socket_timeout=5)
    client.set("k", "v")
    state = json.loads(first.state_file.read_text())
    os.kill(state["pid"], signal.SIGKILL)
    psutil.Process(state["pid"]).wait(timeout=30)
    second = EmbeddedRedis(tmp_path)
    try:
        assert second.start() == url
        # the client made before the crash reconnects to the successor by itself
        assert client.ping()
        # the attributes asked of process_iter come back None for a process that exits
        # meanwhile (other test sessions on the machine start and stop servers)
        servers = [
            p for p in psutil.process_iter(["name", "cwd"])
            if p.info["name"] == "redis-server"
            and (p.info["cwd"] or "").startswith(str(tmp_path))
        ]  # fmt: skip
        assert len(servers) == 1
    finally:
        client.close()
        second.stop()
        first.stop()
