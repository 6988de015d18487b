"""``/hooks/{workspace_slug}/{path}``: public, authenticated per trigger (none, token, HMAC)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, route
from litestar.di import NamedDependency
from litestar.params import FromPath

from reporunner.nodes.errors import ConfigurationError
from reporunner.platform.api.errors import problem
from reporunner.platform.api.limits import hit, webhook_bucket
from reporunner.platform.resources import Resources
from reporunner.platform.webhooks import Delivery, handle_delivery
from reporunner.platform.webhooks.answer_headers import safe_answer_headers

__all__ = ["route_handlers", "webhook"]


log = logging.getLogger("reporunner.webhooks")


@route(
    "/hooks/{workspace_slug:str}/{path:path}",
    http_method=["GET", "POST", "PUT", "PATCH", "DELETE"],
    opt={"public": True},
    tags=["webhooks"],
    summary="Deliver a webhook to the published workflow listening on this path",
    status_code=202,
)
async def webhook(
    workspace_slug: FromPath[str],
    path: FromPath[str],
    request: Request[Any, Any, Any],
    resources: NamedDependency[Resources],
) -> Response[Any]:
    """Authenticated by the trigger itself (no API key): a header token or an HMAC signature
    with a timestamp, as the workflow's webhook trigger says."""
    settings = resources.settings
    decision = await hit(
        resources.redis,
        webhook_bucket(workspace_slug, path),
        settings.webhook_rate_limit_per_minute,
    )
    if not decision.allowed:
        return problem(
            429, "rate_limited",
            f"this webhook received more than {decision.limit} requests this minute; retry "
            f"after {decision.retry_after}s",
            request=request, headers={"Retry-After": str(decision.retry_after)},
        )  # fmt: skip
    delivery = Delivery(
        workspace_slug=workspace_slug,
        path=path,
        method=request.method,
        headers=dict(request.headers),
        query={k: list(v) for k, v in request.query_params.dict().items()},
        body=await request.body(),
        content_type=request.headers.get("content-type", ""),
    )
    try:
        answer = await handle_delivery(
            resources, delivery, respond_timeout=settings.webhook_response_timeout_seconds
        )
    except ConfigurationError as err:  # the workspace's to fix; the caller is anonymous
        log.warning("webhook %s/%s is misconfigured: %s", workspace_slug, path, err.detail)
        return problem(
            503, "webhook_unavailable",
            "this webhook is not available; its workspace must fix the workflow",
            request=request,
        )  # fmt: skip
    if answer.raw:
        safe = safe_answer_headers(answer.headers)  # never headers that act for our origin
        headers = {k: v for k, v in safe.items() if k.lower() != "content-type"}
        media_type = next(
            (v for k, v in safe.items() if k.lower() == "content-type"),
            "application/octet-stream",
        )
        return Response(
            answer.body, status_code=answer.status, headers=headers, media_type=media_type
        )
    return Response(answer.body, status_code=answer.status, headers=answer.headers or None)


route_handlers = [webhook]
