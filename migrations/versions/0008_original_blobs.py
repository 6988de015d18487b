"""Uploaded originals in PostgreSQL (no shared disk between the API and the workers).

* ``original_blobs``: one row per stored original (``documents.storage_path`` is its path),
  with its size and sha256; deleted with its knowledge base.
* ``original_chunks``: its bytes in pieces of 1 MiB, written and read one at a time. The
  column is stored without TOAST compression (``STORAGE EXTERNAL``): most originals (PDF,
  DOCX) are compressed already, and a streamed read of an uncompressed value is cheaper.

Originals stored on a data directory by earlier versions move in with ``reporunner migrate``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "original_blobs",
        sa.Column("knowledge_base_id", sa.UUID(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["knowledge_base_id"], ["knowledge_bases.id"],
            name=op.f("fk_original_blobs_knowledge_base_id_knowledge_bases"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_original_blobs")),
        sa.UniqueConstraint(
            "workspace_id", "path", name=op.f("uq_original_blobs_workspace_id_path")
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_original_blobs_knowledge_base_id"), "original_blobs", ["knowledge_base_id"]
    )
    op.create_index(op.f("ix_original_blobs_workspace_id"), "original_blobs", ["workspace_id"])
    op.create_table(
        "original_chunks",
        sa.Column("blob_id", sa.UUID(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"], ["original_blobs.id"],
            name=op.f("fk_original_chunks_blob_id_original_blobs"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blob_id", "seq", name=op.f("pk_original_chunks")),
    )  # fmt: skip
    op.create_index(op.f("ix_original_chunks_workspace_id"), "original_chunks", ["workspace_id"])
    op.execute("ALTER TABLE original_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("original_chunks")
    op.drop_table("original_blobs")
