"""Documents get a heartbeat and an attempt count, so that the worker's document reaper can
re-queue an ingestion whose worker died (and fail it after a few tries).

* ``documents.heartbeat_at``: refreshed by the job ingesting the document (and by a re-embed
  of its base) while it runs; the reaper treats a ``parsing``/``embedding`` document whose
  heartbeat and ``updated_at`` are both older than ``reap_after_seconds`` as orphaned.
* ``documents.ingest_attempts``: how many times the reaper re-queued the document since its
  last finished ingestion.
* ``documents.ingested_hash``: the content hash the last finished (or given up) ingestion was
  for, so that a late duplicate job (arq retrying the job of a dead worker) does nothing.
* ``ix_documents_in_progress``: partial index on the unsettled documents the reaper scans.

Revision ID: 0004_document_heartbeat
Revises: 0003_chat_credentials_mcp
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_document_heartbeat"
down_revision: str | None = "0003_chat_credentials_mcp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IN_PROGRESS = "status IN ('queued', 'parsing', 'embedding')"


def upgrade() -> None:
    op.add_column("documents", sa.Column("heartbeat_at", sa.DateTime(timezone=True)))
    op.add_column(
        "documents",
        sa.Column("ingest_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("documents", sa.Column("ingested_hash", sa.String(length=64)))
    op.create_index(
        "ix_documents_in_progress",
        "documents",
        ["status"],
        postgresql_where=sa.text(_IN_PROGRESS),
    )


def downgrade() -> None:
    op.drop_index("ix_documents_in_progress", table_name="documents")
    op.drop_column("documents", "ingested_hash")
    op.drop_column("documents", "ingest_attempts")
    op.drop_column("documents", "heartbeat_at")
