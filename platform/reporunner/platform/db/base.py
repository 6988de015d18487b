"""Declarative base, naming convention and column helpers shared by every model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from reporunner.knowledge.tables import NAMING_CONVENTION
from reporunner.knowledge.tables import metadata as schema_metadata

__all__ = ["NAMING_CONVENTION", "Base", "TenantMixin", "TimestampMixin", "UUIDPrimaryKey"]


class Base(DeclarativeBase):
    """Base of all ORM models; JSON columns are JSONB.

    Its MetaData is the schema's one :data:`reporunner.knowledge.tables.metadata`: the knowledge
    and memory tables are defined there (and in ``reporunner.agents.memory.tables``) as Core
    tables, the platform's own models add theirs, and Alembic sees them all.
    """

    metadata = schema_metadata
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB}  # noqa: RUF012


class UUIDPrimaryKey:
    """``id uuid primary key default gen_random_uuid()``."""

    id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


class TenantMixin:
    """Every row a tenant owns carries ``workspace_id``; every query filters by it."""

    workspace_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True, nullable=False)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
