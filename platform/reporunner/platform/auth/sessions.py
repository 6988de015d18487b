"""Browser sessions: the ``rr_session`` cookie resolves to the same :class:`Principal` as a key.

The cookie holds a random token; the database holds its hash, the CSRF token, the hard expiry
(``session_max_hours`` after sign-in) and the last request time (idle for longer than
``session_ttl_hours`` ends the session). The member's role is read on every request, so a role
change or a removal takes effect at once.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.auth.principal import Principal, Role
from reporunner.platform.auth.requests import client_ip, is_https
from reporunner.platform.auth.source import SessionSource
from reporunner.platform.auth.tokens import hash_token, new_token
from reporunner.platform.db.models import BrowserSession, Membership, TotpSecret, Workspace
from reporunner.platform.db.session import transaction
from reporunner.platform.settings import Settings

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "authenticate_session",
    "clear_cookie",
    "end_session",
    "session_cookie",
    "start_session",
]

SESSION_COOKIE = "rr_session"
CSRF_HEADER = "x-csrf-token"
LAST_SEEN_GRANULARITY = timedelta(minutes=1)
_SIGN_IN = "sign in again at /login"


async def start_session(
    session: AsyncSession,
    connection: ASGIConnection[Any, Any, Any, Any],
    settings: Settings,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    method: str = "password",
) -> tuple[str, BrowserSession]:
    """A new session row for a member (caller commits); returns the cookie token and the row.

    ``method`` is how the browser signed in (``password`` or ``oidc``).
    """
    token, token_hash = new_token()
    now = datetime.now(UTC)
    # sessions of this user that ended without a sign-out go now (nothing else reads them)
    idle_since = now - timedelta(hours=settings.session_ttl_hours)
    await session.execute(
        delete(BrowserSession).where(
            BrowserSession.user_id == user_id,
            (BrowserSession.expires_at <= now) | (BrowserSession.last_seen_at <= idle_since),
        )
    )
    row = BrowserSession(
        workspace_id=workspace_id,
        user_id=user_id,
        token_hash=token_hash,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + timedelta(hours=settings.session_max_hours),
        last_seen_at=now,
        ip=client_ip(connection, settings),
        user_agent=(connection.headers.get("user-agent") or "")[:300],
        method=method,
    )
    session.add(row)
    await session.flush()
    return token, row


def session_cookie(
    token: str, connection: ASGIConnection[Any, Any, Any, Any], settings: Settings
) -> Cookie:
    """The ``rr_session`` cookie: HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=int(settings.session_max_hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(connection, settings),
    )


def clear_cookie(connection: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> Cookie:
    """A cookie that makes the browser forget ``rr_session``."""
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        max_age=0,
        expires=0,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(connection, settings),
    )


async def end_session(session: AsyncSession, token: str) -> uuid.UUID | None:
    """Delete the session of ``token``; its id, or None when there was none (caller commits)."""
    result = await session.execute(
        delete(BrowserSession)
        .where(BrowserSession.token_hash == hash_token(token))
        .returning(BrowserSession.id)
    )
    return result.scalar_one_or_none()


def _expired(row: BrowserSession, now: datetime, settings: Settings) -> bool:
    idle_end = row.last_seen_at + timedelta(hours=settings.session_ttl_hours)
    return row.expires_at <= now or idle_end <= now


async def authenticate_session(
    source: SessionSource, settings: Settings, token: str
) -> tuple[Principal, str]:
    """Resolve a session token to its principal and CSRF token; 401 when unknown or expired."""
    now = datetime.now(UTC)
    async with transaction(source.sessions) as session:
        row = (
            await session.execute(
                select(BrowserSession, Membership.role, Workspace.slug, TotpSecret.enabled_at)
                .join(
                    Membership,
                    (Membership.user_id == BrowserSession.user_id)
                    & (Membership.workspace_id == BrowserSession.workspace_id),
                )
                .join(Workspace, Workspace.id == BrowserSession.workspace_id)
                .outerjoin(TotpSecret, TotpSecret.user_id == BrowserSession.user_id)
                .where(BrowserSession.token_hash == hash_token(token))
            )
        ).first()
        if row is None:
            raise NotAuthorizedException(f"your session has ended; {_SIGN_IN}")
        browser, role, slug, totp_on = row
        expired = _expired(browser, now, settings)
        if expired:
            await session.execute(delete(BrowserSession).where(BrowserSession.id == browser.id))
        if now - browser.last_seen_at > LAST_SEEN_GRANULARITY:
            await session.execute(
                update(BrowserSession)
                .where(BrowserSession.id == browser.id)
                .values(last_seen_at=now)
            )
    if expired:  # raised after the delete commits
        raise NotAuthorizedException(f"your session has expired; {_SIGN_IN}")
    principal = Principal(
        workspace_id=browser.workspace_id,
        workspace_slug=slug,
        user_id=browser.user_id,
        role=cast(Role, role),
        session_id=browser.id,
        second_factor_missing=(
            settings.totp_required and browser.method == "password" and totp_on is None
        ),
    )
    return principal, browser.csrf_token
