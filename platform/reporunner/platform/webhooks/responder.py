"""``webhook.respond`` across processes: the worker stores the answer, the API waits for it.

The answer of an execution lives in Redis under one key, written once (``SET NX``) with a
time-to-live; a list next to it wakes the waiting API request (``BLPOP``), pushed when the
answer is stored and, by the worker, when the execution ends or parks. A duplicate delivery
of the same webhook (same idempotency key) finds the same execution and reads the same answer.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select

from reporunner.nodes.errors import ConflictError, NodeError
from reporunner.nodes.services import WEBHOOK_RESPONSE
from reporunner.platform.db.models import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.engine.context import current_call
from reporunner.platform.executions.events import webhook_wake_key
from reporunner.platform.resources import Resources

__all__ = [
    "RESPONSE_TTL_SECONDS",
    "RedisWebhookResponder",
    "StoredResponse",
    "read_response",
    "wait_for_response",
    "webhook_response_provider",
]

RESPONSE_TTL_SECONDS = 3600
LOOK_SECONDS = 3.0
"""How long a waiting request trusts the wake list before it reads the execution's row (a
worker that died cannot push it; the reaper's re-run answers or ends later). Below the Redis
client's 5 s socket timeout, which a longer ``BLPOP`` would run into."""
_DROPPED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def _key(execution_id: str) -> str:
    return f"reporunner:webhook:response:{execution_id}"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer a ``webhook.respond`` node gave."""

    status: int
    headers: dict[str, str]
    body: bytes


def _encode(status: int, headers: Mapping[str, str], body: Any, node: str = "") -> str:
    out = {k: str(v) for k, v in headers.items() if k.lower() not in _DROPPED}
    if isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
        if not any(k.lower() == "content-type" for k in out):
            out["Content-Type"] = "text/plain; charset=utf-8"
    else:
        raw = json.dumps(body, default=str).encode()
        if not any(k.lower() == "content-type" for k in out):
            out["Content-Type"] = "application/json"
    encoded = base64.b64encode(raw).decode()
    return json.dumps({"status": status, "headers": out, "body": encoded, "node": node})


@dataclass
class RedisWebhookResponder:
    """The ``webhook_response`` service of one execution (implements ``WebhookResponder``)."""

    resources: Resources
    execution_id: uuid.UUID
    trigger_type: str | None = None
    answered: bool = field(default=False, init=False)
    """Set once this run's answer is stored (the worker then need not wake the request)."""

    async def respond(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        """Store the answer for the waiting webhook request.

        The same node running again (its execution continued after a crashed worker) finds
        its own answer stored and succeeds without changing it: the caller got one answer.

        Raises:
            NodeError: the execution was not started by a webhook.
            ConflictError: another node of this execution has already answered.
        """
        trigger_type = self.trigger_type
        if trigger_type is None:
            async with transaction(self.resources.sessions) as session:
                trigger_type = await session.scalar(
                    select(Execution.trigger_type).where(Execution.id == self.execution_id)
                )
        if trigger_type != "webhook":
            raise NodeError(
                "webhook.respond needs an execution started by a webhook trigger (this one was "
                f"started by '{trigger_type}'); remove the node or start it from its webhook URL"
            )
        key = str(self.execution_id)
        scope = current_call()
        node = scope.node_id if scope is not None else ""
        redis = self.resources.redis
        async with redis.pipeline(transaction=True) as pipe:
            answer = _encode(status, headers, body, node)
            pipe.set(_key(key), answer, nx=True, ex=RESPONSE_TTL_SECONDS)
            pipe.rpush(webhook_wake_key(key), "1")
            pipe.expire(webhook_wake_key(key), RESPONSE_TTL_SECONDS)
            stored, *_ = await pipe.execute()
        if not stored:
            raw = await redis.get(_key(key))
            if raw is None or not node or json.loads(raw).get("node") != node:
                raise ConflictError("this execution has already answered its webhook; respond once")
        self.answered = True


async def read_response(redis: Redis, execution_id: str) -> StoredResponse | None:
    """The stored answer of an execution, if it has given one."""
    raw = await redis.get(_key(execution_id))
    if raw is None:
        return None
    data = json.loads(raw)
    return StoredResponse(
        status=int(data["status"]),
        headers=dict(data["headers"]),
        body=base64.b64decode(data["body"]),
    )


async def wait_for_response(
    resources: Resources,
    execution_id: uuid.UUID,
    timeout: float,
    *,
    ended: Any,
) -> StoredResponse | None:
    """Wait for the execution's answer until ``timeout`` or until ``ended()`` says it is over.

    Args:
        resources: Redis and database.
        execution_id: The execution started by the delivery.
        timeout: Seconds to wait at most.
        ended: ``async () -> bool``, true once the execution can no longer answer.

    Returns:
        The answer, or None when the execution ended (or the time ran out) without one.
    """
    key = str(execution_id)
    deadline = time.monotonic() + timeout
    first = True
    while True:
        response = await read_response(resources.redis, key)
        if response is not None:
            return response
        remaining = deadline - time.monotonic()
        # a run that was just queued has not ended: the first wait needs no database read
        if remaining <= 0 or (not first and await ended()):
            return await read_response(resources.redis, key)
        first = False
        # the worker pushes the wake list when the run answers and when it ends or parks, so
        # the row is read only after a wake-up without an answer or every LOOK_SECONDS
        wait = max(1, int(min(remaining, LOOK_SECONDS) + 0.999))
        await resources.redis.blpop([webhook_wake_key(key)], timeout=wait)  # type: ignore[misc]


def webhook_response_provider(
    resources: Resources, workspace_id: uuid.UUID, run: Any
) -> tuple[str, Any]:
    """Executions provider of ``"webhook_response"`` (see ``executions.node_services``)."""
    trigger_type = getattr(run, "trigger_type", None)
    return WEBHOOK_RESPONSE, RedisWebhookResponder(resources, run.execution_id, trigger_type)
