"""First start: an empty database gets a workspace, an owner and a one-time API key.

There is no default password and no auto-login: the only way in is the key printed once by the
first ``serve`` (or the one given as ``REPORUNNER_BOOTSTRAP_TOKEN``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.auth.keys import NewKey, generate_key
from reporunner.platform.db.models import ApiKey, AuditLog, Membership, User, Workspace

__all__ = ["BootstrapResult", "bootstrap_if_empty", "create_workspace_with_owner"]


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    workspace_slug: str
    email: str
    key: NewKey


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
    return BootstrapResult(workspace_slug="default", email="owner@localhost", key=key)
