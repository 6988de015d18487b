"""The Litestar application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from sqlalchemy.ext.asyncio import AsyncSession

import reporunner.platform
from reporunner.platform.api.docs import VendoredSwaggerUI
from reporunner.platform.api.errors import exception_handlers
from reporunner.platform.api.health import WORKERS_READINESS, healthz, readyz
from reporunner.platform.api.key_auth import ApiKeyAuthMiddleware
from reporunner.platform.api.middleware import EdgeMiddleware, edge_options
from reporunner.platform.api.routes import discover_route_handlers
from reporunner.platform.api.web import web_exception_handlers, web_route_handlers, web_state
from reporunner.platform.auth import PUBLIC_OPT, Principal
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings
from reporunner.platform.telemetry import start_tracing, stop_tracing

__all__ = ["create_app", "provide_principal", "provide_resources", "provide_transaction"]


def provide_resources(state: State) -> Resources:
    resources: Resources = state.resources
    return resources


async def provide_transaction(state: State) -> AsyncGenerator[AsyncSession, None]:
    """The request's database transaction: a route asks for ``transaction: AsyncSession``.

    The session is opened inside ``session.begin()``: it commits after the handler returned and
    its response was built (before the response is sent), and rolls back when the handler
    raises. Nothing is caught here: Litestar throws the handler's exception into this generator
    and then re-raises it itself, so an ``IntegrityError`` (from the handler or from the commit)
    reaches the one error table (``api/errors.py``), which answers 409 problem+json. Converting
    it here would reach Litestar as an ``ExceptionGroup`` instead. A streaming route must not
    hold this session for its stream: the transaction ends before the body is streamed.
    """
    resources: Resources = state.resources
    async with transaction(resources.sessions) as session:
        yield session


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller (the middleware has already refused anonymous requests)."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("send an API key as 'Authorization: Bearer <key>'")
    return user


def create_app(
    settings: Settings,
    *,
    resources: Resources | None = None,
    extra_route_handlers: Sequence[Any] = (),
    workers_readiness: Callable[[], dict[str, object]] | None = None,
) -> Litestar:
    """Build the API.

    Args:
        settings: Resolved settings (``database_url``/``redis_url`` set).
        resources: Already-open resources to use (tests); opened in the lifespan otherwise and
            closed at shutdown.
        extra_route_handlers: Additional controllers (used by later parts and tests).
        workers_readiness: Whether the workers this process started are ready (``serve``),
            reported by ``/readyz`` as its ``workers`` check (see ``api.health``).
    """
    if settings.trust_proxy_headers:
        logging.getLogger("reporunner.api").warning(
            "REPORUNNER_TRUST_PROXY_HEADERS is deprecated: set REPORUNNER_TRUSTED_PROXIES to "
            "your proxies' addresses (or '*'); %s",
            "it is ignored, REPORUNNER_TRUSTED_PROXIES is set"
            if settings.trusted_proxies.strip()
            else "treated as REPORUNNER_TRUSTED_PROXIES='*'",
        )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = resources is None
        app.state.resources = resources if resources is not None else await open_resources(settings)
        traced = start_tracing(settings, "api")
        try:
            yield
        finally:
            if traced:
                await asyncio.to_thread(stop_tracing)  # flushes the last spans
            if own:
                await app.state.resources.close()

    return Litestar(
        route_handlers=[
            healthz,
            readyz,
            *discover_route_handlers(),
            *web_route_handlers(settings),
            *extra_route_handlers,
        ],
        state=State({**web_state(settings), WORKERS_READINESS: workers_readiness}),
        dependencies={
            "resources": Provide(provide_resources, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "transaction": Provide(provide_transaction),
        },
        middleware=[
            EdgeMiddleware,
            DefineMiddleware(
                ApiKeyAuthMiddleware, exclude=[r"^/docs"], exclude_from_auth_key=PUBLIC_OPT
            ),
        ],
        exception_handlers={**exception_handlers, **web_exception_handlers()},
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="reporunner",
            version=reporunner.platform.__version__,
            description="Self-hostable AI-agent workflow platform.",
            path="/docs",
            render_plugins=[VendoredSwaggerUI()],  # vendored, SRI + CSP: api/docs.py
        ),
        debug=False,
        **edge_options(settings),
    )
