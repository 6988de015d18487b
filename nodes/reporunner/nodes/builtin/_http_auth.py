"""Authentication of outbound HTTP requests from bound credentials (``http.request``).

Secret values are returned alongside the headers/params they produce so that callers can redact
them from every message and log line.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import httpx
from pydantic import BaseModel

from reporunner.nodes.base import NodeContext
from reporunner.nodes.builtin._http import RetryPolicy, safe_url, send
from reporunner.nodes.credentials import (
    ApiKeyCredential,
    BasicAuthCredential,
    BearerTokenCredential,
    CredentialModel,
    OAuth2ClientCredentials,
    secret_values,
)
from reporunner.nodes.errors import CredentialError, NodeError
from reporunner.nodes.logging import redact

C = TypeVar("C", bound=CredentialModel)
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


def _typed(credential: BaseModel, cls: type[C]) -> C:
    if not isinstance(credential, cls):
        raise CredentialError(
            f"auth '{cls.type_name}' needs a '{cls.type_name}' credential, got a "
            f"{type(credential).__name__}; bind a credential of that type"
        )
    return credential


async def apply_auth(
    ctx: NodeContext, kind: AuthKind, retry: RetryPolicy, cache: TokenCache
) -> AppliedAuth:
    """Headers, query params or basic-auth pair for the credential of type ``kind``."""
    if kind == "none":
        return AppliedAuth()
    credential = ctx.credential(kind)
    secrets = tuple(secret_values(credential))
    if kind == "api_key":
        api_key = _typed(credential, ApiKeyCredential)
        value = api_key.prefix + api_key.api_key.get_secret_value()
        if api_key.location == "query":
            return AppliedAuth(query={api_key.name: value}, secrets=secrets)
        return AppliedAuth(headers={api_key.name: value}, secrets=secrets)
    if kind == "bearer_token":
        token = _typed(credential, BearerTokenCredential).token.get_secret_value()
        return AppliedAuth(headers={"Authorization": f"Bearer {token}"}, secrets=secrets)
    if kind == "basic_auth":
        basic = _typed(credential, BasicAuthCredential)
        password = basic.password.get_secret_value()
        encoded = base64.b64encode(f"{basic.username}:{password}".encode()).decode("ascii")
        return AppliedAuth(basic=(basic.username, password), secrets=(*secrets, encoded))
    oauth = _typed(credential, OAuth2ClientCredentials)
    token = await _client_credentials_token(ctx, oauth, retry, cache, secrets)
    return AppliedAuth(headers={"Authorization": f"Bearer {token}"}, secrets=(*secrets, token))


async def _client_credentials_token(
    ctx: NodeContext,
    credential: OAuth2ClientCredentials,
    retry: RetryPolicy,
    cache: TokenCache,
    secrets: tuple[str, ...],
) -> str:
    """Fetch (or reuse) an OAuth2 client-credentials token through the guarded client."""
    client_secret = credential.client_secret.get_secret_value()
    key = (credential.token_url, credential.client_id)
    cached = cache.get(key)
    if cached:
        return cached
    data = {"grant_type": "client_credentials"}
    if credential.scope:
        data["scope"] = credential.scope
    if credential.audience:
        data["audience"] = credential.audience
    auth: httpx.BasicAuth | None = None
    if credential.auth_method == "client_secret_basic":
        auth = httpx.BasicAuth(credential.client_id, client_secret)
    else:
        data |= {"client_id": credential.client_id, "client_secret": client_secret}
    response = await send(
        ctx,
        "POST",
        credential.token_url,
        retry=retry,
        secrets=secrets,
        data=data,
        auth=auth,
        headers={"Accept": "application/json"},
    )
    where = safe_url(credential.token_url, secrets)
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
    expires_in = payload.get("expires_in")
    cache.put(key, token, float(expires_in) if expires_in is not None else 3600.0)
    return token
