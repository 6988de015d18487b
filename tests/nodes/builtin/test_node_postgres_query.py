"""``postgres.query`` against the real PostgreSQL of the ``services`` fixture."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr, ValidationError

from reporunner.nodes.builtin.postgres_query import PostgresQuery
from reporunner.nodes.credentials import PostgresDsnCredential
from reporunner.nodes.errors import NodeError
from reporunner.nodes.hostguard import HOST_GUARD, HostGuard
from reporunner.nodes.ssrf import SSRFPolicy
from reporunner.nodes.testing import NodeTestContext, run_node


@pytest.fixture
async def table(services: Any) -> AsyncIterator[str]:
    """A uniquely named table with three rows, dropped afterwards."""
    name = f"rr_pg_node_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(services.pg_dsn, autocommit=True) as conn:
        await conn.execute(
            f"CREATE TABLE {name} (id int PRIMARY KEY, email text, score numeric(6,2), "
            "tags jsonb, created timestamptz DEFAULT '2025-01-02T03:04:05Z', blob bytea)"
        )
        await conn.execute(
            f"INSERT INTO {name} (id, email, score, tags, blob) VALUES "
            "(1, 'a@x.io', 1.50, '[\"vip\"]', '\\x0001'), (2, 'b@x.io', 2.00, '[]', NULL), "
            "(3, 'c@x.io', NULL, NULL, NULL)"
        )
        yield name
        await conn.execute(f"DROP TABLE {name}")


def _ctx(dsn: str) -> NodeTestContext:
    # the test server is local (its socket directory, or 127.0.0.1): the operator allows it
    host = str(conninfo_to_dict(dsn).get("host") or "")
    guard = HostGuard(SSRFPolicy(allow_hosts=(host, "127.0.0.1")))
    return NodeTestContext(
        credentials={"postgres_dsn": PostgresDsnCredential(dsn=SecretStr(dsn))},
        services={HOST_GUARD: guard},
    )


async def test_select_with_named_parameters_outputs_rows(services: Any, table: str) -> None:
    params = {
        "query": f"SELECT id, email, score, tags, created, blob FROM {table} "
        "WHERE id <= %(max_id)s ORDER BY id",
        "parameters": {"max_id": 2},
        "read_only": True,
    }
    out = await run_node(PostgresQuery, params, ctx=_ctx(services.pg_dsn))
    assert out.ports["main"] == [
        {
            "id": 1,
            "email": "a@x.io",
            "score": "1.50",
            "tags": ["vip"],
            "created": "2025-01-02T03:04:05+00:00",
            "blob": "AAE=",
        },
        {
            "id": 2,
            "email": "b@x.io",
            "score": "2.00",
            "tags": [],
            "created": "2025-01-02T03:04:05+00:00",
            "blob": None,
        },
    ]


async def test_values_are_bound_never_spliced(services: Any, table: str) -> None:
    hostile = "x'); DROP TABLE " + table + "; --"
    params = {
        "query": f"INSERT INTO {table} (id, email, tags) VALUES (%s, %s, %s)",
        "parameters": [10, hostile, {"k": [1, 2]}],
    }
    out = await run_node(PostgresQuery, params, {"main": [{}]}, _ctx(services.pg_dsn))
    assert out.ports["main"] == [{"rowcount": 1}]
    check = {"query": f"SELECT email, tags FROM {table} WHERE id = %s", "parameters": [10]}
    out = await run_node(PostgresQuery, check, ctx=_ctx(services.pg_dsn))
    assert out.ports["main"] == [{"email": hostile, "tags": {"k": [1, 2]}}]


def test_sql_text_is_literal_and_refuses_expressions() -> None:
    assert "query" in PostgresQuery.literal_params
    with pytest.raises(ValidationError, match="may not contain '\\{\\{'"):
        PostgresQuery.Params.model_validate({"query": "SELECT * FROM t WHERE id = {{ item.id }}"})


async def test_statement_timeout_and_read_only(services: Any, table: str) -> None:
    slow = {"query": "SELECT pg_sleep(5)", "statement_timeout_ms": 50}
    with pytest.raises(NodeError, match="statement_timeout_ms=50") as info:
        await run_node(PostgresQuery, slow, ctx=_ctx(services.pg_dsn))
    assert info.value.retryable
    write = {"query": f"DELETE FROM {table}", "read_only": True}
    with pytest.raises(NodeError, match=r"\[25006\]"):
        await run_node(PostgresQuery, write, ctx=_ctx(services.pg_dsn))


async def test_max_rows_bound(services: Any, table: str) -> None:
    params = {"query": f"SELECT id FROM {table}", "max_rows": 2}
    with pytest.raises(NodeError, match="more than max_rows=2"):
        await run_node(PostgresQuery, params, ctx=_ctx(services.pg_dsn))


async def test_failures_leak_no_password(services: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"pg-SECRET-{uuid.uuid4().hex[:12]}"  # a wrong password, made per run
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://app:{secret}@127.0.0.1:{port}/app?connect_timeout=5"
    with pytest.raises(NodeError) as info:
        await run_node(PostgresQuery, {"query": "SELECT 1"}, ctx=_ctx(url))
    bad_sql = {"query": "SELEC 1"}
    with pytest.raises(NodeError, match=r"\[42601\]") as syntax:
        await run_node(PostgresQuery, bad_sql, ctx=_ctx(services.pg_dsn))
    lines = [info.value.detail, repr(info.value), syntax.value.detail]
    lines += [r.getMessage() for r in caplog.records]
    assert all(secret not in line for line in lines)
    assert (
        "check the 'postgres_dsn' credential" in info.value.detail or "refused" in info.value.detail
    )
