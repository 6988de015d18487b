"""The queue a unit of work belongs to: ``executions.queue``, ``chat_turns.queue``,
``documents.queue``.

Every worker runs reapers over the whole database (a lost worker's executions, chat turns and
documents go back to the queue). Two deployments or worker pools with different
``REPORUNNER_QUEUE_NAME`` on one database must not take each other's work: a reaper re-queues
only rows of its own queue (the queue their API enqueued them on, or their worker claimed them
from); rows from before this column (NULL) stay everyone's, as they were.

``ix_chat_turns_ended``: retention deletes ended chat turns by their end time
(``REPORUNNER_EXECUTION_RETENTION_DAYS``) without scanning the table.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("executions", "chat_turns", "documents")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("queue", sa.String(200), nullable=True))
    op.create_index(
        "ix_chat_turns_ended",
        "chat_turns",
        ["finished_at"],
        postgresql_where=sa.text("status IN ('succeeded', 'failed')"),
    )


def downgrade() -> None:
    op.drop_index("ix_chat_turns_ended", table_name="chat_turns")
    for table in TABLES:
        op.drop_column(table, "queue")
