"""MCP servers a workspace registered for its agents (``reporunner.platform.mcp.client``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey

__all__ = ["McpServer"]


class McpServer(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    """One registered MCP server: a URL (``streamable_http`` or ``sse``) or the name of a stdio
    command from the operator's allow-list (never a command line), with the tools it listed."""

    __tablename__ = "mcp_servers"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    transport: Mapped[str] = mapped_column(String(32))  # streamable_http | sse | stdio
    url: Mapped[str | None] = mapped_column(Text)
    command: Mapped[str | None] = mapped_column(String(100))
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("credentials.id", ondelete="SET NULL")
    )
    timeout_s: Mapped[float] = mapped_column(Float, default=30.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    tools: Mapped[list[Any]] = mapped_column(default=list)
    tools_refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
