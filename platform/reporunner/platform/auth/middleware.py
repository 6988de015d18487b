"""Every route requires an API key unless its handler is marked ``opt={"public": True}``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import select, update

from reporunner.platform.api.clients import NegativeKeyCache, authfail_bucket, client_address
from reporunner.platform.api.limits import hit
from reporunner.platform.auth.keys import hash_key
from reporunner.platform.auth.principal import Principal, Role
from reporunner.platform.db.models import ApiKey, Membership, Workspace

if TYPE_CHECKING:
    from reporunner.platform.resources import Resources

__all__ = ["PUBLIC_OPT", "ApiKeyAuthMiddleware", "authenticate_key"]

PUBLIC_OPT = "public"
UNKNOWN_KEYS = NegativeKeyCache()
"""Keys that failed lookup in this process in the last minute (by hash)."""
LAST_USED_GRANULARITY = timedelta(minutes=1)
_HINT = "send an API key as 'Authorization: Bearer <key>'"


class UnknownKey(NotAuthorizedException):
    """No key with this hash exists (remembered a minute, unlike revoked or expired ones)."""


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(f"missing API key: {_HINT}")
        resources: Resources = connection.app.state.resources
        digest = hash_key(token.strip())
        try:
            if UNKNOWN_KEYS.known_bad(digest):  # a repeated unknown key costs no lookup
                raise UnknownKey(f"unknown API key: {_HINT}")
            principal = await authenticate_key(resources, token.strip())
        except NotAuthorizedException as err:
            if isinstance(err, UnknownKey):  # revoked/expired keep saying so
                UNKNOWN_KEYS.add(digest)
            address = client_address(connection.scope, resources.settings.trusted_proxies)
            limit = resources.settings.anonymous_rate_limit_per_minute
            await hit(resources.redis, authfail_bucket(address), limit)
            raise
        return AuthenticationResult(user=principal, auth=principal.api_key_id)


async def authenticate_key(resources: Resources, plaintext: str) -> Principal:
    """Resolve a key to its principal; 401 for unknown, revoked or expired keys."""
    now = datetime.now(UTC)
    async with resources.sessions() as session:
        row = (
            await session.execute(
                select(ApiKey, Membership.role, Workspace.slug)
                .join(
                    Membership,
                    (Membership.user_id == ApiKey.user_id)
                    & (Membership.workspace_id == ApiKey.workspace_id),
                )
                .join(Workspace, Workspace.id == ApiKey.workspace_id)
                .where(ApiKey.key_hash == hash_key(plaintext))
            )
        ).first()
        if row is None:
            raise UnknownKey(f"unknown API key: {_HINT}")
        key, role, slug = row
        if key.revoked_at is not None:
            raise NotAuthorizedException("this API key was revoked; create a new one")
        if key.expires_at is not None and key.expires_at <= now:
            raise NotAuthorizedException("this API key has expired; create a new one")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
            await session.execute(
                update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
            )
            await session.commit()
    return Principal(
        workspace_id=key.workspace_id,
        workspace_slug=slug,
        user_id=key.user_id,
        role=cast(Role, role),
        api_key_id=key.id,
    )
