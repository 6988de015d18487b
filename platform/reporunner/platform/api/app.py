"""The Litestar application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

import reporunner.platform
from reporunner.platform.api.errors import exception_handlers
from reporunner.platform.api.health import healthz, readyz
from reporunner.platform.resources import Resources, open_resources
from reporunner.platform.settings import Settings

__all__ = ["create_app"]


def create_app(
    settings: Settings,
    *,
    resources: Resources | None = None,
    extra_route_handlers: Sequence[Any] = (),
) -> Litestar:
    """Build the API.

    Args:
        settings: Resolved settings (``database_url``/``redis_url`` set).
        resources: Already-open resources to use (tests); opened in the lifespan otherwise and
            closed at shutdown.
        extra_route_handlers: Additional controllers (used by later parts and tests).
    """
    holder: dict[str, Resources] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = resources is None
        holder["r"] = resources if resources is not None else await open_resources(settings)
        try:
            yield
        finally:
            if own:
                await holder["r"].close()

    def provide_resources() -> Resources:
        return holder["r"]

    return Litestar(
        route_handlers=[healthz, readyz, *extra_route_handlers],
        dependencies={"resources": Provide(provide_resources, sync_to_thread=False)},
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="reporunner",
            version=reporunner.platform.__version__,
            description="Self-hostable AI-agent workflow platform.",
            path="/docs",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
    )
