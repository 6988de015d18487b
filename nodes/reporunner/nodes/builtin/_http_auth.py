"""Authentication of outbound HTTP requests from bound credentials (``http.request``).

Secret values are returned alongside the headers/params they produce so that callers can redact
them from every message and log line.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx
from pydantic import BaseModel

from reporunner.nodes.base import NodeContext
from reporunner.nodes.builtin._http import (
    RetryPolicy,
    optional_field,
    redact,
    safe_url,
    secret_field,
    secret_values,
    send,
)
from reporunner.nodes.errors import CredentialError, NodeError

AuthKind = Literal["none", "api_key", "bearer_token", "basic_auth", "oauth2_client_credentials"]


@dataclass(frozen=True, slots=True)
class AppliedAuth:
    """What a credential adds to a request, plus the secrets to redact."""

    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    basic: tuple[str, str] | None = None
    secrets: tuple[str, ...] = ()


@dataclass(slots=True)
class TokenCache:
    """OAuth2 access tokens by (token URL, client id), kept until shortly before expiry.

    Held in memory by the node instance only: tokens must never reach the checkpointed state.
    """

    tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)

    def get(self, key: tuple[str, str]) -> str | None:
        hit = self.tokens.get(key)
        if hit is None or hit[1] <= time.monotonic():
            return None
        return hit[0]

    def put(self, key: tuple[str, str], token: str, expires_in: float) -> None:
        self.tokens[key] = (token, time.monotonic() + max(0.0, expires_in - 30.0))


async def apply_auth(
    ctx: NodeContext, kind: AuthKind, retry: RetryPolicy, cache: TokenCache
) -> AppliedAuth:
    """Headers, query params or basic-auth pair for the credential of type ``kind``."""
    if kind == "none":
        return AppliedAuth()
    credential = ctx.credential(kind)
    secrets = tuple(secret_values(credential))
    if kind == "api_key":
        key = secret_field(credential, "key", kind)
        name = optional_field(credential, "name") or "X-API-Key"
        if (optional_field(credential, "location") or "header") == "query":
            return AppliedAuth(query={name: key}, secrets=secrets)
        return AppliedAuth(headers={name: key}, secrets=secrets)
    if kind == "bearer_token":
        token = secret_field(credential, "token", kind)
        return AppliedAuth(headers={"Authorization": f"Bearer {token}"}, secrets=secrets)
    if kind == "basic_auth":
        user = secret_field(credential, "username", kind)
        password = secret_field(credential, "password", kind)
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return AppliedAuth(basic=(user, password), secrets=(*secrets, encoded))
    token = await _client_credentials_token(ctx, credential, retry, cache, secrets)
    return AppliedAuth(headers={"Authorization": f"Bearer {token}"}, secrets=(*secrets, token))


async def _client_credentials_token(
    ctx: NodeContext,
    credential: BaseModel,
    retry: RetryPolicy,
    cache: TokenCache,
    secrets: tuple[str, ...],
) -> str:
    """Fetch (or reuse) an OAuth2 client-credentials token through the guarded client."""
    kind = "oauth2_client_credentials"
    token_url = secret_field(credential, "token_url", kind)
    client_id = secret_field(credential, "client_id", kind)
    client_secret = secret_field(credential, "client_secret", kind)
    cached = cache.get((token_url, client_id))
    if cached:
        return cached
    data = {"grant_type": "client_credentials"}
    scope = optional_field(credential, "scope")
    if scope:
        data["scope"] = scope
    response = await send(
        ctx,
        "POST",
        token_url,
        retry=retry,
        secrets=secrets,
        data=data,
        auth=httpx.BasicAuth(client_id, client_secret),
        headers={"Accept": "application/json"},
    )
    where = safe_url(token_url, secrets)
    if response.status_code >= 400:
        raise CredentialError(
            f"the OAuth2 token endpoint {where} answered {response.status_code}; check the "
            "client id, client secret and scope of the credential"
        )
    try:
        payload = response.json()
        token = str(payload["access_token"])
    except (ValueError, KeyError, TypeError) as err:
        raise NodeError(
            redact(f"the OAuth2 token endpoint {where} sent no 'access_token' ({err})", secrets)
        ) from None
    expires_in = payload.get("expires_in", 3600)
    cache.put(
        (token_url, client_id), token, float(expires_in) if expires_in is not None else 3600.0
    )
    return token
