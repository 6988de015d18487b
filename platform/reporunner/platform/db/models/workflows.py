"""Workflows, their immutable versions, executions, node runs and schedules."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey

EXECUTION_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled")


class Workflow(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "workflows"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    published_version_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("workflow_versions.id", use_alter=True, ondelete="SET NULL"),
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkflowVersion(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    """Immutable: a database trigger refuses UPDATE of a version row."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "number"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflows.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str] = mapped_column(Text, default="")


class Execution(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_workspace_created", "workspace_id", "created_at"),
        Index("ix_executions_status_heartbeat", "status", "heartbeat_at"),
        Index(
            "uq_executions_idempotency",
            "workspace_id",
            "workflow_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    workflow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflows.id", ondelete="CASCADE")
    )
    version_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflow_versions.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    trigger_type: Mapped[str] = mapped_column(String(32), default="manual")
    trigger: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    waiting_payload: Mapped[dict[str, Any] | None]
    resume_payload: Mapped[dict[str, Any] | None]
    parent_execution_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    worker_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    queue: Mapped[str | None] = mapped_column(String(200))
    """The worker queue it is enqueued on: only that queue's reapers re-queue it (NULL: any)."""
    traceparent: Mapped[str | None] = mapped_column(String(64))
    """W3C trace context of the request that started the run (set only while tracing is on):
    the worker's spans join that trace, whichever process runs it, after any re-queue."""


class NodeRun(UUIDPrimaryKey, TenantMixin, Base):
    __tablename__ = "node_runs"
    __table_args__ = (Index("ix_node_runs_execution", "execution_id", "started_at"),)

    execution_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("executions.id", ondelete="CASCADE")
    )
    node_id: Mapped[str] = mapped_column(String(200))
    node_type: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    input: Mapped[dict[str, Any] | None]
    output: Mapped[dict[str, Any] | None]
    output_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[dict[str, Any] | None]
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float | None]
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))


class Schedule(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("workflow_id", "node_id"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflows.id", ondelete="CASCADE")
    )
    node_id: Mapped[str] = mapped_column(String(200))
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    missed_policy: Mapped[str] = mapped_column(String(16), default="skip")  # skip | run_once
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    """Paused by a member: the scheduler skips it (``enabled`` follows publishing)."""
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


TEST_RUN_STATUSES = ("queued", "running", "passed", "failed", "error")


class WorkflowTestRun(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    """One run of a workflow version's test cases, on a worker (``POST .../tests/run``)."""

    __tablename__ = "workflow_test_runs"
    __table_args__ = (Index("ix_workflow_test_runs_workflow", "workflow_id", "created_at"),)

    workflow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflows.id", ondelete="CASCADE")
    )
    version_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflow_versions.id", ondelete="CASCADE")
    )
    version_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    cases: Mapped[list[Any]] = mapped_column(default=list)
    """Names of the cases to run (empty: all of them)."""
    report: Mapped[dict[str, Any] | None]
    error: Mapped[dict[str, Any] | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
