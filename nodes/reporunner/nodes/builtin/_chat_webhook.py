"""Shared by the Slack, Discord and Teams message nodes: post JSON to an incoming webhook.

An incoming-webhook URL is itself a secret (its path carries the token), so it is never shown
whole: messages name only its scheme and host. It comes from a ``webhook_url`` credential
(:class:`~reporunner.nodes.credentials.WebhookUrlCredential`) when one is bound, else from
the node's ``webhook_url`` param.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from reporunner.nodes.base import Item, NodeContext
from reporunner.nodes.builtin._http import RetryPolicy, send
from reporunner.nodes.credentials import WebhookUrlCredential
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.logging import redact

WEBHOOK_CREDENTIAL = "webhook_url"


class WebhookParams(BaseModel):
    """Fields every incoming-webhook message node takes."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = Field(
        default=None,
        description="Incoming-webhook URL; leave empty to use the bound 'webhook_url' "
        "credential (preferred: the URL contains a token).",
    )
    timeout: float = Field(default=15.0, gt=0, le=120, description="Seconds per attempt.")
    retries: int = Field(
        default=2, ge=0, le=10, description="Extra attempts on 429, 5xx and timeouts."
    )


def resolve_webhook_url(ctx: NodeContext, params: WebhookParams, service: str) -> str:
    """The webhook URL from the credential, else from the params.

    Raises:
        CredentialError: neither gives a URL.
    """
    try:
        credential: BaseModel | None = ctx.credential(WEBHOOK_CREDENTIAL)
    except CredentialError:
        credential = None
    if credential is not None:
        if not isinstance(credential, WebhookUrlCredential):
            raise CredentialError(
                f"the {service} node needs a '{WEBHOOK_CREDENTIAL}' credential, got a "
                f"{type(credential).__name__}"
            )
        return credential.url.get_secret_value()
    if params.webhook_url:
        return params.webhook_url
    raise CredentialError(
        f"the {service} node needs an incoming-webhook URL: bind a '{WEBHOOK_CREDENTIAL}' "
        "credential or set the 'webhook_url' param"
    )


def origin(url: str) -> str:
    """``scheme://host`` of ``url``: all of a webhook URL that may appear in a message."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return f"{parsed.scheme}://{parsed.host}"


async def post_webhook(
    ctx: NodeContext,
    url: str,
    payload: dict[str, Any],
    params: WebhookParams,
    service: str,
    query: dict[str, str] | None = None,
) -> Item:
    """POST ``payload`` as JSON to ``url`` through the guarded client; the sent-message item.

    Raises:
        NodeError: the webhook answered an error (message has the status and the service's
            error text, never the URL's path).
    """
    target = httpx.URL(url)
    if query:
        target = target.copy_merge_params(query)
    secrets = [url, target.path]
    retry = RetryPolicy(retries=params.retries)
    response = await send(
        ctx,
        "POST",
        target,
        retry=retry,
        secrets=secrets,
        json=payload,
        timeout=params.timeout,
        follow_redirects=False,
    )
    text = redact(response.text[:300], secrets)
    if response.status_code >= 300:
        raise NodeError(
            f"{service} webhook at {origin(url)} answered {response.status_code}: {text!r}; "
            "check the webhook URL and the message fields",
            retryable=response.status_code >= 500 or response.status_code == 429,
            status_code=response.status_code,
        )
    body: Any = text
    if response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
    return {"ok": True, "status": response.status_code, "response": body}
