"""``trigger.webhook``: starts a workflow from an HTTP request to its webhook URL.

The platform's webhook route finds the workflow by ``method`` + ``path``, calls
:func:`verify_webhook_request` with the raw request, and only then starts the execution with
the trigger item ``{"method", "path", "headers", "query", "body"}``.

HMAC scheme (``auth="hmac"``): the sender puts the current Unix time in the timestamp header
and ``sha256=<hex>`` of ``HMAC-SHA256(secret, f"{timestamp}.".encode() + raw_body)`` in the
signature header (see :func:`webhook_signature`). The timestamp bounds replays to
``tolerance_seconds``; comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reporunner.nodes.base import Category, Node, NodeContext, NodeInputs, NodeOutput, Port
from reporunner.nodes.builtin._input_schema import DESCRIPTION, check_input, check_schema
from reporunner.nodes.errors import ConfigurationError, ReporunnerError

__all__ = [
    "WebhookAuthError",
    "WebhookParams",
    "WebhookTrigger",
    "verify_webhook_request",
    "webhook_signature",
]

_HEADER = r"^[A-Za-z0-9-]{1,64}$"


class WebhookAuthError(ReporunnerError):
    """A webhook request failed authentication; the API answers 401 with this detail."""

    code = "webhook_unauthorized"
    status = 401


class WebhookParams(BaseModel):
    """Params of ``trigger.webhook``."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        default="POST", description="HTTP method the webhook accepts."
    )
    path: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_~-]*(/[A-Za-z0-9_~-]+)*$",
        max_length=200,
        description="Path of the webhook under the workspace's webhook URL, e.g. "
        "'orders/created' (letters, digits, '-', '_', '~', separated by '/').",
    )
    auth: Literal["none", "header_token", "hmac"] = Field(
        default="none",
        description="'none': anyone with the URL may call it; 'header_token': the request must "
        "carry the api_key credential's key in 'token_header'; 'hmac': the request must be "
        "signed with the hmac_secret credential (see 'signature_header').",
    )
    token_header: str = Field(
        default="X-Webhook-Token",
        pattern=_HEADER,
        description="Header holding the token for auth 'header_token' ('Authorization' also "
        "accepts 'Bearer <token>').",
    )
    signature_header: str = Field(
        default="X-Signature",
        pattern=_HEADER,
        description="Header holding 'sha256=<hex HMAC-SHA256 of \"<timestamp>.<raw body>\">' "
        "for auth 'hmac'.",
    )
    timestamp_header: str = Field(
        default="X-Timestamp",
        pattern=_HEADER,
        description="Header holding the Unix time (seconds) the request was signed at.",
    )
    tolerance_seconds: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="Largest accepted difference between the signed timestamp and now.",
    )
    response_mode: Literal["immediately", "respond_node"] = Field(
        default="immediately",
        description="'immediately': answer 202 with the execution id as soon as the run is "
        "queued; 'respond_node': wait for a webhook.respond node to send the response.",
    )
    idempotency_field: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Top-level field of a JSON body whose value identifies a delivery (e.g. "
        "'event_id'): a repeated value returns the first execution instead of starting another. "
        "An 'Idempotency-Key' header, when sent, takes precedence.",
    )
    input_schema: dict[str, Any] | None = Field(
        default=None,
        description="JSON Schema of the request body (the parsed JSON, or the text). "
        + DESCRIPTION,
    )

    @field_validator("input_schema")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_schema(value, object_only=False)


def webhook_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value a sender computes: ``sha256=<hex>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_webhook_request(
    params: WebhookParams,
    *,
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    now: float | None = None,
) -> None:
    """Authenticate one incoming webhook request; returns only if it may start a run.

    Args:
        params: The trigger node's validated params.
        headers: Request headers (any case).
        body: The raw request body, exactly as received (HMAC covers these bytes).
        secret: The api_key value (auth 'header_token') or hmac_secret value (auth 'hmac');
            ignored for auth 'none'.
        now: Current Unix time; defaults to ``time.time()`` (tests pass a fixed clock).

    Raises:
        WebhookAuthError: missing or wrong token/signature, or a stale timestamp (HTTP 401).
        ConfigurationError: auth is on but no secret is configured.
    """
    if params.auth == "none":
        return
    if not secret:
        raise ConfigurationError(
            f"webhook '{params.path}' uses auth '{params.auth}' but has no credential; bind "
            f"{'an api_key' if params.auth == 'header_token' else 'an hmac_secret'} credential"
        )
    lowered = {k.lower(): v for k, v in headers.items()}
    if params.auth == "header_token":
        _verify_token(params, lowered, secret)
    else:
        _verify_hmac(params, lowered, body, secret, time.time() if now is None else now)


def _verify_token(params: WebhookParams, headers: Mapping[str, str], secret: str) -> None:
    given = headers.get(params.token_header.lower())
    if not given:
        raise WebhookAuthError(f"missing header '{params.token_header}'")
    if params.token_header.lower() == "authorization" and given.lower().startswith("bearer "):
        given = given[7:].strip()
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise WebhookAuthError(f"wrong token in header '{params.token_header}'")


def _verify_hmac(
    params: WebhookParams, headers: Mapping[str, str], body: bytes, secret: str, now: float
) -> None:
    stamp = headers.get(params.timestamp_header.lower())
    signature = headers.get(params.signature_header.lower())
    if not stamp or not signature:
        raise WebhookAuthError(
            f"signed webhooks need headers '{params.timestamp_header}' and "
            f"'{params.signature_header}'"
        )
    try:
        signed_at = int(stamp.strip())
    except ValueError:
        raise WebhookAuthError(
            f"header '{params.timestamp_header}' must be a Unix time in seconds"
        ) from None
    if abs(now - signed_at) > params.tolerance_seconds:
        raise WebhookAuthError(
            f"timestamp is more than {params.tolerance_seconds}s away from the server time; "
            "sign each request when sending it (replayed requests are refused)"
        )
    expected = webhook_signature(secret, signed_at, body)
    given = signature.strip()
    if not given.lower().startswith("sha256="):
        given = f"sha256={given}"
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise WebhookAuthError(
            f"signature in '{params.signature_header}' does not match the body; sign "
            "'<timestamp>.<raw body>' with HMAC-SHA256"
        )


class WebhookTrigger(Node[WebhookParams]):
    """Entry point of workflows started by an HTTP request."""

    type = "trigger.webhook"
    category = Category.TRIGGER
    display_name = "Webhook"
    description = (
        "Starts the workflow when an HTTP request with 'method' arrives at the workspace's "
        "webhook URL + 'path', after checking 'auth' (none, a header token, or an HMAC-SHA256 "
        "signature with a timestamp). Outputs one item on 'main': {method, path, headers, "
        "query, body} (body is parsed JSON when the request sent JSON, else text). Optional "
        "'input_schema' (a JSON Schema object) declares the body: a request whose body does "
        "not match is refused with 422 naming the field, and MCP clients get it as the "
        "workflow tool's 'body' schema."
    )
    Params = WebhookParams
    credential_types = ("api_key", "hmac_secret")
    literal_params = frozenset({"input_schema"})
    inputs = ()
    outputs = (Port("main", "The request: {method, path, headers, query, body}."),)
    example: ClassVar[dict[str, Any]] = {
        "method": "POST",
        "path": "orders/created",
        "auth": "hmac",
        "tolerance_seconds": 300,
        "response_mode": "immediately",
    }

    @classmethod
    def required_credentials(cls, params: Mapping[str, Any]) -> set[str]:
        """Auth 'header_token' needs an api_key credential, 'hmac' an hmac_secret one: a
        workflow without it is refused at validation, not answered with a 500 later."""
        return {"header_token": {"api_key"}, "hmac": {"hmac_secret"}}.get(
            str(params.get("auth", "none")), set()
        )

    @classmethod
    def check_start(cls, params: Mapping[str, Any], item: Mapping[str, Any]) -> None:
        """Refuse a request body the declared schema rejects; the platform calls this before
        it queues a run (422 with ``/body/<field>`` pointers).

        Raises:
            ValidationFailed: the body does not match ``input_schema``.
        """
        schema = params.get("input_schema")
        if isinstance(schema, dict):
            check_input(schema, item.get("body"), what="the request body", prefix="/body")

    async def run(self, ctx: NodeContext, params: WebhookParams, inputs: NodeInputs) -> NodeOutput:
        item = dict(ctx.trigger)
        check_input(params.input_schema, item.get("body"), what="the request body")
        return NodeOutput.main([item])
