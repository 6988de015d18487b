"""API keys and browser sessions to principals: :func:`authenticate_key`, :func:`check_csrf`.

Every route requires an API key or a browser session unless its handler is marked
``opt={"public": True}``; the Litestar middleware that asks for them (and counts failed lookups
per client address) is :class:`reporunner.platform.api.key_auth.ApiKeyAuthMiddleware`, next to
the other HTTP limits. Both resolve to the same :class:`Principal`, so roles and workspace
isolation are one code path. A request authenticated by the ``rr_session`` cookie with an unsafe
method must carry the session's CSRF token in ``X-CSRF-Token`` (a cross-site page can make the
browser send the cookie, never the header).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlalchemy import select, update

from reporunner.platform.auth.keys import hash_key
from reporunner.platform.auth.principal import Principal, Role
from reporunner.platform.auth.sessions import CSRF_HEADER
from reporunner.platform.auth.source import SessionSource
from reporunner.platform.db.models import ApiKey, Membership, Workspace
from reporunner.platform.db.session import transaction

__all__ = [
    "KEY_HINT",
    "PUBLIC_OPT",
    "SAFE_METHODS",
    "UnknownKey",
    "authenticate_key",
    "check_csrf",
]

PUBLIC_OPT = "public"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_USED_GRANULARITY = timedelta(minutes=1)
KEY_HINT = "send an API key as 'Authorization: Bearer <key>' or sign in at /login"


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any], expected: str) -> None:
    """403 unless an unsafe request carries the session's CSRF token."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    given = connection.headers.get(CSRF_HEADER, "")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDeniedException(
            "missing or wrong X-CSRF-Token header: requests signed in with the session cookie "
            "must send the csrf_token of GET /auth/me"
        )


class UnknownKey(NotAuthorizedException):
    """No key with this hash exists (remembered a minute, unlike revoked or expired ones)."""


async def authenticate_key(resources: SessionSource, plaintext: str) -> Principal:
    """Resolve a key to its principal; 401 for unknown, revoked or expired keys."""
    now = datetime.now(UTC)
    async with transaction(resources.sessions) as session:
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
            raise UnknownKey(f"unknown API key: {KEY_HINT}")
        key, role, slug = row
        if key.revoked_at is not None:
            raise NotAuthorizedException("this API key was revoked; create a new one")
        if key.expires_at is not None and key.expires_at <= now:
            raise NotAuthorizedException("this API key has expired; create a new one")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
            await session.execute(
                update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now)
            )
    return Principal(
        workspace_id=key.workspace_id,
        workspace_slug=slug,
        user_id=key.user_id,
        role=cast(Role, role),
        api_key_id=key.id,
    )
