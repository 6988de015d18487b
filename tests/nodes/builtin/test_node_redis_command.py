"""``redis.command`` against the real Redis of the ``services`` fixture."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr, ValidationError

from reporunner.nodes.builtin.redis_command import RedisCommand
from reporunner.nodes.credentials import RedisUrlCredential
from reporunner.nodes.errors import NodeError
from reporunner.nodes.hostguard import HOST_GUARD, HostGuard
from reporunner.nodes.ssrf import SSRFPolicy
from reporunner.nodes.testing import NodeTestContext, run_node


def _ctx(url: str) -> NodeTestContext:
    guard = HostGuard(SSRFPolicy(allow_hosts=("127.0.0.1",)))  # the operator allows the test's
    return NodeTestContext(
        credentials={"redis_url": RedisUrlCredential(url=SecretStr(url))},
        services={HOST_GUARD: guard},
    )


async def _one(url: str, params: dict[str, Any]) -> dict[str, Any]:
    out = await run_node(RedisCommand, params, ctx=_ctx(url))
    [item] = out.ports["main"]
    return item


async def test_set_get_incr_delete(services: Any) -> None:
    url = services.redis_url
    key = f"rr-node-test:{uuid.uuid4().hex}"
    assert await _one(url, {"operation": "get", "key": key}) == {"key": key, "value": None}
    value = {"a": [1, 2]}
    assert await _one(url, {"operation": "set", "key": key, "value": value, "ttl_seconds": 60}) == {
        "key": key,
        "stored": True,
    }
    raw = await _one(url, {"operation": "get", "key": key})
    assert raw["value"] == '{"a":[1,2]}'
    parsed = await _one(url, {"operation": "get", "key": key, "parse_json": True})
    assert parsed["value"] == value
    nx = await _one(url, {"operation": "set", "key": key, "value": "x", "only_if_absent": True})
    assert nx == {"key": key, "stored": False}
    client = aioredis.Redis.from_url(url)
    try:
        ttl = await client.ttl(key)
    finally:
        await client.aclose()
    assert 0 < ttl <= 60
    counter = f"{key}:n"
    assert await _one(url, {"operation": "incr", "key": counter}) == {"key": counter, "value": 1}
    assert await _one(url, {"operation": "incr", "key": counter, "by": 5}) == {
        "key": counter,
        "value": 6,
    }
    assert await _one(url, {"operation": "delete", "key": counter}) == {
        "key": counter,
        "deleted": True,
    }


async def test_publish_reaches_a_subscriber(services: Any) -> None:
    channel = f"rr-node-test:{uuid.uuid4().hex}"
    client = aioredis.Redis.from_url(services.redis_url)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        await pubsub.get_message(timeout=1.0)  # the subscribe confirmation
        result = await _one(
            services.redis_url,
            {"operation": "publish", "channel": channel, "message": {"event": "done"}},
        )
        assert result == {"channel": channel, "receivers": 1}
        message = None
        deadline = asyncio.get_running_loop().time() + 5
        while message is None and asyncio.get_running_loop().time() < deadline:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        assert message is not None
        assert message["data"] == b'{"event":"done"}'
    finally:
        await pubsub.aclose()
        await client.aclose()


async def test_wrong_type_and_bad_json_fail_clearly(services: Any) -> None:
    key = f"rr-node-test:{uuid.uuid4().hex}"
    await _one(services.redis_url, {"operation": "set", "key": key, "value": "text"})
    with pytest.raises(NodeError, match="redis incr failed"):
        await _one(services.redis_url, {"operation": "incr", "key": key})
    with pytest.raises(NodeError, match="is not JSON"):
        await _one(services.redis_url, {"operation": "get", "key": key, "parse_json": True})
    await _one(services.redis_url, {"operation": "delete", "key": key})


def test_params_say_what_is_missing() -> None:
    with pytest.raises(ValidationError, match="'get' needs 'key'"):
        RedisCommand.Params.model_validate({"operation": "get"})
    with pytest.raises(ValidationError, match="'publish' needs 'channel'"):
        RedisCommand.Params.model_validate({"operation": "publish", "message": "x"})
    with pytest.raises(ValidationError, match="'set' needs 'value'"):
        RedisCommand.Params.model_validate({"operation": "set", "key": "k"})


async def test_unreachable_server_fails_retryable_without_leaking_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = f"redis-SECRET-{secrets.token_hex(6)}"
    with pytest.raises(NodeError) as info:
        await _one(f"redis://:{secret}@127.0.0.1:{port}/0", {"operation": "get", "key": "k"})
    assert info.value.retryable
    assert "check the 'redis_url' credential" in info.value.detail
    lines = [info.value.detail, repr(info.value), *(r.getMessage() for r in caplog.records)]
    assert all(secret not in line for line in lines)
