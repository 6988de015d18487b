"""Chat threads bind workspace credentials; MCP servers per workspace; memories get HNSW.

* ``chat_threads.credentials``: ``{credential type: credential id}`` the thread's agent uses
  (its model provider's ``api_key`` first of all), resolved from the vault on every turn.
* ``mcp_servers``: the MCP servers a workspace registered for its agents (URL or an allow-listed
  stdio command name, auth from a credential, the cached ``list_tools`` answer).
* ``ix_memories_hnsw_384``: cosine HNSW on the default embedder's dimension, partial on
  ``vector_dims(embedding) = 384`` so that memories of other dimensions still fit the table.

Revision ID: 0003_chat_credentials_mcp
Revises: 0002_knowledge_terms
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_chat_credentials_mcp"
down_revision: str | None = "0002_knowledge_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chat_threads",
        sa.Column(
            "credentials",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    op.create_table(
        "mcp_servers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("transport", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("command", sa.String(length=100), nullable=True),
        sa.Column("credential_id", sa.UUID(), nullable=True),
        sa.Column("timeout_s", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tools", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tools_refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_mcp_servers_credential_id_credentials"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_servers")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_mcp_servers_workspace_id_name")),
    )
    op.create_index(
        op.f("ix_mcp_servers_workspace_id"), "mcp_servers", ["workspace_id"], unique=False
    )
    op.execute(
        "CREATE INDEX ix_memories_hnsw_384 ON memories USING hnsw "
        "((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_memories_hnsw_384")
    op.drop_index(op.f("ix_mcp_servers_workspace_id"), table_name="mcp_servers")
    op.drop_table("mcp_servers")
    op.drop_column("chat_threads", "credentials")
