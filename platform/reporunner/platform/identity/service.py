"""Workspace, members and API keys of the caller's workspace.

Rules: admins manage members; only an owner may add, promote to, demote from or remove an
owner, and the last owner can never be demoted or removed (a workspace always has someone who
can manage it). API keys are personal: a member creates keys for themself; admins see every key
of the workspace and may revoke those of members of their rank or lower, never an owner's.
Every change writes an audit entry in its own transaction.
Ids of other workspaces are "not found", never "forbidden".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError, Problem, ValidationFailed
from reporunner.platform.auth import Principal, Role, generate_key
from reporunner.platform.db.models import ApiKey, Membership, User, Workspace
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.identity.errors import OwnerRequired
from reporunner.platform.identity.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    MemberAdd,
    MemberAdded,
    MemberOut,
    MemberUpdate,
    RoleName,
    WorkspaceOut,
)

__all__ = [
    "add_member",
    "change_member_role",
    "create_api_key",
    "get_workspace",
    "list_api_keys",
    "list_members",
    "remove_member",
    "revoke_api_key",
]


async def get_workspace(session: AsyncSession, principal: Principal) -> WorkspaceOut:
    """The caller's workspace with their role and the member count."""
    ws = await session.get(Workspace, principal.workspace_id)
    if ws is None:
        raise NotFoundError("this API key's workspace no longer exists")
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == principal.workspace_id)
    )
    return WorkspaceOut(
        id=ws.id, slug=ws.slug, name=ws.name, created_at=ws.created_at, role=principal.role,
        member_count=int(count or 0),
    )  # fmt: skip


def _member_out(m: Membership, u: User) -> MemberOut:
    return MemberOut(
        user_id=u.id, email=u.email, name=u.name, role=cast(RoleName, m.role),
        joined_at=m.created_at,
    )  # fmt: skip


async def list_members(session: AsyncSession, principal: Principal) -> list[MemberOut]:
    """Members of the caller's workspace, by e-mail."""
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == principal.workspace_id)
        .order_by(User.email)
    )
    return [_member_out(m, u) for m, u in rows.all()]


def _require_owner_for(principal: Principal, *roles: str) -> None:
    if "owner" in roles and principal.role != "owner":
        raise OwnerRequired("only an owner may add, promote, demote or remove an owner")


async def _membership(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID, *, lock: bool = False
) -> tuple[Membership, User]:
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace_id, Membership.user_id == user_id)
    )
    if lock:
        query = query.with_for_update(of=Membership)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFoundError(f"user {user_id} is not a member of this workspace")
    return row[0], row[1]


async def _other_owners(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> int:
    # lock every owner row so two admins cannot demote the last two owners at once
    rows = await session.execute(
        select(Membership.id)
        .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
        .with_for_update()
    )
    ids = list(rows.scalars())
    mine = await session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
    )
    return len([i for i in ids if i != mine])


async def add_member(session: AsyncSession, principal: Principal, body: MemberAdd) -> MemberAdded:
    """Add a person (found or created by e-mail) with a role; optionally issue a first key.

    Raises:
        OwnerRequired: a non-owner tried to add an owner.
        ConflictError: the person is already a member.
    """
    _require_owner_for(principal, body.role)
    email = body.email.strip().lower()
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        user = User(email=email, name=body.name or email.split("@")[0])
        session.add(user)
        await session.flush()
    exists = await session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == principal.workspace_id, Membership.user_id == user.id
        )
    )
    if exists is not None:
        raise ConflictError(f"{email} is already a member; change their role instead")
    membership = Membership(workspace_id=principal.workspace_id, user_id=user.id, role=body.role)
    session.add(membership)
    key_text: str | None = None
    if body.issue_key:
        key = generate_key()
        session.add(
            ApiKey(
                workspace_id=principal.workspace_id, user_id=user.id, name="first key",
                prefix=key.prefix, key_hash=key.hash,
            )
        )  # fmt: skip
        key_text = key.plaintext
    session.add(
        audit_entry(principal, "member.added", "user", user.id, {"email": email, "role": body.role})
    )
    await session.flush()
    await session.refresh(membership)
    return MemberAdded(member=_member_out(membership, user), key=key_text)


async def change_member_role(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, body: MemberUpdate
) -> MemberOut:
    """Change a member's role.

    Raises:
        NotFoundError: no such member in the workspace.
        OwnerRequired: a non-owner tried to make or unmake an owner.
        ConflictError: it would leave the workspace without an owner.
    """
    membership, user = await _membership(session, principal.workspace_id, user_id, lock=True)
    old = membership.role
    if old == body.role:
        return _member_out(membership, user)
    _require_owner_for(principal, old, body.role)
    if old == "owner" and not await _other_owners(session, principal.workspace_id, user_id):
        raise ConflictError("this is the last owner; make someone else owner first")
    membership.role = body.role
    session.add(
        audit_entry(
            principal, "member.role_changed", "user", user_id, {"from": old, "to": body.role}
        )
    )
    await session.flush()
    return _member_out(membership, user)


async def remove_member(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> None:
    """Remove a member and revoke their keys of this workspace.

    Raises:
        NotFoundError: no such member in the workspace.
        OwnerRequired: a non-owner tried to remove an owner.
        ConflictError: it is the last owner.
    """
    membership, user = await _membership(session, principal.workspace_id, user_id, lock=True)
    _require_owner_for(principal, membership.role)
    if membership.role == "owner" and not await _other_owners(
        session, principal.workspace_id, user_id
    ):
        raise ConflictError("this is the last owner; make someone else owner first")
    now = datetime.now(UTC)
    keys = await session.execute(
        select(ApiKey).where(
            ApiKey.workspace_id == principal.workspace_id,
            ApiKey.user_id == user_id,
            ApiKey.revoked_at.is_(None),
        )
    )
    for key in keys.scalars():
        key.revoked_at = now
    await session.delete(membership)
    session.add(
        audit_entry(
            principal, "member.removed", "user", user_id,
            {"email": user.email, "role": membership.role},
        )
    )  # fmt: skip
    await session.flush()


def _key_out(row: ApiKey) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "prefix": row.prefix, "user_id": row.user_id,
        "created_at": row.created_at, "expires_at": row.expires_at,
        "last_used_at": row.last_used_at, "revoked_at": row.revoked_at,
    }  # fmt: skip


async def create_api_key(
    session: AsyncSession, principal: Principal, body: ApiKeyCreate
) -> ApiKeyCreated:
    """A new personal key of the caller, returned in full this once.

    Raises:
        ValidationFailed: ``expires_at`` is naive or already past.
    """
    if body.expires_at is not None:
        if body.expires_at.tzinfo is None:
            raise ValidationFailed(
                "expires_at needs a time zone, e.g. 2030-01-01T00:00:00Z",
                [Problem("/expires_at", "naive_datetime", "no zone")],
            )
        if body.expires_at <= datetime.now(UTC):
            raise ValidationFailed(
                "expires_at is in the past; give a future time or null for no expiry",
                [Problem("/expires_at", "past", "in the past")],
            )
    key = generate_key()
    row = ApiKey(
        workspace_id=principal.workspace_id, user_id=principal.user_id, name=body.name,
        prefix=key.prefix, key_hash=key.hash, expires_at=body.expires_at,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    session.add(audit_entry(principal, "api_key.created", "api_key", row.id, {"name": body.name}))
    await session.flush()
    await session.refresh(row)
    return ApiKeyCreated(**_key_out(row), key=key.plaintext)


async def list_api_keys(session: AsyncSession, principal: Principal) -> list[ApiKeyOut]:
    """The caller's keys; every key of the workspace for admins. Newest first."""
    query = select(ApiKey).where(ApiKey.workspace_id == principal.workspace_id)
    if not principal.can("admin"):
        query = query.where(ApiKey.user_id == principal.user_id)
    rows = await session.execute(query.order_by(ApiKey.created_at.desc(), ApiKey.id))
    return [ApiKeyOut(**_key_out(r)) for r in rows.scalars()]


async def revoke_api_key(
    session: AsyncSession, principal: Principal, key_id: uuid.UUID
) -> ApiKeyOut:
    """Revoke a key (own keys; for admins, keys of members of their rank or lower).
    Idempotent.

    Raises:
        NotFoundError: no such key visible to the caller.
        OwnerRequired: the key's holder has a higher role than the caller (an admin may not
            lock the owners out).
    """
    query = select(ApiKey).where(ApiKey.id == key_id, ApiKey.workspace_id == principal.workspace_id)
    if not principal.can("admin"):
        query = query.where(ApiKey.user_id == principal.user_id)
    row = await session.scalar(query.with_for_update())
    if row is None:
        raise NotFoundError(f"API key {key_id} not found in this workspace")
    if row.user_id != principal.user_id:
        holder_role = await session.scalar(
            select(Membership.role).where(
                Membership.workspace_id == principal.workspace_id,
                Membership.user_id == row.user_id,
            )
        )
        if holder_role is not None and not principal.can(cast(Role, holder_role)):
            raise OwnerRequired(
                f"this key belongs to a member with role '{holder_role}', above yours "
                f"('{principal.role}'); only a member of that role may revoke it"
            )
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.add(
            audit_entry(principal, "api_key.revoked", "api_key", row.id, {"name": row.name})
        )
        await session.flush()
    return ApiKeyOut(**_key_out(row))
