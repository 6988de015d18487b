"""Who is calling: the principal an API key or a browser session resolves to, and role checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

__all__ = ["ROLES", "Principal", "Role", "requires", "role_allows"]

Role = Literal["viewer", "editor", "admin", "owner"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin", "owner")
"""Ordered by power: viewer reads; editor changes workflows/knowledge/runs; admin manages
members and credentials; owner everything."""


def role_allows(role: str, needed: Role) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller; every service call is scoped to ``workspace_id``."""

    workspace_id: uuid.UUID
    workspace_slug: str
    user_id: uuid.UUID
    role: Role
    api_key_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    """Set when a browser session (cookie) authenticated the request, not an API key."""
    second_factor_missing: bool = False
    """A password session of a user without TOTP on an instance that requires it: the
    middleware lets it reach only the routes that set the second factor up."""

    def can(self, needed: Role) -> bool:
        return role_allows(self.role, needed)


def requires(needed: Role) -> Any:
    """A Litestar guard refusing callers whose role is below ``needed`` (403)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = connection.scope.get("user")
        if not isinstance(principal, Principal):
            raise NotAuthorizedException("send an API key as 'Authorization: Bearer <key>'")
        if not principal.can(needed):
            raise PermissionDeniedException(
                f"this needs the '{needed}' role; you have '{principal.role}'"
            )

    guard.__name__ = f"requires_{needed}"
    return guard
