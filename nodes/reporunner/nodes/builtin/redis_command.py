"""``redis.command``: GET, SET (with TTL), INCR, DEL and PUBLISH on a Redis server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from redis.asyncio.connection import SSLConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from reporunner.nodes.base import Category, Item, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.credentials import RedisUrlCredential, secret_values
from reporunner.nodes.errors import CredentialError, NodeError, SSRFBlockedError
from reporunner.nodes.hostguard import HostGuard, host_guard
from reporunner.nodes.logging import redact

__all__ = ["RedisCommand", "RedisCommandParams"]

_NEEDS_KEY = frozenset({"get", "set", "incr", "delete"})


class RedisCommandParams(BaseModel):
    """Params of ``redis.command``."""

    model_config = ConfigDict(extra="forbid")

    operation: Literal["get", "set", "incr", "delete", "publish"] = Field(
        description="'get' a key, 'set' a key (optionally with ttl_seconds / only_if_absent), "
        "'incr' a counter by 'by', 'delete' a key, or 'publish' a message on a channel."
    )
    key: str | None = Field(default=None, min_length=1, description="Key (get/set/incr/delete).")
    value: JsonValue = Field(
        default=None, description="Value to set: text as is, other JSON values encoded as JSON."
    )
    ttl_seconds: int | None = Field(
        default=None, ge=1, description="Expire the key after this many seconds (set)."
    )
    only_if_absent: bool = Field(
        default=False, description="Set only if the key does not exist yet (SET NX)."
    )
    by: int = Field(default=1, description="Increment (incr); negative to decrement.")
    channel: str | None = Field(default=None, min_length=1, description="Channel (publish).")
    message: JsonValue = Field(
        default=None, description="Message to publish: text as is, other values as JSON."
    )
    parse_json: bool = Field(default=False, description="Decode the value read by 'get' as JSON.")

    @model_validator(mode="after")
    def _required(self) -> RedisCommandParams:
        if self.operation in _NEEDS_KEY and not self.key:
            raise ValueError(f"operation '{self.operation}' needs 'key'")
        if self.operation == "publish" and not self.channel:
            raise ValueError("operation 'publish' needs 'channel'")
        if self.operation == "set" and self.value is None:
            raise ValueError("operation 'set' needs 'value'")
        return self


class RedisCommand(Node[RedisCommandParams]):
    """Runs one Redis operation per input item."""

    type = "redis.command"
    category = Category.ACTION
    display_name = "Redis"
    description = (
        "Runs one Redis operation per input item on the server of a 'redis_url' credential: "
        "get (outputs {key, value}, value null when missing), set with optional TTL and NX "
        "(outputs {key, stored}), incr (outputs {key, value}), delete (outputs {key, deleted}) "
        "or publish (outputs {channel, receivers})."
    )
    Params = RedisCommandParams
    inputs = (Port("main", "Each item runs the operation once (params may use {{ item }})."),)
    outputs = (Port("main", "One result item per operation."),)
    credential_types = ("redis_url",)
    mode = "each"
    example: ClassVar[Mapping[str, Any]] = {
        "operation": "set",
        "key": "lead:{{ item.id }}",
        "value": "{{ item }}",
        "ttl_seconds": 3600,
    }

    async def run(
        self, ctx: NodeContext, params: RedisCommandParams, inputs: NodeInputs
    ) -> NodeOutput:
        credential = ctx.credential("redis_url")
        if not isinstance(credential, RedisUrlCredential):
            raise CredentialError(
                f"redis.command needs a 'redis_url' credential, got {type(credential).__name__}"
            )
        client = await guarded_redis(credential.url.get_secret_value(), host_guard(ctx))
        try:
            return NodeOutput.main([await _run(client, params)])
        except RedisError as err:
            detail = redact(f"{type(err).__name__}: {err}", secret_values(credential))
            raise NodeError(
                f"redis {params.operation} failed ({detail}); check the 'redis_url' credential "
                "and the key type",
                retryable=isinstance(err, RedisConnectionError | RedisTimeoutError),
            ) from None
        finally:
            await client.aclose()


class _PinnedSSLConnection(SSLConnection):
    """A TLS connection opened to the address the guard checked, while the TLS handshake
    (SNI, and the certificate's host name when ``ssl_check_hostname`` is on) uses the name."""

    def __init__(self, *, pinned_address: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pinned_address = pinned_address

    def _connection_arguments(self) -> Mapping[str, Any]:
        arguments = dict(super()._connection_arguments())
        arguments["server_hostname"] = self.host
        arguments["host"] = self.pinned_address
        return arguments


async def guarded_redis(url: str, guard: HostGuard) -> aioredis.Redis:
    """A client for ``url`` that connects to an address the guard checked.

    Both ``redis://`` and ``rediss://`` connect to the checked address itself (no second DNS
    lookup that could answer differently); ``rediss://`` still gives the server the name for
    its certificate.

    Raises:
        CredentialError: not a redis:// or rediss:// URL with a host.
        SSRFBlockedError: a unix socket, private, loopback, or the platform's own Redis.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SSRFBlockedError(
            f"refused to connect to '{parts.scheme}://...': only redis:// and rediss:// URLs "
            "with a host are allowed (unix sockets never are)",
            host=parts.hostname or parts.scheme,
            reason="not a TCP Redis URL",
        )
    try:
        port = parts.port or 6379
    except ValueError:
        raise CredentialError("the 'redis_url' credential has an invalid port") from None
    addresses = await guard.addresses(parts.hostname, port)
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, socket_timeout=30, socket_connect_timeout=10
    )
    pool = client.connection_pool
    if addresses and parts.scheme == "redis":
        pool.connection_kwargs["host"] = addresses[0]
    elif addresses:
        pool.connection_class = _PinnedSSLConnection
        pool.connection_kwargs["pinned_address"] = addresses[0]
    return client


def _encode(value: JsonValue) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


async def _run(client: aioredis.Redis, params: RedisCommandParams) -> Item:
    key = params.key or ""
    if params.operation == "get":
        raw = await client.get(key)
        value: Any = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if params.parse_json and value is not None:
            try:
                value = json.loads(value)
            except ValueError as err:
                raise NodeError(
                    f"the value of '{key}' is not JSON ({err}); unset parse_json"
                ) from err
        return {"key": key, "value": value}
    if params.operation == "set":
        stored = await client.set(
            key, _encode(params.value), ex=params.ttl_seconds, nx=params.only_if_absent
        )
        return {"key": key, "stored": bool(stored)}
    if params.operation == "incr":
        return {"key": key, "value": int(await client.incrby(key, params.by))}
    if params.operation == "delete":
        return {"key": key, "deleted": int(await client.delete(key)) > 0}
    channel = params.channel or ""
    receivers = await client.publish(channel, _encode(params.message))
    return {"channel": channel, "receivers": int(receivers)}
