"""Handle one webhook delivery: find the trigger, authenticate, start (once), answer.

Order matters: the request is authenticated against the trigger's secret before anything is
written, and the body is parsed only after that, so an unauthenticated caller learns nothing but
"unauthorized" and costs one lookup.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from reporunner.nodes.builtin.trigger_webhook import verify_webhook_request
from reporunner.nodes.errors import Problem, ReporunnerError, ValidationFailed
from reporunner.platform.db.models import Execution
from reporunner.platform.db.session import transaction
from reporunner.platform.executions.service import TERMINAL, PinnedVersion, start_execution
from reporunner.platform.resources import Resources
from reporunner.platform.services.outage import (
    REDIS_DOWN,
    RETRY_AFTER_SECONDS,
    ServiceUnavailable,
    require_redis,
)
from reporunner.platform.vault import resolve_credentials
from reporunner.platform.webhooks.body import parse_body, trigger_item
from reporunner.platform.webhooks.lookup import WebhookTarget, find_target
from reporunner.platform.webhooks.responder import wait_for_response

__all__ = [
    "IDEMPOTENCY_HEADER",
    "Delivery",
    "WebhookAnswer",
    "WebhookNoResponse",
    "WebhookRespondTimeout",
    "handle_delivery",
]

IDEMPOTENCY_HEADER = "idempotency-key"
MAX_IDEMPOTENCY_KEY = 180


class WebhookRespondTimeout(ReporunnerError):
    """The workflow did not answer in time (it keeps running)."""

    code = "webhook_response_timeout"
    status = 504


class WebhookNoResponse(ReporunnerError):
    """The workflow ended without a ``webhook.respond`` answer."""

    code = "webhook_no_response"
    status = 502


@dataclass(frozen=True, slots=True)
class Delivery:
    """One incoming request to ``/hooks/<workspace_slug>/<path>``."""

    workspace_slug: str
    path: str
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, list[str]]
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the route sends back."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    raw: bool = False
    """True when ``body`` is bytes to send as they are (a ``webhook.respond`` answer)."""


_SECRET_FIELD = {"hmac": ("hmac_secret", "secret"), "header_token": ("api_key", "api_key")}


async def _secret(resources: Resources, target: WebhookTarget) -> str | None:
    if target.params.auth == "none":
        return None
    type_name, field_name = _SECRET_FIELD[target.params.auth]
    cred_id = target.credentials.get(type_name)
    if cred_id is None:
        return None  # verify_webhook_request says which credential to bind
    async with transaction(resources.sessions) as session:
        resolved = await resolve_credentials(
            session, target.workspace_id, {type_name: cred_id}, resources.keyring
        )
    value = getattr(resolved[type_name], field_name)
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _idempotency_key(target: WebhookTarget, delivery: Delivery, body: Any) -> str | None:
    lowered = {k.lower(): v for k, v in delivery.headers.items()}
    key = lowered.get(IDEMPOTENCY_HEADER)
    body_field = getattr(target.params, "idempotency_field", None)
    if key is None and isinstance(body_field, str) and isinstance(body, dict):
        value = body.get(body_field)
        key = None if value is None else str(value)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            f"the idempotency key must have 1 to {MAX_IDEMPOTENCY_KEY} characters",
            [Problem("/headers/idempotency-key", "bad_key", "length")],
        )
    return f"webhook:{target.node_id}:{key}"


def _signature_key(target: WebhookTarget, delivery: Delivery) -> str | None:
    """A signed delivery's signature as its idempotency key: a replay within the timestamp
    tolerance finds the execution its original started and is answered like a duplicate
    (after the tolerance the timestamp check refuses it)."""
    if target.params.auth != "hmac":
        return None
    lowered = {k.lower(): v for k, v in delivery.headers.items()}
    signature = lowered.get(target.params.signature_header.lower(), "").strip().lower()
    if not signature:
        return None
    digest = hashlib.sha256(signature.removeprefix("sha256=").encode()).hexdigest()
    return f"webhook:{target.node_id}:signature:{digest}"


async def _ended(resources: Resources, execution_id: uuid.UUID) -> bool:
    async with transaction(resources.autocommit) as session:  # one read, no BEGIN/COMMIT
        status = await session.scalar(select(Execution.status).where(Execution.id == execution_id))
    return status is None or status in TERMINAL or status == "waiting"


async def handle_delivery(
    resources: Resources, delivery: Delivery, *, respond_timeout: float
) -> WebhookAnswer:
    """Authenticate a delivery and start (or find) its execution.

    Returns:
        202 with the execution id (``response_mode='immediately'``), or the answer of the
        workflow's ``webhook.respond`` node (``response_mode='respond_node'``).

    Raises:
        NotFoundError: nothing listens on this path and method.
        WebhookAuthError: the token or signature is missing or wrong, or too old (401).
        InvalidWebhookBody: a JSON body that is not JSON.
        WebhookRespondTimeout: the workflow did not answer within ``respond_timeout``.
        WebhookNoResponse: the workflow ended without answering.
    """
    async with transaction(resources.autocommit) as session:  # one statement
        target = await find_target(session, delivery.workspace_slug, delivery.path, delivery.method)
    verify_webhook_request(
        target.params,
        headers=delivery.headers,
        body=delivery.body,
        secret=await _secret(resources, target),
    )
    body = parse_body(delivery.content_type, delivery.body)
    params = target.params
    hidden = frozenset({params.token_header, params.signature_header})
    item = trigger_item(
        method=delivery.method,
        path=target.params.path,
        headers=delivery.headers,
        query=delivery.query,
        body=body,
        hidden=hidden if params.auth != "none" else frozenset(),
    )
    if params.response_mode == "respond_node":
        # answering needs Redis: refuse before anything is created, so a retry is no duplicate
        await require_redis(resources.redis, "this webhook's workflow")
    out = await start_execution(
        resources,
        target.workspace_id,
        target.workflow_id,
        item,
        version=target.version_number,
        pinned=PinnedVersion(target.version_id, target.definition),
        trigger_type="webhook",
        idempotency_key=_idempotency_key(target, delivery, body)
        or _signature_key(target, delivery),
    )
    accepted = {"execution_id": str(out.id), "status": out.status}
    if params.response_mode == "immediately":
        return WebhookAnswer(202, accepted)
    try:
        answer = await wait_for_response(
            resources, out.id, respond_timeout, ended=lambda: _ended(resources, out.id)
        )
    except REDIS_DOWN as err:
        raise ServiceUnavailable(
            f"the queue (Redis) went away while execution {out.id} was starting; it runs when "
            f"Redis is back. Retry after {RETRY_AFTER_SECONDS}s with the same Idempotency-Key "
            "to get its answer",
            execution_id=str(out.id),
        ) from err
    if answer is not None:
        return WebhookAnswer(answer.status, answer.body, dict(answer.headers), raw=True)
    if await _ended(resources, out.id):
        raise WebhookNoResponse(
            f"execution {out.id} ended without a webhook.respond answer; add one on every "
            "path of the workflow, or set the trigger's response_mode to 'immediately'",
            execution_id=str(out.id),
        )
    raise WebhookRespondTimeout(
        f"execution {out.id} did not answer within {respond_timeout:g}s; it keeps running",
        execution_id=str(out.id),
    )
