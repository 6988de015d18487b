"""Set-up links, sign-in and invitations (the route owns the transaction, these take it).

Tokens of links are single use: reading a link (``describe_link``) is free, using it locks the
row, checks it is unused and unexpired, and marks it used in the same transaction as the change
it makes. An invitation for an address without an account creates it with the password the
invitee chooses; one for an existing account adds a membership only after the invitee proves
the account is theirs with its current password, which is never changed (so an admin can never
set, nor learn, the password of an existing, possibly higher, user). Invitations never exceed
the inviter's role, and each step is audited with the address it came from.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import ConflictError, NotFoundError
from reporunner.platform.auth import ROLES, Principal
from reporunner.platform.auth.passwords import hash_password, verify_password
from reporunner.platform.auth.tokens import hash_token, new_token
from reporunner.platform.db.models import AuditLog, Membership, OneTimeToken, User, Workspace
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.identity.schemas import RoleName
from reporunner.platform.signin.errors import LinkExpired, RoleTooHigh, WrongCredentials
from reporunner.platform.signin.schemas import (
    InvitationAccept,
    InvitationCreate,
    InvitationInfo,
    InvitationOut,
    Me,
    MeUser,
    MeWorkspace,
    SetupBody,
    SetupInfo,
)

__all__ = [
    "accept_invitation",
    "check_credentials",
    "complete_setup",
    "create_invitation",
    "describe_invitation",
    "describe_setup",
    "list_invitations",
    "me",
    "normalize_email",
    "normalize_password",
    "revoke_invitation",
]

WRONG = "wrong email or password"


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFC", email).strip().lower()


def normalize_password(password: str) -> str:
    """NFKC, so that the same password typed on another keyboard or OS still matches."""
    return unicodedata.normalize("NFKC", password)


def _workspace_out(ws: Workspace) -> MeWorkspace:
    return MeWorkspace(id=ws.id, slug=ws.slug, name=ws.name)


async def _link(
    session: AsyncSession, token: str, kind: str, *, lock: bool = False
) -> tuple[OneTimeToken, Workspace]:
    query = (
        select(OneTimeToken, Workspace)
        .join(Workspace, Workspace.id == OneTimeToken.workspace_id)
        .where(OneTimeToken.token_hash == hash_token(token), OneTimeToken.kind == kind)
    )
    if lock:
        query = query.with_for_update(of=OneTimeToken)
    row = (await session.execute(query)).first()
    noun = "set-up" if kind == "setup" else "invitation"
    if row is None or row[0].used_at is not None:
        raise NotFoundError(f"this {noun} link is unknown or was already used")
    if row[0].expires_at <= datetime.now(UTC):
        ask = "run `reporunner setup-link`" if kind == "setup" else "ask an admin"
        raise LinkExpired(f"this {noun} link has expired; {ask} for a new one")
    return row[0], row[1]


async def describe_setup(session: AsyncSession, token: str) -> SetupInfo:
    link, ws = await _link(session, token, "setup")
    return SetupInfo(workspace=_workspace_out(ws), expires_at=link.expires_at)


async def describe_invitation(session: AsyncSession, token: str) -> InvitationInfo:
    link, ws = await _link(session, token, "invitation")
    return InvitationInfo(
        email=link.email, role=cast(RoleName, link.role), workspace=_workspace_out(ws),
        expires_at=link.expires_at, existing_account=await _email_taken(session, link.email, None),
    )  # fmt: skip


async def _email_taken(session: AsyncSession, email: str, other_than: uuid.UUID | None) -> bool:
    query = select(User.id).where(func.lower(User.email) == email)
    if other_than is not None:
        query = query.where(User.id != other_than)
    return (await session.scalar(query)) is not None


async def complete_setup(session: AsyncSession, body: SetupBody) -> tuple[User, Workspace]:
    """The owner of a set-up link chooses e-mail, password and name; the link is used up.

    Raises:
        NotFoundError: unknown or used link. LinkExpired: expired link.
        ConflictError: another user already has that e-mail address.
    """
    link, ws = await _link(session, body.token, "setup", lock=True)
    owner = await session.scalar(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.workspace_id == ws.id,
            Membership.role == "owner",
            func.lower(User.email) == link.email.lower(),
        )
    )
    if owner is None:
        raise NotFoundError("the owner this set-up link was made for no longer exists")
    email = normalize_email(body.email)
    if await _email_taken(session, email, owner.id):
        raise ConflictError(f"email: {email} already belongs to another user; choose another")
    owner.email = email
    owner.name = body.name.strip() or email.split("@")[0]
    owner.password_hash = await hash_password(normalize_password(body.password))
    link.used_at = datetime.now(UTC)
    session.add(
        AuditLog(
            workspace_id=ws.id, actor_user_id=owner.id, action="owner.set_up",
            target_type="user", target_id=str(owner.id), data={"email": email},
        )
    )  # fmt: skip
    await session.flush()
    return owner, ws


async def check_credentials(
    session: AsyncSession, email: str, password: str
) -> tuple[User, uuid.UUID]:
    """The user and the workspace to sign in to (their oldest membership).

    Raises:
        WrongCredentials: unknown address, no password set, wrong password or no membership.
    """
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    ok = await verify_password(user.password_hash if user else None, normalize_password(password))
    if user is None or not ok:
        raise WrongCredentials(WRONG)
    workspace_id = await session.scalar(
        select(Membership.workspace_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.created_at, Membership.id)
        .limit(1)
    )
    if workspace_id is None:
        raise WrongCredentials(WRONG)
    return user, workspace_id


async def me(session: AsyncSession, principal: Principal, csrf_token: str | None) -> Me:
    user = await session.get(User, principal.user_id)
    ws = await session.get(Workspace, principal.workspace_id)
    if user is None or ws is None:
        raise NotFoundError("your user or workspace no longer exists")
    return Me(
        user=MeUser(id=user.id, email=user.email, name=user.name),
        workspace=_workspace_out(ws), role=principal.role, csrf_token=csrf_token,
        must_enrol_second_factor=principal.second_factor_missing,
    )  # fmt: skip


async def _is_member(session: AsyncSession, email: str, workspace_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(func.lower(User.email) == email, Membership.workspace_id == workspace_id)
    )
    return found is not None


async def create_invitation(
    session: AsyncSession,
    principal: Principal,
    body: InvitationCreate,
    ttl: timedelta,
    *,
    address: str = "",
) -> tuple[str, OneTimeToken]:
    """A single-use invitation link (caller builds the URL), for a new address or an
    existing account that is not yet a member here.

    Raises:
        RoleTooHigh: the role is above the inviter's.
        ConflictError: the address is already a member of this workspace.
    """
    if ROLES.index(body.role) > ROLES.index(principal.role):
        raise RoleTooHigh(
            f"role: you are '{principal.role}' and cannot invite someone as '{body.role}'"
        )
    email = normalize_email(body.email)
    if await _is_member(session, email, principal.workspace_id):
        raise ConflictError(
            f"email: {email} is already a member of this workspace; change their role with "
            "PATCH /workspace/members/{user_id}"
        )
    token, token_hash = new_token()
    row = OneTimeToken(
        workspace_id=principal.workspace_id, kind="invitation", token_hash=token_hash,
        email=email, role=body.role, created_by_user_id=principal.user_id,
        expires_at=datetime.now(UTC) + ttl,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    existing = await _email_taken(session, email, None)
    session.add(
        audit_entry(principal, "invitation.created", "invitation", row.id,
                    {"email": email, "role": body.role, "existing_account": existing,
                     "ip": address})
    )  # fmt: skip
    await session.flush()
    return token, row


def _invitation_out(row: OneTimeToken, now: datetime) -> InvitationOut:
    return InvitationOut(
        id=row.id, email=row.email, role=cast(RoleName, row.role), created_at=row.created_at,
        created_by_user_id=row.created_by_user_id, expires_at=row.expires_at,
        expired=row.expires_at <= now,
    )  # fmt: skip


async def list_invitations(session: AsyncSession, principal: Principal) -> list[InvitationOut]:
    """The workspace's pending invitations (not yet accepted nor revoked), newest first;
    expired ones are listed (flagged) until revoked."""
    rows = await session.execute(
        select(OneTimeToken)
        .where(
            OneTimeToken.workspace_id == principal.workspace_id,
            OneTimeToken.kind == "invitation",
            OneTimeToken.used_at.is_(None),
        )
        .order_by(OneTimeToken.created_at.desc(), OneTimeToken.id)
    )
    now = datetime.now(UTC)
    return [_invitation_out(r, now) for r in rows.scalars()]


async def revoke_invitation(
    session: AsyncSession, principal: Principal, invitation_id: uuid.UUID, *, address: str = ""
) -> None:
    """Delete a pending invitation: its link answers 404 from now on.

    Raises:
        NotFoundError: no pending invitation with that id in the workspace.
        RoleTooHigh: it invites someone as a role above the caller's.
    """
    row = await session.scalar(
        select(OneTimeToken)
        .where(
            OneTimeToken.id == invitation_id,
            OneTimeToken.workspace_id == principal.workspace_id,
            OneTimeToken.kind == "invitation",
            OneTimeToken.used_at.is_(None),
        )
        .with_for_update()
    )
    if row is None:
        raise NotFoundError(f"no pending invitation {invitation_id} in this workspace")
    if ROLES.index(cast(RoleName, row.role)) > ROLES.index(principal.role):
        raise RoleTooHigh(
            f"this invitation is for the role '{row.role}', above yours ('{principal.role}')"
        )
    session.add(
        audit_entry(principal, "invitation.revoked", "invitation", row.id,
                    {"email": row.email, "role": row.role, "ip": address})
    )  # fmt: skip
    await session.delete(row)
    await session.flush()


async def accept_invitation(
    session: AsyncSession, body: InvitationAccept, *, address: str = ""
) -> tuple[User, Workspace]:
    """Use an invitation link: the link is used up, the invitee becomes a member.

    A new address gets an account with ``body.password``. An existing account joins only
    when ``body.password`` is its current password (never changed here; ``name`` is ignored).

    Raises:
        NotFoundError: unknown or used link. LinkExpired: expired link.
        WrongCredentials: an existing account and not its password.
        ConflictError: the account has no password (it signs in with API keys only), or it
            became a member meanwhile.
    """
    link, ws = await _link(session, body.token, "invitation", lock=True)
    user = await session.scalar(select(User).where(func.lower(User.email) == link.email))
    existing = user is not None
    if user is None:
        user = User(
            email=link.email, name=body.name.strip() or link.email.split("@")[0],
            password_hash=await hash_password(normalize_password(body.password)),
        )  # fmt: skip
        session.add(user)
        await session.flush()
    else:
        if user.password_hash is None:
            raise ConflictError(
                f"{link.email} signs in with API keys only and has no password to confirm "
                "this invitation with; ask an admin to add the account with POST "
                "/workspace/members"
            )
        if not await verify_password(user.password_hash, normalize_password(body.password)):
            raise WrongCredentials(
                f"password: {link.email} already has an account; enter its current password "
                "to join (it is not changed)"
            )
        if await _is_member(session, link.email, ws.id):
            raise ConflictError(f"{link.email} is already a member of this workspace")
    session.add(Membership(workspace_id=ws.id, user_id=user.id, role=link.role))
    link.used_at = datetime.now(UTC)
    session.add(
        AuditLog(
            workspace_id=ws.id, actor_user_id=user.id, action="invitation.accepted",
            target_type="user", target_id=str(user.id),
            data={"email": link.email, "role": link.role, "invitation_id": str(link.id),
                  "existing_account": existing, "invited_by": str(link.created_by_user_id),
                  "ip": address},
        )
    )  # fmt: skip
    await session.flush()
    return user, ws
