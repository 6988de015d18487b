"""Workspaces a user creates, lists, renames and deletes (``/workspaces``).

- Any signed-in user creates a workspace and becomes its owner; with
  ``REPORUNNER_WORKSPACE_CREATION=admins`` only instance admins may. An *instance admin* is an
  owner of the oldest workspace (the one the first start made): no new table or flag.
- Renaming and deleting act on the workspace the request is in (an API key's own, or the one a
  browser session names in ``X-Workspace``); the id in the path must be that one, anything else
  is 404 like every other tenant's id. Rename needs admin, delete needs owner, a confirmation
  equal to the slug, and another workspace of the caller's to go on working in.
- Deleting removes every row carrying the workspace's id (executions, workflows, knowledge,
  credentials, memories, chats, keys, memberships, invitations, ...) and its stored originals;
  browser sessions that signed in there move to another workspace of their user (or end). The
  audit log of the workspace is kept, ending with ``workspace.deleted`` (who deleted what, from
  which address).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, cast

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.platform.auth import Principal, generate_key
from reporunner.platform.db.base import Base
from reporunner.platform.db.models import ApiKey, AuditLog, BrowserSession, Membership, Workspace
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.identity.errors import OwnerRequired
from reporunner.platform.identity.schemas import (
    RoleName,
    WorkspaceCreate,
    WorkspaceCreated,
    WorkspaceDelete,
    WorkspaceOut,
    WorkspaceUpdate,
)
from reporunner.platform.originals import OriginalStore, local_root

__all__ = [
    "check_deletion",
    "create_workspace",
    "delete_workspace",
    "is_instance_admin",
    "list_workspaces",
    "remove_originals",
    "rename_workspace",
    "tenant_tables",
]


class CreationRestricted(OwnerRequired):
    """``REPORUNNER_WORKSPACE_CREATION=admins`` and the caller is no instance admin."""

    code = "admins_only"


def tenant_tables() -> list[Any]:
    """Every table with a ``workspace_id``, children before parents (safe delete order)."""
    return [t for t in reversed(Base.metadata.sorted_tables) if "workspace_id" in t.c]


async def is_instance_admin(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the user is an owner of the oldest workspace (the first start's)."""
    first = await session.scalar(
        select(Workspace.id).order_by(Workspace.created_at, Workspace.id).limit(1)
    )
    if first is None:
        return True
    role = await session.scalar(
        select(Membership.role).where(
            Membership.workspace_id == first, Membership.user_id == user_id
        )
    )
    return role == "owner"


async def _count(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    n = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.workspace_id == workspace_id)
    )
    return int(n or 0)


def _out(ws: Workspace, role: str, members: int) -> WorkspaceOut:
    return WorkspaceOut(
        id=ws.id, slug=ws.slug, name=ws.name, created_at=ws.created_at,
        role=cast(RoleName, role), member_count=members,
    )  # fmt: skip


def _audit(
    principal: Principal,
    workspace_id: uuid.UUID,
    action: str,
    address: str,
    data: dict[str, Any],
) -> AuditLog:
    row = audit_entry(principal, action, "workspace", workspace_id, {**data, "ip": address})
    row.workspace_id = workspace_id
    return row


async def create_workspace(
    session: AsyncSession,
    principal: Principal,
    body: WorkspaceCreate,
    *,
    creation: str,
    address: str,
) -> WorkspaceCreated:
    """A new workspace owned by the caller (and a first key of theirs there).

    Raises:
        CreationRestricted: creation is for instance admins and the caller is none.
        ConflictError: the slug is taken.
    """
    if creation == "admins" and not await is_instance_admin(session, principal.user_id):
        raise CreationRestricted(
            "on this instance only instance admins (owners of the first workspace) create "
            "workspaces (REPORUNNER_WORKSPACE_CREATION=admins)"
        )
    taken = await session.scalar(select(Workspace.id).where(Workspace.slug == body.slug))
    if taken is not None:
        raise ConflictError(f"the slug '{body.slug}' is taken; choose another")
    ws = Workspace(slug=body.slug, name=body.name.strip() or body.slug, settings={})
    session.add(ws)
    try:
        await session.flush()
    except IntegrityError as err:  # a concurrent create of the same slug
        raise ConflictError(f"the slug '{body.slug}' is taken; choose another") from err
    session.add(Membership(workspace_id=ws.id, user_id=principal.user_id, role="owner"))
    key_text: str | None = None
    if body.issue_key:
        key = generate_key()
        session.add(
            ApiKey(
                workspace_id=ws.id, user_id=principal.user_id, name="first key",
                prefix=key.prefix, key_hash=key.hash,
            )
        )  # fmt: skip
        key_text = key.plaintext
    session.add(
        _audit(principal, ws.id, "workspace.created", address,
               {"slug": ws.slug, "name": ws.name, "from_workspace": str(principal.workspace_id)})
    )  # fmt: skip
    await session.flush()
    await session.refresh(ws)
    return WorkspaceCreated(workspace=_out(ws, "owner", 1), key=key_text)


async def list_workspaces(session: AsyncSession, principal: Principal) -> list[WorkspaceOut]:
    """The workspaces of the caller's user with its role in each, oldest first."""
    members = (
        select(Membership.workspace_id, func.count().label("n"))
        .group_by(Membership.workspace_id)
        .subquery()
    )
    rows = await session.execute(
        select(Workspace, Membership.role, members.c.n)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .join(members, members.c.workspace_id == Workspace.id)
        .where(Membership.user_id == principal.user_id)
        .order_by(Workspace.created_at, Workspace.id)
    )
    return [_out(ws, role, int(n)) for ws, role, n in rows.all()]


async def _this(
    session: AsyncSession, principal: Principal, workspace_id: uuid.UUID, *, lock: bool = True
) -> Workspace:
    ws = None
    if workspace_id == principal.workspace_id:
        ws = await session.get(Workspace, workspace_id, with_for_update=lock)
    if ws is None:
        raise NotFoundError(
            f"workspace {workspace_id} is not the one this request acts in; send "
            "'X-Workspace: <id>' with a browser session, or use a key of that workspace"
        )
    return ws


async def rename_workspace(
    session: AsyncSession,
    principal: Principal,
    workspace_id: uuid.UUID,
    body: WorkspaceUpdate,
    *,
    address: str,
) -> WorkspaceOut:
    """Rename the request's workspace (admin; the guard checks the role).

    Raises:
        NotFoundError: ``workspace_id`` is not the request's workspace.
    """
    ws = await _this(session, principal, workspace_id)
    old = ws.name
    ws.name = body.name.strip() or ws.slug
    if ws.name != old:
        session.add(
            _audit(principal, ws.id, "workspace.renamed", address, {"from": old, "to": ws.name})
        )
    await session.flush()
    return _out(ws, principal.role, await _count(session, ws.id))


async def check_deletion(
    session: AsyncSession,
    principal: Principal,
    workspace_id: uuid.UUID,
    body: WorkspaceDelete,
    *,
    lock: bool = False,
) -> Workspace:
    """The request's workspace if the caller may delete it now (no lock unless asked: the
    route checks first, stops the workspace's runs, then deletes).

    Raises:
        NotFoundError: ``workspace_id`` is not the request's workspace.
        OwnerRequired: the caller is not its owner.
        ValidationFailed: ``confirm`` is not the slug.
        ConflictError: it is the caller's only workspace.
    """
    ws = await _this(session, principal, workspace_id, lock=lock)
    if principal.role != "owner":
        raise OwnerRequired(f"only an owner may delete a workspace; you are '{principal.role}'")
    if body.confirm != ws.slug:
        raise ValidationFailed(
            "confirm must repeat the workspace's slug exactly; deleting removes everything in it",
            [Problem("/confirm", "confirmation_mismatch", "is not the workspace's slug")],
        )
    others = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == principal.user_id, Membership.workspace_id != ws.id)
    )
    if not others:
        raise ConflictError(
            "this is your only workspace; create or join another before deleting it"
        )
    return ws


async def delete_workspace(
    session: AsyncSession,
    principal: Principal,
    workspace_id: uuid.UUID,
    body: WorkspaceDelete,
    *,
    address: str,
) -> dict[str, int]:
    """Delete the request's workspace and every row in it; rows deleted per table (remove its
    files with :func:`remove_originals` once this is committed). Stop its runs first
    (:func:`~reporunner.platform.executions.stop_all.stop_workspace_executions`); the
    checkpoints of its executions go with them.

    Raises:
        The errors of :func:`check_deletion`.
    """
    ws = await check_deletion(session, principal, workspace_id, body, lock=True)
    # browser sessions that started here go on in another workspace of their user
    elsewhere = (
        select(Membership.workspace_id)
        .where(Membership.user_id == BrowserSession.user_id, Membership.workspace_id != ws.id)
        .order_by(Membership.created_at, Membership.id)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        update(BrowserSession)
        .where(BrowserSession.workspace_id == ws.id)
        .values(workspace_id=func.coalesce(elsewhere, BrowserSession.workspace_id))
    )
    deleted: dict[str, int] = {"checkpoints": await _delete_checkpoints(session, ws.id)}
    for table in tenant_tables():
        if table.name == AuditLog.__tablename__:
            continue  # the audit log outlives what it records
        result = await session.execute(delete(table).where(table.c.workspace_id == ws.id))
        deleted[table.name] = int(getattr(result, "rowcount", 0) or 0)
    session.add(
        _audit(principal, ws.id, "workspace.deleted", address,
               {"slug": ws.slug, "name": ws.name, "rows": sum(deleted.values())})
    )  # fmt: skip
    await session.delete(ws)
    await session.flush()
    return deleted


async def remove_originals(store: OriginalStore, data_dir: Path, workspace_id: uuid.UUID) -> None:
    """Delete the stored originals of a deleted workspace (after its rows are committed): in
    the store (PostgreSQL's went with the rows already), and any an earlier version left on
    this machine's data directory."""
    await store.delete_workspace(workspace_id)
    shutil.rmtree(local_root(data_dir) / str(workspace_id), ignore_errors=True)


_CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")


async def _delete_checkpoints(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    """The engine's checkpoints of the workspace's executions (keyed by execution id, with no
    ``workspace_id`` of their own); how many runs had some. Nothing when the engine never made
    its tables (a database that never ran a workflow)."""
    threads = 0
    for table in _CHECKPOINT_TABLES:
        if not await session.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}):
            continue
        if table == "checkpoints":
            threads = int(
                await session.scalar(
                    text(
                        "SELECT count(DISTINCT thread_id) FROM checkpoints WHERE thread_id IN "
                        "(SELECT id::text FROM executions WHERE workspace_id = :ws)"
                    ),
                    {"ws": workspace_id},
                )
                or 0
            )
        await session.execute(
            text(
                f"DELETE FROM {table} WHERE thread_id IN "
                "(SELECT id::text FROM executions WHERE workspace_id = :ws)"
            ),
            {"ws": workspace_id},
        )
    return threads
