"""Single sign-on: ``/auth/sso/*`` (public: the sign-in page's buttons, the redirect to the
provider and its callback) and ``/sso/providers`` (instance admins configure providers).

The callback answers problem+json on refusal (400 a wrong or replayed ``state``, 401 a refused
code or ID token, 403 no workspace) and sets no cookie; on success it starts a browser session
(``method = oidc``) and redirects to the page the sign-in started from.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform import sso
from reporunner.platform.api.routes.signin import AUTH_BODY_LIMIT, json_only, signed_in_cookie
from reporunner.platform.auth import PUBLIC_OPT, Principal, requires
from reporunner.platform.auth.requests import base_url, client_ip, is_https
from reporunner.platform.db.models import OidcProvider
from reporunner.platform.network import oidc_transport
from reporunner.platform.resources import Resources
from reporunner.platform.sso import OidcProviderCreate, OidcProviderOut, SsoInfo, SsoProviderPublic
from reporunner.platform.sso.flow import SSO_COOKIE

__all__ = ["SsoProviderController", "SsoSignInController", "route_handlers"]

_PUBLIC = {PUBLIC_OPT: True}


def _safe_next(value: str | None) -> str:
    """A path on this site only (never ``//host`` or a URL): where to land after sign-in."""
    if not value or len(value) > 2000 or value.startswith(("//", "/\\")):
        return "/"
    return value if value.startswith("/") else "/"


def _state_cookie(
    request: Request[Any, Any, Any], resources: Resources, value: str, max_age: int
) -> Cookie:
    return Cookie(
        key=SSO_COOKIE, value=value, max_age=max_age, path="/auth/sso", httponly=True,
        samesite="lax", secure=is_https(request, resources.settings),
    )  # fmt: skip


class SsoSignInController(Controller):
    path = "/auth/sso"
    tags = ["sign-in"]  # noqa: RUF012

    @get("/", opt=_PUBLIC, summary="SSO providers for the sign-in page")
    async def info(
        self, transaction: NamedDependency[AsyncSession], resources: NamedDependency[Resources]
    ) -> SsoInfo:
        rows = await transaction.scalars(
            select(OidcProvider).where(OidcProvider.enabled.is_(True)).order_by(OidcProvider.name)
        )
        providers = [
            SsoProviderPublic(slug=r.slug, name=r.name, start_url=f"/auth/sso/{r.slug}/start")
            for r in rows
        ]
        password = resources.settings.password_signin or not providers
        return SsoInfo(providers=providers, password_signin=password)

    @get("/{slug:str}/start", opt=_PUBLIC, summary="Start signing in with an SSO provider")
    async def start(
        self,
        request: Request[Any, Any, Any],
        slug: FromPath[str],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Redirect:
        """302 to the provider (``next`` = where to land afterwards, a path of this site)."""
        settings = resources.settings
        redirect_uri = base_url(request, settings) + sso.callback_path(slug)
        url, state = await sso.start_sign_in(
            transaction, resources.redis, oidc_transport(settings), slug=slug,
            redirect_uri=redirect_uri,
            next_path=_safe_next(request.query_params.get("next")),
            ttl=settings.sso_state_ttl_seconds,
        )  # fmt: skip
        cookie = _state_cookie(request, resources, state, settings.sso_state_ttl_seconds)
        return Redirect(url, status_code=302, cookies=[cookie])

    @get(
        "/{slug:str}/callback", opt=_PUBLIC, summary="Where the SSO provider sends the browser back"
    )
    async def callback(
        self,
        request: Request[Any, Any, Any],
        slug: FromPath[str],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> Response[Any]:
        """400 wrong/used ``state``; 401 refused code or ID token; 403 no workspace."""
        settings = resources.settings
        params = request.query_params
        error = params.get("error")
        if error:
            described = (params.get("error_description") or "")[:300]
            raise sso.SsoRefused(f"the provider refused the sign-in: {error[:100]} {described}")
        done = await sso.finish_sign_in(
            transaction, resources.redis, oidc_transport(settings), resources.keyring,
            slug=slug, code=params.get("code"), state=params.get("state"),
            cookie_state=request.cookies.get(SSO_COOKIE), ip=client_ip(request, settings),
        )  # fmt: skip
        session_cookie = await signed_in_cookie(
            request, transaction, settings, done.user_id, done.workspace_id, method="oidc"
        )
        gone = _state_cookie(request, resources, "", 0)
        return Redirect(_safe_next(done.next), status_code=303, cookies=[session_cookie, gone])


class SsoProviderController(Controller):
    """Instance-wide: an owner of the first workspace (an instance admin) acting there."""

    path = "/sso/providers"
    tags = ["sign-in"]  # noqa: RUF012
    request_max_body_size = AUTH_BODY_LIMIT

    @get("/", guards=[requires("owner")], summary="SSO providers (instance admins)")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[OidcProviderOut]:
        return await sso.list_providers(transaction, principal)

    @post(
        "/", guards=[requires("owner"), json_only],
        summary="Add an OpenID Connect provider (instance admins)",
    )  # fmt: skip
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[OidcProviderCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> OidcProviderOut:
        """The issuer's discovery document is fetched first: 422 on ``/issuer`` when it cannot
        be used (private host not allowed, unreachable, wrong document); 409 a taken slug."""
        settings = resources.settings
        return await sso.create_provider(
            transaction, principal, resources.keyring, oidc_transport(settings), data,
            client_ip(request, settings),
        )  # fmt: skip

    @delete(
        "/{provider_id:uuid}", guards=[requires("owner")],
        summary="Remove an SSO provider (instance admins)",
    )  # fmt: skip
    async def remove(
        self,
        request: Request[Any, Any, Any],
        provider_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> None:
        address = client_ip(request, resources.settings)
        await sso.delete_provider(transaction, principal, provider_id, address)


route_handlers = [SsoSignInController, SsoProviderController]
