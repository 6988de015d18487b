"""``GET /metrics``: Prometheus text format, behind a token.

Not public: the figures are cluster-wide (every workspace's executions, queue depth, LLM spend),
so a member key of one workspace must not read them. Prometheus sends
``REPORUNNER_METRICS_TOKEN`` as a bearer token (``authorization`` in its scrape config); an
admin or owner API key works too, for a quick look. The route is marked public for the API-key
middleware only because it accepts that second kind of token; without either it answers 401.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from reporunner.platform.api.metrics import render_metrics
from reporunner.platform.auth import authenticate_key
from reporunner.platform.resources import Resources

__all__ = ["metrics", "route_handlers"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def _authorize(request: Request[Any, Any, Any], resources: Resources) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorizedException(
            "send REPORUNNER_METRICS_TOKEN (or an admin API key) as 'Authorization: Bearer ...'"
        )
    expected = resources.settings.metrics_token
    if expected is not None and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        return
    principal = await authenticate_key(resources, token)
    if not principal.can("admin"):
        raise PermissionDeniedException("metrics need the metrics token or an admin API key")


@get(
    "/metrics",
    opt={"public": True},
    include_in_schema=False,
    summary="Prometheus metrics (metrics token or admin key)",
)
async def metrics(
    request: Request[Any, Any, Any], resources: NamedDependency[Resources]
) -> Response[str]:
    await _authorize(request, resources)
    return Response(await render_metrics(resources), media_type=CONTENT_TYPE)


route_handlers = [metrics]
