"""Runs of a workflow version's test cases: ``workflow_test_runs``.

* one row per ``POST /workflows/{id}/tests/run``: the version tested, the case names asked
  for, the status (queued, running, passed, failed, error), the report (each case with its
  assertions) and who asked; publishing a workflow whose settings say
  ``require_passing_tests`` looks for a ``passed`` row of the version.

Revision ID: 0015
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_test_runs",
        sa.Column("workflow_id", sa.UUID(), nullable=False),
        sa.Column("version_id", sa.UUID(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cases", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"], ["workflows.id"],
            name=op.f("fk_workflow_test_runs_workflow_id_workflows"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["workflow_versions.id"],
            name=op.f("fk_workflow_test_runs_version_id_workflow_versions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_test_runs")),
    )  # fmt: skip
    op.create_index(
        "ix_workflow_test_runs_workflow", "workflow_test_runs", ["workflow_id", "created_at"]
    )
    op.create_index(
        op.f("ix_workflow_test_runs_workspace_id"), "workflow_test_runs", ["workspace_id"]
    )


def downgrade() -> None:
    op.drop_table("workflow_test_runs")
