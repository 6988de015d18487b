"""Chat turns run on workers.

* ``chat_turns``: one row per answer being written: the thread, the user message it answers,
  ``status`` (``queued`` → ``running`` → ``succeeded`` | ``failed``), the worker running it and
  its heartbeat, how often it was picked up, the execution of a workflow chat, the error.
* ``uq_chat_turns_one_active``: at most one queued or running turn per thread (the thread's
  turn lock across every API and worker process).
* ``ix_chat_turns_active``: partial index on the unsettled turns the reaper scans.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table(
        "chat_turns",
        sa.Column("thread_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("execution_id", sa.UUID(), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["chat_messages.id"],
            name=op.f("fk_chat_turns_message_id_chat_messages"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["chat_threads.id"],
            name=op.f("fk_chat_turns_thread_id_chat_threads"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_turns")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_chat_turns_workspace_id"), "chat_turns", ["workspace_id"], unique=False
    )
    op.create_index(
        "uq_chat_turns_one_active", "chat_turns", ["thread_id"], unique=True,
        postgresql_where=sa.text(_ACTIVE),
    )  # fmt: skip
    op.create_index(
        "ix_chat_turns_active", "chat_turns", ["status"], postgresql_where=sa.text(_ACTIVE)
    )


def downgrade() -> None:
    op.drop_table("chat_turns")
