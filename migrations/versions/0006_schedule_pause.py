"""Schedules can be paused by a member: ``schedules.paused``.

* ``schedules.paused``: true while a member has paused the schedule (``PATCH /schedules/{id}``
  with ``{"paused": true}``); the scheduler skips it, and a resume starts from the next tick
  after the resume (ticks that fell in the pause never fire). Publishing keeps it paused.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "schedules",
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("schedules", "paused")
