"""Chat threads and their messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey


class ChatThread(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "chat_threads"

    title: Mapped[str] = mapped_column(String(300), default="")
    agent_id: Mapped[str | None] = mapped_column(String(200))
    agent_config: Mapped[dict[str, Any] | None]
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("workflows.id", ondelete="SET NULL")
    )
    end_user_id: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    credentials: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'::jsonb")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class ChatMessage(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_thread", "thread_id", "created_at"),)

    thread_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("chat_threads.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | tool | system
    content: Mapped[str] = mapped_column(Text, default="")
    tool_calls: Mapped[list[Any] | None]
    citations: Mapped[list[Any] | None]
    execution_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))


CHAT_TURN_ACTIVE = "status IN ('queued', 'running')"
"""A turn that still holds its thread (at most one per thread: ``uq_chat_turns_one_active``)."""


class ChatTurn(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    """One answer being written on a worker: the API enqueues it, a worker claims and runs it.

    ``status``: ``queued`` → ``running`` → ``succeeded`` | ``failed``. The partial unique index
    on ``thread_id`` over the active statuses is the thread's turn lock across every API and
    worker process; the worker refreshes ``heartbeat_at`` while it runs the turn, and the
    reaper fails (or re-queues) a turn whose heartbeat stopped.
    """

    __tablename__ = "chat_turns"
    __table_args__ = (
        Index(
            "uq_chat_turns_one_active",
            "thread_id",
            unique=True,
            postgresql_where=text(CHAT_TURN_ACTIVE),
        ),
        Index("ix_chat_turns_active", "status", postgresql_where=text(CHAT_TURN_ACTIVE)),
        Index(
            "ix_chat_turns_ended",
            "finished_at",
            postgresql_where=text("status IN ('succeeded', 'failed')"),
        ),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("chat_threads.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("chat_messages.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    execution_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    queue: Mapped[str | None] = mapped_column(String(200))
    """The worker queue it is enqueued on: only that queue's reapers re-queue it (NULL: any)."""
    error: Mapped[dict[str, Any] | None]
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
