"""``/mcp``: reporunner's builder tools for outside agents over MCP (streamable HTTP).

Authenticated by the API-key middleware like every route (no key: 401); the key's principal
scopes every tool to its workspace and role.
"""

from __future__ import annotations

from litestar.exceptions import NotAuthorizedException
from litestar.handlers import asgi
from litestar.types import Receive, Scope, Send

from reporunner.platform.api.routes.workflows import provide_registry
from reporunner.platform.auth import Principal
from reporunner.platform.mcp import McpCaller, handle_mcp_request
from reporunner.platform.resources import Resources

__all__ = ["route_handlers"]


@asgi("/mcp", copy_scope=True)  # a plain route: a mount would also take /mcp-servers/...
async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Hand the request to the MCP transport with the authenticated caller."""
    principal = scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthorizedException("send an API key as 'Authorization: Bearer <key>'")
    app = scope["litestar_app"]
    resources: Resources = app.state.resources
    caller = McpCaller(principal, resources, provide_registry(app.state))
    await handle_mcp_request(caller, scope, receive, send)


route_handlers = [mcp_endpoint]
