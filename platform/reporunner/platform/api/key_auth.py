"""The Litestar middleware that asks every request for an API key or a browser session.

Routes marked ``opt={"public": True}`` are left alone. ``Authorization: Bearer`` wins when both
are sent; without it the ``rr_session`` cookie is resolved by
:func:`reporunner.platform.auth.authenticate_session` and an unsafe method must carry the
session's CSRF token (:func:`reporunner.platform.auth.check_csrf`). A key is resolved by
:func:`reporunner.platform.auth.authenticate_key`; every failed lookup counts in the caller's
``authfail:<ip>`` bucket (``REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE``, see
:mod:`reporunner.platform.api.clients`), and unknown keys are remembered a minute in-process so
repeating one costs no SQL (a revoked or expired key keeps saying so). Either principal then
passes through :func:`reporunner.platform.auth.switch.select_workspace` when the request sends
``X-Workspace`` (a session switches to another of its user's workspaces; a key may only name
its own). A browser session without the header may carry the web app's workspace switcher's
choice in the ``rr_workspace`` cookie instead (so links, downloads and EventSource streams act
in the chosen workspace too); a cookie naming no workspace of the user is ignored (the session's
own workspace answers) rather than breaking every request, unlike the header's 404.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from reporunner.platform.api.clients import NegativeKeyCache, authfail_bucket, client_address
from reporunner.platform.api.limits import hit
from reporunner.platform.auth import (
    KEY_HINT,
    SESSION_COOKIE,
    Principal,
    UnknownKey,
    authenticate_key,
    authenticate_session,
    check_csrf,
    hash_key,
)
from reporunner.platform.auth.requests import trusted_proxies_of
from reporunner.platform.auth.switch import (
    WORKSPACE_COOKIE,
    WORKSPACE_HEADER,
    WorkspaceNotYours,
    select_workspace,
)
from reporunner.platform.resources import Resources
from reporunner.platform.signin.errors import SecondFactorEnrolmentRequired

__all__ = ["UNKNOWN_KEYS", "ApiKeyAuthMiddleware"]

UNKNOWN_KEYS = NegativeKeyCache()
"""Keys that failed lookup in this process in the last minute (by hash)."""


ENROLMENT_PATHS = ("/auth/me", "/auth/logout", "/auth/totp")


def _enrolment_path(path: str) -> bool:
    """The routes a session without its required second factor may reach."""
    return any(path == p or path.startswith(p + "/") for p in ENROLMENT_PATHS)


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        resources: Resources = connection.app.state.resources
        header = connection.headers.get("authorization", "")
        if not header:
            cookie = connection.cookies.get(SESSION_COOKIE)
            if not cookie:
                raise NotAuthorizedException(f"missing API key: {KEY_HINT}")
            try:
                principal, csrf = await authenticate_session(resources, resources.settings, cookie)
            except NotAuthorizedException:
                await self._failed(connection, resources)
                raise
            check_csrf(connection, csrf)
            if principal.second_factor_missing and not _enrolment_path(connection.scope["path"]):
                raise SecondFactorEnrolmentRequired(
                    "this instance requires two-factor authentication: set it up on your "
                    "account page (POST /auth/totp/enrol) before anything else"
                )
            principal = await self._switch(connection, resources, principal, cookie=True)
            return AuthenticationResult(user=principal, auth=principal.session_id)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(f"malformed Authorization header: {KEY_HINT}")
        digest = hash_key(token.strip())
        try:
            if UNKNOWN_KEYS.known_bad(digest):  # a repeated unknown key costs no lookup
                raise UnknownKey(f"unknown API key: {KEY_HINT}")
            principal = await authenticate_key(resources, token.strip())
        except NotAuthorizedException as err:
            if isinstance(err, UnknownKey):  # revoked/expired keep saying so
                UNKNOWN_KEYS.add(digest)
            await self._failed(connection, resources)
            raise
        principal = await self._switch(connection, resources, principal)
        return AuthenticationResult(user=principal, auth=principal.api_key_id)

    @staticmethod
    async def _switch(
        connection: ASGIConnection[Any, Any, Any, Any],
        resources: Resources,
        principal: Principal,
        *,
        cookie: bool = False,
    ) -> Principal:
        """The principal in the workspace ``X-Workspace`` names (one path for keys and sessions);
        for a session without the header, the one its ``rr_workspace`` cookie names, if any."""
        wanted = connection.headers.get(WORKSPACE_HEADER)
        if wanted is not None:
            return await select_workspace(resources, principal, wanted)
        chosen = connection.cookies.get(WORKSPACE_COOKIE) if cookie else None
        if not chosen:
            return principal
        try:
            return await select_workspace(resources, principal, chosen)
        except WorkspaceNotYours:  # left from a removed membership: the session's own
            return principal

    @staticmethod
    async def _failed(connection: ASGIConnection[Any, Any, Any, Any], resources: Resources) -> None:
        """Count a failed key or session lookup in the client's ``authfail`` bucket."""
        address = client_address(connection.scope, trusted_proxies_of(resources.settings))
        limit = resources.settings.anonymous_rate_limit_per_minute
        await hit(resources.redis, authfail_bucket(address), limit)
