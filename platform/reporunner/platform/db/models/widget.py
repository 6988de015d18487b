"""Embeddable chat widgets: a public id bound to one published chat workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey

__all__ = ["ChatWidget"]


class ChatWidget(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    """One chat widget: ``public_id`` (in the script tag) may only start chat turns of
    ``workflow_id``, from pages on one of ``allowed_origins`` (exact ``scheme://host[:port]``)."""

    __tablename__ = "widgets"

    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    workflow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflows.id", ondelete="CASCADE"), index=True
    )
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    greeting: Mapped[str] = mapped_column(Text, default="")
    colors: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'::jsonb"))
    messages_per_minute: Mapped[int] = mapped_column(Integer, default=10)
    visitors_per_minute: Mapped[int] = mapped_column(Integer, default=10)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
