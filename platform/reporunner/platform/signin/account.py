"""A signed-in user's own account: change the password, list and revoke browser sessions.

Everything here acts on the caller's own user only (``principal.user_id``); sessions belong to
the user, not to a workspace (a session that switched to another of its user's workspaces is
still listed, and revoked, as the user's): another user's session id is answered 404,
exactly like an unknown one, so ids of other people's sessions cannot be probed. A password
change ends every other session of the user (a stolen cookie stops working the moment the owner
changes the password).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import NotFoundError
from reporunner.platform.auth import Principal
from reporunner.platform.auth.passwords import hash_password, verify_password
from reporunner.platform.db.models import BrowserSession, User
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.settings import Settings
from reporunner.platform.signin.errors import WrongCurrentPassword
from reporunner.platform.signin.schemas import PasswordChange, SessionOut
from reporunner.platform.signin.service import normalize_password

__all__ = ["change_password", "email_of", "list_sessions", "revoke_session"]


async def email_of(session: AsyncSession, user_id: uuid.UUID) -> str:
    """The user's sign-in address (the failed-sign-in limiter's account key)."""
    email = await session.scalar(select(User.email).where(User.id == user_id))
    if email is None:
        raise NotFoundError("your user no longer exists")
    return email.lower()


async def change_password(session: AsyncSession, principal: Principal, body: PasswordChange) -> int:
    """Set a new password after checking the current one; returns how many other sessions
    ended.

    Raises:
        WrongCurrentPassword: the current password is wrong, or the user has no password yet
            (they set one from their set-up or invitation link).
        NotFoundError: the user no longer exists.
    """
    user = await session.get(User, principal.user_id, with_for_update=True)
    if user is None:
        raise NotFoundError("your user no longer exists")
    ok = await verify_password(user.password_hash, normalize_password(body.current_password))
    if not ok:
        raise WrongCurrentPassword()
    user.password_hash = await hash_password(normalize_password(body.new_password))
    others = delete(BrowserSession).where(BrowserSession.user_id == user.id)
    if principal.session_id is not None:
        others = others.where(BrowserSession.id != principal.session_id)
    ended = len((await session.execute(others.returning(BrowserSession.id))).all())
    session.add(
        audit_entry(principal, "user.password_changed", "user", user.id,
                    {"sessions_ended": ended})
    )  # fmt: skip
    await session.flush()
    return ended


async def list_sessions(
    session: AsyncSession, principal: Principal, settings: Settings
) -> list[SessionOut]:
    """The caller's user's live browser sessions (whatever workspace each signed in to or now
    acts in), most recently used first."""
    now = datetime.now(UTC)
    idle_since = now - timedelta(hours=settings.session_ttl_hours)
    rows = await session.scalars(
        select(BrowserSession)
        .where(
            BrowserSession.user_id == principal.user_id,
            BrowserSession.expires_at > now,
            BrowserSession.last_seen_at > idle_since,
        )
        .order_by(BrowserSession.last_seen_at.desc(), BrowserSession.id)
    )
    return [
        SessionOut(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ip=row.ip,
            user_agent=row.user_agent,
            current=row.id == principal.session_id,
        )
        for row in rows
    ]


async def revoke_session(
    session: AsyncSession, principal: Principal, session_id: uuid.UUID
) -> None:
    """End one of the caller's own sessions (404 for anyone else's, as for an unknown id)."""
    gone = await session.scalar(
        delete(BrowserSession)
        .where(
            BrowserSession.id == session_id,
            BrowserSession.user_id == principal.user_id,
        )
        .returning(BrowserSession.id)
    )
    if gone is None:
        raise NotFoundError(f"session_id: you have no session {session_id}")
    session.add(audit_entry(principal, "session.revoked", "browser_session", session_id))
    await session.flush()
