"""API keys to principals: :func:`authenticate_key` and what it needs.

Every route requires an API key unless its handler is marked ``opt={"public": True}``; the
Litestar middleware that asks for it (and counts failed keys per client address) is
:class:`reporunner.platform.api.key_auth.ApiKeyAuthMiddleware`, next to the other HTTP limits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

from litestar.exceptions import NotAuthorizedException
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reporunner.platform.auth.keys import hash_key
from reporunner.platform.auth.principal import Principal, Role
from reporunner.platform.db.models import ApiKey, Membership, Workspace
from reporunner.platform.db.session import transaction

__all__ = ["KEY_HINT", "PUBLIC_OPT", "SessionSource", "UnknownKey", "authenticate_key"]

PUBLIC_OPT = "public"
LAST_USED_GRANULARITY = timedelta(minutes=1)
KEY_HINT = "send an API key as 'Authorization: Bearer <key>'"


class SessionSource(Protocol):
    """Where :func:`authenticate_key` opens its session (``Resources`` is one).

    A protocol rather than ``Resources`` itself: ``resources`` holds the vault's keyring and
    the vault records the acting principal, so auth naming ``resources`` would close a circle.
    """

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The session factory."""
        ...


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
