"""Agent evaluations: ``eval_datasets`` and ``eval_runs``.

* ``eval_datasets``: named lists of cases (an input, the expected answer, scorers) with default
  scorers, per workspace.
* ``eval_runs``: one run of a dataset against a target (a workflow version or an agent
  configuration) on a worker: its status, a cancel flag, per-case results filled in as cases
  end, and the summary (mean score, passed, tokens, cost).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONB = postgresql.JSONB(astext_type=sa.Text())


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
    ]  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "eval_datasets",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("scorers", JSONB, nullable=False),
        sa.Column("cases", JSONB, nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        *_common(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_datasets")),
    )  # fmt: skip
    op.create_index(op.f("ix_eval_datasets_workspace_id"), "eval_datasets", ["workspace_id"])
    op.create_table(
        "eval_runs",
        sa.Column("dataset_id", sa.UUID(), nullable=False),
        sa.Column("target", JSONB, nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("results", JSONB, nullable=False),
        sa.Column("summary", JSONB, nullable=True),
        sa.Column("error", JSONB, nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_common(),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["eval_datasets.id"],
            name=op.f("fk_eval_runs_dataset_id_eval_datasets"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
    )  # fmt: skip
    op.create_index("ix_eval_runs_dataset", "eval_runs", ["dataset_id", "created_at"])
    op.create_index(op.f("ix_eval_runs_workspace_id"), "eval_runs", ["workspace_id"])


def downgrade() -> None:
    op.drop_table("eval_runs")
    op.drop_table("eval_datasets")
