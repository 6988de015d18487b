"""Sign-in test kit: members with passwords, set-up links, a client per browser."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.auth import create_setup_token, create_workspace_with_owner
from reporunner.platform.auth.passwords import hash_password
from reporunner.platform.db.models import Membership, User
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.settings import Settings

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True, slots=True)
class Member:
    workspace_id: uuid.UUID
    slug: str
    user_id: uuid.UUID
    email: str
    role: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.test"


async def make_member(
    database_url: str,
    *,
    role: str = "owner",
    password: str | None = PASSWORD,
    workspace_id: uuid.UUID | None = None,
    email: str | None = None,
) -> Member:
    """A user with ``password`` and an API key, in a new workspace or as a member of one."""
    email = email or unique_email(role)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            if workspace_id is None:
                slug = f"ws-{uuid.uuid4().hex[:10]}"
                ws, user, key = await create_workspace_with_owner(
                    session, slug=slug, email=email, role=role
                )
                workspace_id = ws.id
            else:
                from reporunner.platform.auth import generate_key
                from reporunner.platform.db.models import ApiKey, Workspace

                slug = (await session.get(Workspace, workspace_id)).slug  # type: ignore[union-attr]
                user = User(email=email, name=email.split("@")[0])
                session.add(user)
                await session.flush()
                session.add(Membership(workspace_id=workspace_id, user_id=user.id, role=role))
                key = generate_key()
                session.add(
                    ApiKey(
                        workspace_id=workspace_id, user_id=user.id, name="k",
                        prefix=key.prefix, key_hash=key.hash,
                    )
                )  # fmt: skip
            if password is not None:
                user.password_hash = await hash_password(password)
        return Member(workspace_id, slug, user.id, email, role, key.plaintext)
    finally:
        await engine.dispose()


async def make_setup_link(database_url: str) -> tuple[Member, str]:
    """A workspace whose owner has no password yet, and a set-up token for them."""
    owner = await make_member(database_url, password=None)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            token = await create_setup_token(session, owner.workspace_id, owner.email)
        return owner, token
    finally:
        await engine.dispose()


@asynccontextmanager
async def browser(
    settings: Settings, *, base_url: str = "http://testserver.local", **app_args: Any
) -> AsyncIterator[AsyncTestClient]:
    """A test client that keeps cookies like a browser (one per simulated browser)."""
    async with AsyncTestClient(create_app(settings, **app_args), base_url=base_url) as client:
        yield client


async def sign_in(client: AsyncTestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
