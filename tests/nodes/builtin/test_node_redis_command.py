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


# -- rediss:// connects to the checked address, the certificate checked against the name


def _tls_files(tmp_path: Any, name: str) -> tuple[str, str, str]:
    """A CA and a server certificate for ``name`` signed by it: (ca, cert, key) paths."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(paths[0]), str(paths[1]), str(paths[2])


async def _resp_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: list[list[bytes]]
) -> None:
    """Just enough RESP: every command answers +OK, GET answers "hello"."""
    try:
        while header := await reader.readline():
            if not header.startswith(b"*"):
                break
            words = []
            for _ in range(int(header[1:])):
                size = int((await reader.readline())[1:])
                words.append((await reader.readexactly(size + 2))[:-2])
            seen.append(words)
            if words[0].upper() == b"GET":
                writer.write(b"$5\r\nhello\r\n")
            else:
                writer.write(b"+OK\r\n")
            await writer.drain()
    finally:
        writer.close()


async def test_rediss_connects_to_the_checked_address_and_checks_the_name(
    tmp_path: Any,
) -> None:
    """``redis.test`` exists only in the guard's resolver: a client that looked the name up
    again (the DNS-rebinding window) could not connect at all. The TLS handshake still checks
    the certificate against the name, with the CA the URL names."""
    import ssl

    ca, cert, key = _tls_files(tmp_path, "redis.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[list[bytes]] = []
    server = await asyncio.start_server(
        lambda r, w: _resp_server(r, w, seen), "127.0.0.1", 0, ssl=context
    )
    port = server.sockets[0].getsockname()[1]
    lookups: list[str] = []

    async def resolver(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if host == "redis.test" else []

    guard = HostGuard(policy=SSRFPolicy(allow_hosts=("127.0.0.1",)), resolver=resolver)
    query = f"ssl_ca_certs={ca}&ssl_check_hostname=true"
    try:
        url = f"rediss://redis.test:{port}/0?{query}"
        ctx = NodeTestContext(
            credentials={"redis_url": RedisUrlCredential(url=SecretStr(url))},
            services={HOST_GUARD: guard},
        )
        out = await run_node(RedisCommand, {"operation": "get", "key": "k"}, ctx=ctx)
        assert out.ports["main"][0]["value"] == "hello"
        assert [b"GET", b"k"] in seen
        assert lookups.count("redis.test") == 1  # the guard's one lookup, no second
    finally:
        server.close()
        await server.wait_closed()


async def test_rediss_with_a_certificate_for_another_name_is_refused(tmp_path: Any) -> None:
    import ssl

    ca, cert, key = _tls_files(tmp_path, "elsewhere.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[list[bytes]] = []
    server = await asyncio.start_server(
        lambda r, w: _resp_server(r, w, seen), "127.0.0.1", 0, ssl=context
    )
    port = server.sockets[0].getsockname()[1]

    async def resolver(host: str, _port: int) -> list[str]:
        return ["127.0.0.1"]

    guard = HostGuard(policy=SSRFPolicy(allow_hosts=("127.0.0.1",)), resolver=resolver)
    url = f"rediss://redis.test:{port}/0?ssl_ca_certs={ca}&ssl_check_hostname=true"
    ctx = NodeTestContext(
        credentials={"redis_url": RedisUrlCredential(url=SecretStr(url))},
        services={HOST_GUARD: guard},
    )
    try:
        with pytest.raises(NodeError, match="redis get failed"):
            await run_node(RedisCommand, {"operation": "get", "key": "k"}, ctx=ctx)
        assert seen == []  # no command reached a server whose certificate names another host
    finally:
        server.close()
        await server.wait_closed()
