"""API bodies of ``/workspace``, ``/workspace/members``, ``/api-keys`` and ``/audit``.

Keys go out once (``ApiKeyCreated.key``) and never again: listings carry the prefix only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "AuditEntryOut",
    "AuditPage",
    "MemberAdd",
    "MemberAdded",
    "MemberOut",
    "MemberUpdate",
    "WorkspaceCreate",
    "WorkspaceCreated",
    "WorkspaceDelete",
    "WorkspaceOut",
    "WorkspaceUpdate",
]

RoleName = Literal["viewer", "editor", "admin", "owner"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceOut(BaseModel):
    id: uuid.UUID = Field(description="Workspace id.")
    slug: str = Field(description="URL name; webhooks live under /hooks/<slug>/.")
    name: str = Field(description="Display name.")
    created_at: datetime = Field(description="When the workspace was created.")
    role: RoleName = Field(description="The caller's role in it.")
    member_count: int = Field(description="How many members it has.")


class MemberOut(BaseModel):
    user_id: uuid.UUID = Field(description="The member's user id (used in member routes).")
    email: str = Field(description="The member's e-mail address.")
    name: str = Field(description="The member's display name.")
    role: RoleName = Field(description="The member's role in this workspace.")
    joined_at: datetime = Field(description="When the member was added.")


class MemberAdd(_In):
    email: str = Field(
        min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$",
        description="E-mail address of the person to add (a user is created if new).",
    )  # fmt: skip
    name: str = Field(default="", max_length=200, description="Display name of a new user.")
    role: RoleName = Field(
        default="viewer",
        description="Role in this workspace; only an owner may add another owner.",
    )
    issue_key: bool = Field(
        default=True,
        description="Create a first API key for the member and return it once (a member added "
        "here has no password; invite people who sign in from a browser with POST "
        "/workspace/invitations).",
    )


class MemberAdded(BaseModel):
    member: MemberOut = Field(description="The new membership.")
    key: str | None = Field(
        description="The member's first API key, shown this once (null if issue_key was false)."
    )


class MemberUpdate(_In):
    role: RoleName = Field(
        description="New role; only an owner may make or unmake an owner, and the last owner "
        "cannot be demoted."
    )


class ApiKeyCreate(_In):
    name: str = Field(min_length=1, max_length=200, description="What the key is for.")
    expires_at: datetime | None = Field(
        default=None,
        description="When the key stops working (ISO 8601 with time zone); null: never.",
    )


class ApiKeyOut(BaseModel):
    id: uuid.UUID = Field(description="Key id (used to revoke it).")
    name: str = Field(description="What the key is for.")
    prefix: str = Field(description="First characters of the key, to recognise it.")
    user_id: uuid.UUID = Field(description="The member the key acts as.")
    created_at: datetime = Field(description="When the key was created.")
    expires_at: datetime | None = Field(description="When the key stops working (null: never).")
    last_used_at: datetime | None = Field(description="Last request made with it (to a minute).")
    revoked_at: datetime | None = Field(description="When it was revoked (null: active).")


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key, shown this once: store it now.")


class AuditEntryOut(BaseModel):
    id: uuid.UUID = Field(description="Entry id.")
    created_at: datetime = Field(description="When it happened.")
    action: str = Field(description="What happened, e.g. 'member.added', 'api_key.revoked'.")
    actor_user_id: uuid.UUID | None = Field(description="Who did it (null: the system).")
    actor_api_key_id: uuid.UUID | None = Field(description="With which API key.")
    target_type: str = Field(description="Kind of thing it happened to.")
    target_id: str | None = Field(description="Id of that thing.")
    data: dict[str, Any] = Field(description="Details (never secrets).")


class AuditPage(BaseModel):
    items: list[AuditEntryOut] = Field(description="Entries, newest first.")
    next_cursor: str | None = Field(
        description="Pass as 'cursor' for the next page; null on the last page."
    )


SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"


class WorkspaceCreate(_In):
    slug: str = Field(
        min_length=1, max_length=64, pattern=SLUG_PATTERN,
        description="URL name (lower-case letters, digits and inner dashes), unique on the "
        "instance; webhooks live under /hooks/<slug>/.",
    )  # fmt: skip
    name: str = Field(default="", max_length=200, description="Display name (default: the slug).")
    issue_key: bool = Field(
        default=True,
        description="Return a first API key of the caller in the new workspace, shown once "
        "(API keys act only in their own workspace).",
    )


class WorkspaceCreated(BaseModel):
    workspace: WorkspaceOut = Field(description="The new workspace; the caller is its owner.")
    key: str | None = Field(
        description="The caller's first API key there, shown this once (null if issue_key "
        "was false)."
    )


class WorkspaceUpdate(_In):
    name: str = Field(min_length=1, max_length=200, description="New display name.")


class WorkspaceDelete(_In):
    confirm: str = Field(
        max_length=64,
        description="The workspace's slug, typed again: deleting removes everything in it.",
    )
