"""Members added straight to the database, for tests that need a second role in a workspace."""

from __future__ import annotations

import uuid

from reporunner.platform.auth import generate_key
from reporunner.platform.db.models import ApiKey, Membership, User
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.settings import Settings

__all__ = ["add_member"]


async def add_member(settings: Settings, workspace_id: uuid.UUID, role: str) -> dict[str, str]:
    """Add a user with ``role`` to an existing workspace; return its auth headers."""
    engine = create_engine(settings.database_url or "", pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            user = User(email=f"{uuid.uuid4().hex[:10]}@example.test", name="member")
            session.add(user)
            await session.flush()
            session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role))
            key = generate_key()
            session.add(
                ApiKey(workspace_id=workspace_id, user_id=user.id, name="member",
                       prefix=key.prefix, key_hash=key.hash)
            )  # fmt: skip
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {key.plaintext}"}
