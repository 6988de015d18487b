"""Route modules: each module here exports ``route_handlers`` (controllers, routers, handlers).

``create_app`` includes every module's handlers (sorted by module name), so adding a resource
means adding one module — no shared list to edit. Handlers are authenticated by default; mark a
public one with ``opt={"public": True}`` and add it to the route-table test's public list.
"""

from __future__ import annotations

from typing import Any

from reporunner.nodes.registry import import_submodules

__all__ = ["discover_route_handlers"]


def discover_route_handlers() -> list[Any]:
    handlers: list[Any] = []
    for module in import_submodules(__name__):
        handlers.extend(getattr(module, "route_handlers", []))
    return handlers
