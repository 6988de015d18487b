"""Embeddable chat widgets.

* ``widgets``: a widget per row: its ``public_id`` (the script tag's ``data-chat``), the one
  published chat workflow it may start, the exact origins allowed to embed it (CORS), its
  per-visitor message limit and per-address visitor limit, greeting and colours.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "widgets",
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("workflow_id", sa.UUID(), nullable=False),
        sa.Column("allowed_origins", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("greeting", sa.Text(), nullable=False),
        sa.Column(
            "colors", postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"), nullable=False,
        ),
        sa.Column("messages_per_minute", sa.Integer(), nullable=False),
        sa.Column("visitors_per_minute", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflows.id"], name=op.f("fk_widgets_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_widgets")),
        sa.UniqueConstraint("public_id", name=op.f("uq_widgets_public_id")),
    )  # fmt: skip
    op.create_index(op.f("ix_widgets_workflow_id"), "widgets", ["workflow_id"], unique=False)
    op.create_index(op.f("ix_widgets_workspace_id"), "widgets", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_table("widgets")
