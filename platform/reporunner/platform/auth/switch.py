"""Which workspace a request acts in: the ``X-Workspace`` header, checked against memberships.

An API key is bound to its own workspace; a browser session starts in the workspace it signed
in to and may name another of its user's workspaces (by id or slug) in ``X-Workspace`` on any
request. Both go through :func:`select_workspace`, after the key or session resolved to a
:class:`Principal`: the header must name a workspace the user is a member of, and the role is
the user's role *there*. A workspace the user is not in answers the same 404 whether it exists
or not, so the header cannot probe for other tenants.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import cast

from sqlalchemy import select

from reporunner.nodes.errors import NotFoundError
from reporunner.platform.auth.principal import Principal, Role
from reporunner.platform.auth.source import SessionSource
from reporunner.platform.db.models import Membership, Workspace
from reporunner.platform.db.session import transaction

__all__ = ["WORKSPACE_COOKIE", "WORKSPACE_HEADER", "WorkspaceNotYours", "select_workspace"]

WORKSPACE_HEADER = "x-workspace"
WORKSPACE_COOKIE = "rr_workspace"
"""The web app's workspace switcher's choice (a browser session's default for ``X-Workspace``)."""
MAX_HEADER = 100


class WorkspaceNotYours(NotFoundError):
    """The header names no workspace of this caller (same answer whether it exists or not)."""


def _refuse(principal: Principal) -> WorkspaceNotYours:
    hint = (
        "an API key acts only in its own workspace; create a key in the other workspace"
        if principal.api_key_id is not None
        else "GET /workspaces lists yours"
    )
    return WorkspaceNotYours(f"the X-Workspace header names no workspace of yours; {hint}")


async def select_workspace(source: SessionSource, principal: Principal, wanted: str) -> Principal:
    """The principal acting in the workspace ``wanted`` (an id or a slug).

    Raises:
        WorkspaceNotYours: the user is no member of it, or an API key names another workspace.
    """
    wanted = wanted.strip()
    if not wanted or len(wanted) > MAX_HEADER:
        raise _refuse(principal)
    if wanted in (str(principal.workspace_id), principal.workspace_slug):
        return principal
    if principal.api_key_id is not None:
        raise _refuse(principal)
    try:
        match = Workspace.id == uuid.UUID(wanted)
    except ValueError:
        match = Workspace.slug == wanted
    async with transaction(source.sessions) as session:
        row = (
            await session.execute(
                select(Workspace.id, Workspace.slug, Membership.role)
                .join(Membership, Membership.workspace_id == Workspace.id)
                .where(match, Membership.user_id == principal.user_id)
            )
        ).first()
    if row is None:
        raise _refuse(principal)
    return dataclasses.replace(
        principal, workspace_id=row[0], workspace_slug=row[1], role=cast(Role, row[2])
    )
