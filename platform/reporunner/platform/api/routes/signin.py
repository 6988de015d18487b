"""``/auth/*`` (browser sign-in) and ``/workspace/invitations``.

Set-up, sign-in, sign-out and the link look-ups are public; each sign-in answers ``Me`` and sets
the ``rr_session`` cookie. Bodies are small: anything over 64 KiB is refused with 413 before it
is parsed (no argon2 over megabytes).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform import signin
from reporunner.platform.auth import (
    PUBLIC_OPT,
    SESSION_COOKIE,
    Principal,
    Role,
    check_csrf,
    clear_cookie,
    end_session,
    requires,
    session_cookie,
    start_session,
)
from reporunner.platform.auth.requests import base_url, client_ip
from reporunner.platform.auth.throttle import SignInThrottle
from reporunner.platform.auth.tokens import hash_token
from reporunner.platform.db.models import (
    AuditLog,
    BrowserSession,
    Membership,
    OidcProvider,
    Workspace,
)
from reporunner.platform.resources import Resources
from reporunner.platform.settings import Settings
from reporunner.platform.signin import (
    InvitationAccept,
    InvitationCreate,
    InvitationCreated,
    InvitationInfo,
    InvitationOut,
    LoginBody,
    Me,
    PasswordChange,
    SessionOut,
    SetupBody,
    SetupInfo,
)
from reporunner.platform.sso.errors import PasswordSignInDisabled

__all__ = [
    "AuthController",
    "InvitationController",
    "route_handlers",
    "signed_in_cookie",
    "sso_is_on",
]

AUTH_BODY_LIMIT = 64 * 1024
_PUBLIC = {PUBLIC_OPT: True}


async def signed_in_cookie(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    method: str = "password",
) -> Cookie:
    """Start a session for a member; its ``rr_session`` cookie.

    A session this browser still held ends (a sign-in never keeps an old token alive).
    """
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await end_session(session, previous)
    token, _row = await start_session(
        session, request, settings, user_id=user_id, workspace_id=workspace_id, method=method
    )
    return session_cookie(token, request, settings)


async def _signed_in(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    settings: Settings,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
) -> Response[Me]:
    """Start a password session for a member and answer ``Me`` with the cookie."""
    cookie = await signed_in_cookie(request, session, settings, user_id, workspace_id)
    row = await session.scalar(
        select(BrowserSession).where(BrowserSession.token_hash == hash_token(cookie.value or ""))
    )
    assert row is not None
    principal = await _principal_of(session, row)
    if settings.totp_required:
        missing = not await signin.has_totp(session, user_id)
        principal = dataclasses.replace(principal, second_factor_missing=missing)
    body = await signin.me(session, principal, row.csrf_token)
    return Response(body, cookies=[cookie])


async def _principal_of(session: AsyncSession, row: BrowserSession) -> Principal:
    role, slug = (
        await session.execute(
            select(Membership.role, Workspace.slug)
            .join(Workspace, Workspace.id == Membership.workspace_id)
            .where(Membership.workspace_id == row.workspace_id, Membership.user_id == row.user_id)
        )
    ).one()
    return Principal(row.workspace_id, slug, row.user_id, cast(Role, role), session_id=row.id)


async def sso_is_on(session: AsyncSession) -> bool:
    """Whether at least one SSO provider is enabled (password sign-in may then be off)."""
    found = await session.scalar(select(OidcProvider.id).where(OidcProvider.enabled.is_(True)))
    return found is not None


def json_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """415 unless a body is declared JSON: a cross-site HTML form can send ``text/plain`` that
    parses as JSON (login CSRF), never ``application/json``."""
    content_type = connection.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise HTTPException(
            status_code=415, detail="send the body as JSON (Content-Type: application/json)"
        )


class AuthController(Controller):
    path = "/auth"
    tags = ["sign-in"]  # noqa: RUF012
    request_max_body_size = AUTH_BODY_LIMIT

    @get("/setup/{token:str}", opt=_PUBLIC, summary="Look at an owner set-up link")
    async def setup_info(
        self, token: FromPath[str], transaction: NamedDependency[AsyncSession]
    ) -> SetupInfo:
        """404 when the link is unknown or used, 410 when it has expired."""
        return await signin.describe_setup(transaction, token)

    @post(
        "/setup",
        opt=_PUBLIC,
        guards=[json_only],
        status_code=200,
        summary="Set up the owner and sign in",
    )
    async def setup(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SetupBody],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[Me]:
        user, ws = await signin.complete_setup(transaction, data)
        return await _signed_in(request, transaction, resources.settings, user.id, ws.id)

    @post(
        "/login",
        opt=_PUBLIC,
        guards=[json_only],
        status_code=200,
        summary="Sign in with e-mail and password",
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginBody],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[Me]:
        """401 ``wrong email or password``; 429 after too many failures per account or address.

        An account with two-factor authentication also needs ``totp_code`` (or
        ``recovery_code``): without one, 401 ``second_factor_required``; a wrong or reused one
        is 401 ``wrong_second_factor`` and counts as a failed sign-in."""
        settings = resources.settings
        if not settings.password_signin and await sso_is_on(transaction):
            raise PasswordSignInDisabled(
                "password sign-in is off on this instance: sign in with SSO "
                "(REPORUNNER_PASSWORD_SIGNIN=false)"
            )
        email = signin.normalize_email(data.email)
        throttle = SignInThrottle(resources.redis, settings, email, client_ip(request, settings))
        await throttle.check()
        try:
            user, workspace_id = await signin.check_credentials(transaction, email, data.password)
            second = await signin.check_second_factor(
                transaction, resources.keyring, user.id,
                code=data.totp_code, recovery_code=data.recovery_code,
            )  # fmt: skip
        except (signin.WrongCredentials, signin.WrongSecondFactor):
            await throttle.failed()
            raise
        await throttle.succeeded()
        if second == "recovery_code":
            transaction.add(
                AuditLog(
                    workspace_id=workspace_id, actor_user_id=user.id,
                    action="totp.recovery_code_used", target_type="user",
                    target_id=str(user.id), data={"ip": client_ip(request, settings)},
                )
            )  # fmt: skip
        return await _signed_in(request, transaction, settings, user.id, workspace_id)

    @post("/logout", opt=_PUBLIC, status_code=204, summary="Sign out (ends the session)")
    async def logout(
        self,
        request: Request[Any, Any, Any],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[None]:
        """Deletes the session and clears the cookie; a live session needs its CSRF token."""
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            row = await transaction.scalar(
                select(BrowserSession).where(BrowserSession.token_hash == hash_token(token))
            )
            if row is not None:
                check_csrf(request, row.csrf_token)
                await end_session(transaction, token)
        return Response(None, status_code=204, cookies=[clear_cookie(request, resources.settings)])

    @get("/me", summary="Who is signed in (user, workspace, role, CSRF token)")
    async def me(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> Me:
        csrf = None
        if principal.session_id is not None:  # (second_factor_missing rides on the principal)
            row = await transaction.get(BrowserSession, principal.session_id)
            csrf = row.csrf_token if row is not None else None
        return await signin.me(transaction, principal, csrf)

    @post(
        "/password", status_code=204, guards=[json_only],
        summary="Change your own password (the current one is required)",
    )  # fmt: skip
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordChange],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> None:
        """422 naming ``current_password`` when it is wrong; wrong tries count as failed
        sign-ins of the account (429 when too many). Every other session of the user ends."""
        settings = resources.settings
        email = await signin.email_of(transaction, principal.user_id)
        throttle = SignInThrottle(resources.redis, settings, email, client_ip(request, settings))
        await throttle.check()
        try:
            await signin.change_password(transaction, principal, data)
        except signin.WrongCurrentPassword:
            await throttle.failed()
            raise
        await throttle.succeeded()

    @get("/sessions", summary="Your own browser sessions (in every workspace)")
    async def sessions(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> list[SessionOut]:
        return await signin.list_sessions(transaction, principal, resources.settings)

    @delete(
        "/sessions/{session_id:uuid}", status_code=204,
        summary="Revoke one of your own browser sessions (signs that browser out)",
    )  # fmt: skip
    async def revoke_session(
        self,
        session_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        """404 for a session that is not yours (as for an unknown id)."""
        await signin.revoke_session(transaction, principal, session_id)

    @get("/invitations/{token:str}", opt=_PUBLIC, summary="Look at an invitation link")
    async def invitation_info(
        self, token: FromPath[str], transaction: NamedDependency[AsyncSession]
    ) -> InvitationInfo:
        """404 when the link is unknown or used, 410 when it has expired."""
        return await signin.describe_invitation(transaction, token)

    @post(
        "/invitations/accept", opt=_PUBLIC, status_code=200, guards=[json_only],
        summary="Accept an invitation: choose a password (or confirm yours) and sign in",
    )  # fmt: skip
    async def accept(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[InvitationAccept],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[Me]:
        """A new address sets its password; an existing account confirms with its current
        one (401 when wrong, counted like a failed sign-in of that account: 429 when too
        many). 404 for an unknown or used link, 410 for an expired one."""
        settings = resources.settings
        address = client_ip(request, settings)
        invited = await signin.describe_invitation(transaction, data.token)
        throttle = SignInThrottle(resources.redis, settings, invited.email, address)
        if invited.existing_account:
            await throttle.check()
        try:
            user, ws = await signin.accept_invitation(transaction, data, address=address)
        except signin.WrongCredentials:
            await throttle.failed()
            raise
        if invited.existing_account:
            await throttle.succeeded()
        return await _signed_in(request, transaction, settings, user.id, ws.id)


class InvitationController(Controller):
    path = "/workspace/invitations"
    tags = ["workspace"]  # noqa: RUF012

    @post("/", guards=[requires("admin")], summary="Invite someone by e-mail (admin)")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[InvitationCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> InvitationCreated:
        """A role above the inviter's is 403; an address that is already a member is 409.
        An existing account accepts with its own password (never changed)."""
        settings = resources.settings
        ttl = timedelta(hours=settings.invitation_ttl_hours)
        token, row = await signin.create_invitation(
            transaction, principal, data, ttl, address=client_ip(request, settings)
        )
        return InvitationCreated(
            id=row.id, email=row.email, role=data.role, expires_at=row.expires_at,
            url=f"{base_url(request, resources.settings)}/invite?token={token}",
        )  # fmt: skip

    @get("/", guards=[requires("admin")], summary="Pending invitations (admin)")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[InvitationOut]:
        """Not yet accepted nor revoked, newest first; expired ones are flagged."""
        return await signin.list_invitations(transaction, principal)

    @delete(
        "/{invitation_id:uuid}", guards=[requires("admin")],
        summary="Revoke a pending invitation (its link stops working)",
    )  # fmt: skip
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        invitation_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> None:
        """An invitation for a role above the caller's is 403; another workspace's is 404."""
        await signin.revoke_invitation(
            transaction, principal, invitation_id,
            address=client_ip(request, resources.settings),
        )  # fmt: skip


route_handlers = [AuthController, InvitationController]
