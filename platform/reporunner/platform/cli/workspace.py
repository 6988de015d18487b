"""``reporunner workspace create|list``: workspaces from the command line.

Like ``reporunner kb`` and ``setup-link`` it works on the database directly (whoever can run it
can read the database), so it is the operator's tool: ``create`` is not bound by
``REPORUNNER_WORKSPACE_CREATION``. ``create`` makes the workspace with an owner found (or
created) by e-mail and prints that owner's first API key there, once; the audit entry
``workspace.created`` names no actor and says ``via: cli``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from reporunner.nodes.errors import ConflictError, NotFoundError, ValidationFailed
from reporunner.platform.auth import generate_key
from reporunner.platform.cli.signin import _database
from reporunner.platform.db.models import ApiKey, AuditLog, Membership, User, Workspace
from reporunner.platform.db.session import create_engine, session_factory
from reporunner.platform.identity.schemas import SLUG_PATTERN
from reporunner.platform.settings import load_settings

__all__ = ["add_parser", "cmd_create", "cmd_list", "create_workspace", "list_workspaces"]


def add_parser(sub: Any) -> None:
    ws = sub.add_parser("workspace", help="workspaces: create one, list them")
    commands = ws.add_subparsers(dest="workspace_command", required=True, metavar="COMMAND")

    p = commands.add_parser("create", help="create a workspace with an owner; prints their key")
    p.add_argument("slug", metavar="SLUG", help="URL name: lower-case letters, digits, dashes")
    p.add_argument("--owner", required=True, metavar="EMAIL", help="owner (created if new)")
    p.add_argument("--name", default="", help="display name (default: the slug)")
    p.set_defaults(handler=cmd_create)

    p = commands.add_parser("list", help="list workspaces with their member counts")
    p.add_argument("--user", metavar="EMAIL", help="only this user's workspaces, with the role")
    p.set_defaults(handler=cmd_list)


async def create_workspace(database_url: str, slug: str, owner: str, name: str) -> str:
    """Create workspace ``slug`` owned by ``owner``; the owner's first API key there.

    Raises:
        ValidationFailed: the slug or e-mail is malformed.
        ConflictError: the slug is taken.
    """
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise ValidationFailed(
            f"'{slug}' is no slug: use lower-case letters, digits and inner dashes (max 64)"
        )
    email = owner.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        raise ValidationFailed(f"--owner '{owner}' is no e-mail address")
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            if await session.scalar(select(Workspace.id).where(Workspace.slug == slug)):
                raise ConflictError(f"the slug '{slug}' is taken; choose another")
            user = await session.scalar(select(User).where(func.lower(User.email) == email))
            if user is None:
                user = User(email=email, name=email.split("@")[0])
            ws = Workspace(slug=slug, name=name.strip() or slug, settings={})
            session.add_all([user, ws])
            await session.flush()
            key = generate_key()
            session.add_all(
                [
                    Membership(workspace_id=ws.id, user_id=user.id, role="owner"),
                    ApiKey(
                        workspace_id=ws.id, user_id=user.id, name="first key",
                        prefix=key.prefix, key_hash=key.hash,
                    ),
                    AuditLog(
                        workspace_id=ws.id, actor_user_id=None, action="workspace.created",
                        target_type="workspace", target_id=str(ws.id),
                        data={"slug": slug, "name": ws.name, "owner": email, "via": "cli"},
                    ),
                ]
            )  # fmt: skip
        return key.plaintext
    finally:
        await engine.dispose()


async def list_workspaces(database_url: str, user: str | None) -> list[dict[str, Any]]:
    """Every workspace (or ``user``'s, with the role) with its member count, oldest first.

    Raises:
        NotFoundError: no user with that e-mail.
    """
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            counts = (
                select(Membership.workspace_id, func.count().label("n"))
                .group_by(Membership.workspace_id)
                .subquery()
            )
            query = select(Workspace, counts.c.n).outerjoin(
                counts, counts.c.workspace_id == Workspace.id
            )
            role: Any = None
            if user:
                uid = await session.scalar(
                    select(User.id).where(func.lower(User.email) == user.strip().lower())
                )
                if uid is None:
                    raise NotFoundError(f"no user with e-mail {user}")
                role = Membership.role
                query = query.add_columns(role).join(
                    Membership,
                    (Membership.workspace_id == Workspace.id) & (Membership.user_id == uid),
                )
            rows = await session.execute(query.order_by(Workspace.created_at, Workspace.id))
            return [
                {
                    "slug": r[0].slug, "name": r[0].name, "id": str(r[0].id),
                    "members": int(r[1] or 0), "role": r[2] if user else None,
                }
                for r in rows.all()
            ]  # fmt: skip
    finally:
        await engine.dispose()


def cmd_create(args: argparse.Namespace) -> int:
    settings = load_settings()
    with _database(settings) as url:
        key = asyncio.run(create_workspace(url, args.slug, args.owner, args.name))
    print(f"workspace '{args.slug}' created, owner {args.owner.strip().lower()}")
    print(f"the owner's API key there (shown once): {key}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    settings = load_settings()
    with _database(settings) as url:
        rows = asyncio.run(list_workspaces(url, args.user))
    table = Table("slug", "name", "members", *(["role"] if args.user else []), "id")
    for row in rows:
        extra = [row["role"]] if args.user else []
        table.add_row(row["slug"], row["name"], str(row["members"]), *extra, row["id"])
    Console(file=sys.stdout, width=160).print(table)
    return 0
