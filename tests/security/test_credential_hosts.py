"""Finding 4: credentials pointed at the platform's own services (admin -> owner -> OS commands).

The attack: a ``postgres_dsn`` credential to the embedded server's unix socket as ``postgres``
was superuser (``UPDATE memberships SET role='owner'``, ``COPY ... TO PROGRAM``); a
``redis.command`` overwrote a queued ``arq:job:<id>`` with a pickle the worker executed. Now
database, Redis and SMTP hosts pass the host guard (unix sockets, loopback, private ranges and
the platform's own services refused unless the operator allow-lists them), and arq jobs are
JSON, never unpickled.
"""

from __future__ import annotations

import json
import os
import pickle
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr
from security_testkit import Served, run_node_served
from sqlalchemy.engine import make_url

from reporunner.nodes.builtin.email_send import EmailSend
from reporunner.nodes.builtin.postgres_query import PostgresQuery
from reporunner.nodes.builtin.redis_command import RedisCommand
from reporunner.nodes.credentials import (
    PostgresDsnCredential,
    RedisUrlCredential,
    SmtpCredential,
)
from reporunner.nodes.errors import CredentialError, SSRFBlockedError
from reporunner.nodes.hostguard import HOST_GUARD, HostGuard
from reporunner.nodes.testing import NodeTestContext, run_node
from reporunner.platform.jobcodec import job_deserializer, job_serializer
from reporunner.platform.network import host_guard_for
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import load_settings
from reporunner.platform.worker import build_worker

ESCALATE = "UPDATE memberships SET role = 'owner'"


def _pg(dsn: str, guard: HostGuard | None = None) -> NodeTestContext:
    return NodeTestContext(
        credentials={"postgres_dsn": PostgresDsnCredential(dsn=SecretStr(dsn))},
        services={HOST_GUARD: guard} if guard else {},
    )


async def test_postgres_credential_to_the_embedded_socket_is_refused(services: Any) -> None:
    socket_dir = str(conninfo_to_dict(services.admin_dsn)["host"])
    attacks = [
        services.admin_dsn,  # the unix socket, as the superuser
        f"postgresql://postgres@/postgres?host={socket_dir}",
        "postgresql://postgres@/postgres",  # no host: libpq's default socket
        "postgresql://postgres@localhost/postgres",
        "postgresql://postgres@127.0.0.1/postgres",
        "postgresql://postgres@2130706433/postgres",
        "postgresql://postgres@[::1]/postgres",
        "postgresql://postgres@10.0.0.5/postgres",
        "postgresql://postgres@169.254.169.254/postgres",
    ]
    for dsn in attacks:
        with pytest.raises(SSRFBlockedError, match="refused to connect"):
            await run_node(PostgresQuery, {"query": ESCALATE, "read_only": False}, ctx=_pg(dsn))
    for dsn in (
        "service=platform",
        "host=db.example.com hostaddr=127.0.0.1 user=x",
        "host=db.example.com passfile=/root/.pgpass",
    ):
        with pytest.raises(CredentialError, match="may not set"):
            await run_node(PostgresQuery, {"query": "SELECT 1"}, ctx=_pg(dsn))


async def test_platform_services_stay_refused_inside_an_allowed_network(services: Any) -> None:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        credential_allow_hosts="127.0.0.0/8",
    )
    guard = host_guard_for(settings)
    redis = urlsplit(services.redis_url)
    with pytest.raises(SSRFBlockedError, match="platform's own"):
        await guard.addresses(str(redis.hostname), int(redis.port or 6379))
    # the network is allowed: another port on it is reachable
    assert await guard.addresses(str(redis.hostname), 1) == [str(redis.hostname)]
    socket_dir = str(conninfo_to_dict(services.admin_dsn)["host"])
    with pytest.raises(SSRFBlockedError):
        await guard.addresses(socket_dir, 5432)
    exact = host_guard_for(settings.model_copy(update={"credential_allow_hosts": socket_dir}))
    assert await exact.addresses(socket_dir, 5432) == []  # named exactly: by name


async def test_redis_and_smtp_credentials_are_guarded(services: Any) -> None:
    for url in (services.redis_url, "unix:///tmp/redis.sock", "redis://localhost:6379/0"):
        ctx = NodeTestContext(credentials={"redis_url": RedisUrlCredential(url=SecretStr(url))})
        with pytest.raises(SSRFBlockedError, match="refused to connect"):
            await run_node(RedisCommand, {"operation": "get", "key": "arq:queue"}, ctx=ctx)
    smtp = SmtpCredential(host="127.0.0.1", port=25, security="none", from_address="a@b.example")
    ctx = NodeTestContext(credentials={"smtp": smtp})
    with pytest.raises(SSRFBlockedError, match="loopback"):
        await run_node(EmailSend, {"to": ["x@example.com"], "subject": "s", "text": "t"}, ctx=ctx)


# -- arq jobs are JSON


class _Plant:
    """What the attacker pickled: creating a directory stands in for a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


@pytest.fixture
async def resources(services: Any) -> AsyncIterator[Resources]:
    settings = load_settings(
        database_url=services.database_url,
        redis_url=services.redis_url,
        queue_name=f"sec:pickle:{uuid.uuid4().hex}",
    )
    opened = await open_resources(settings)
    yield opened
    await opened.close()


async def test_a_pickled_job_in_redis_is_never_unpickled(
    resources: Resources, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    job_id = uuid.uuid4().hex
    now_ms = int(time.time() * 1000)
    payload = {"t": 1, "f": "ping", "a": [_Plant(marker)], "k": {}, "et": now_ms}
    queue = resources.settings.queue_name
    await resources.redis.set(f"arq:job:{job_id}", pickle.dumps(payload))
    await resources.redis.zadd(queue, {job_id: now_ms})
    await build_worker(resources, burst=True, handle_signals=False).main()
    assert not marker.exists(), "the worker unpickled a job from Redis"
    # what the platform enqueues is JSON, and a worker runs it
    job = await resources.arq.enqueue_job("ping", _job_id=f"sec-{job_id}")
    assert job is not None
    raw = await resources.redis.get(f"arq:job:sec-{job_id}")
    assert json.loads(raw)["f"] == "ping"
    assert job_deserializer(job_serializer({"a": (1, 2)})) == {"a": [1, 2]}


# -- against a real `reporunner serve`


async def test_served_admin_cannot_reach_the_platform_database_or_redis(
    served: Served, services: Any
) -> None:
    admin = {"Authorization": f"Bearer {await served.key_for('admin')}"}
    socket_dir = str(conninfo_to_dict(services.admin_dsn)["host"])
    served_db = str(make_url(served.database_url).database)
    dsn = f"host={socket_dir} user=postgres dbname={served_db}"
    credentials = {}
    for kind, data in (("postgres_dsn", {"dsn": dsn}), ("redis_url", {"url": services.redis_url})):
        created = httpx.post(
            f"{served.base}/credentials",
            json={"name": f"own {kind}", "type": kind, "data": data},
            headers=admin,
            timeout=30,
        )
        assert created.status_code == 201, created.text
        credentials[kind] = created.json()["id"]
    escalate = {
        "id": "escalate",
        "type": "postgres.query",
        "params": {"query": ESCALATE, "read_only": False},
        "credentials": {"postgres_dsn": credentials["postgres_dsn"]},
    }
    overwrite = {
        "id": "overwrite",
        "type": "redis.command",
        "params": {"operation": "set", "key": "arq:job:victim", "value": "x"},
        "credentials": {"redis_url": credentials["redis_url"]},
    }
    for node in (escalate, overwrite):
        done = run_node_served(served.base, admin, node)
        assert done["status"] == "failed", done
        assert "ssrf_blocked" in json.dumps(done), done
    with psycopg.connect(services.admin_dsn, dbname=served_db, autocommit=True) as conn:
        owners = conn.execute("SELECT count(*) FROM memberships WHERE role = 'owner'").fetchone()
        members = conn.execute("SELECT count(*) FROM memberships").fetchone()
    assert owners is not None
    assert members is not None
    assert owners[0] < members[0]  # the admin's membership (and others) kept their roles
