"""Knowledge: per-base term document frequencies for BM25 keyword search.

BM25 needs each query term's document frequency in the knowledge base. Counting it at query time
(GIN bitmap + heap visits per term) costs tens of milliseconds per common term at 100k chunks,
and matching every chunk that holds any query term makes the candidate set most of the base.
With this table the frequencies are an index lookup, and the search can start from the chunks
that hold the query's rarer terms. The store keeps it in step with ``chunks`` in the same
transaction (see ``reporunner.knowledge._documents``).

Revision ID: 0002_knowledge_terms
Revises: 0001_core
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_knowledge_terms"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "knowledge_terms",
        sa.Column("knowledge_base_id", sa.UUID(), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["knowledge_base_id"],
            ["knowledge_bases.id"],
            name=op.f("fk_knowledge_terms_knowledge_base_id_knowledge_bases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("knowledge_base_id", "term", name=op.f("pk_knowledge_terms")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_terms")
