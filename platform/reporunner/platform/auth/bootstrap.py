"""First start: an empty database gets a workspace, an owner, a one-time API key and a
one-time set-up link.

There is no default password and no auto-login: the only ways in are the key printed once by the
first ``serve`` (or the one given as ``REPORUNNER_BOOTSTRAP_TOKEN``) and the set-up link printed
with it, where the owner chooses e-mail and password (single use, valid 24 hours).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.auth.keys import NewKey, generate_key
from reporunner.platform.auth.tokens import new_token
from reporunner.platform.db.models import (
    ApiKey,
    AuditLog,
    Membership,
    OneTimeToken,
    User,
    Workspace,
)

__all__ = [
    "SETUP_TTL",
    "BootstrapResult",
    "bootstrap_if_empty",
    "create_setup_token",
    "create_workspace_with_owner",
]

SETUP_TTL = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    workspace_slug: str
    email: str
    key: NewKey
    setup_token: str
    """Token of the owner's one-time set-up link (``/setup?token=...``)."""

    def __repr__(self) -> str:
        return f"BootstrapResult(workspace_slug={self.workspace_slug!r}, email={self.email!r})"


async def create_workspace_with_owner(
    session: AsyncSession,
    *,
    slug: str,
    email: str,
    role: str = "owner",
    plaintext_key: str | None = None,
) -> tuple[Workspace, User, NewKey]:
    """Create a workspace, a user with ``role`` in it and an API key (caller commits)."""
    workspace = Workspace(slug=slug, name=slug, settings={})
    user = User(email=email, name=email.split("@")[0])
    session.add_all([workspace, user])
    await session.flush()
    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=role))
    key = generate_key(plaintext_key)
    session.add(
        ApiKey(
            workspace_id=workspace.id,
            user_id=user.id,
            name="bootstrap" if plaintext_key is None else "bootstrap-token",
            prefix=key.prefix,
            key_hash=key.hash,
        )
    )
    return workspace, user, key


async def create_setup_token(
    session: AsyncSession, workspace_id: uuid.UUID, email: str, *, now: datetime | None = None
) -> str:
    """A one-time set-up link token for the owner ``email`` of a workspace (valid 24 h)."""
    token, token_hash = new_token()
    session.add(
        OneTimeToken(
            workspace_id=workspace_id, kind="setup", token_hash=token_hash, email=email,
            role="owner", expires_at=(now or datetime.now(UTC)) + SETUP_TTL,
        )
    )  # fmt: skip
    await session.flush()
    return token


async def bootstrap_if_empty(
    session: AsyncSession, bootstrap_token: str | None = None
) -> BootstrapResult | None:
    """Create the first owner when there is no user yet; None when the database has users.

    Give it a transaction of its own: the advisory lock that makes concurrent starts bootstrap
    once is held until that transaction ends.
    """
    # one bootstrap even with several processes starting at once
    await session.execute(select(func.pg_advisory_xact_lock(7_270_001)))
    if (await session.execute(select(func.count()).select_from(User))).scalar_one():
        return None
    workspace, user, key = await create_workspace_with_owner(
        session, slug="default", email="owner@localhost", plaintext_key=bootstrap_token
    )
    setup_token = await create_setup_token(session, workspace.id, user.email)
    session.add(
        AuditLog(
            workspace_id=workspace.id,
            actor_user_id=user.id,
            action="workspace.bootstrapped",
            target_type="workspace",
            target_id=str(workspace.id),
            data={},
        )
    )
    return BootstrapResult(
        workspace_slug="default", email="owner@localhost", key=key, setup_token=setup_token
    )
