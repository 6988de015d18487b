"""Browser sign-in: passwords on users, browser sessions and one-time tokens.

* ``users.password_hash``: argon2id hash of the password chosen on the set-up or invitation
  page (null: the user has no password and signs in with API keys only).
* ``uq_users_email_lower``: one account per e-mail address whatever its case.
* ``browser_sessions``: one row per signed-in browser; only the SHA-256 hash of the cookie's
  token is stored, with the CSRF token, the hard expiry and the last request time (idle expiry).
* ``one_time_tokens``: the owner's set-up link and invitation links (hash only), with kind,
  workspace, e-mail, role, expiry and the time it was used.

Revision ID: 0005
Revises: 0004_document_heartbeat
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004_document_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
    ]  # fmt: skip


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(length=256), nullable=True))
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "browser_sessions",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ip", sa.String(length=64), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "user_agent", sa.String(length=300), server_default=sa.text("''"), nullable=False
        ),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_browser_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_browser_sessions_token_hash")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_browser_sessions_user_id"), "browser_sessions", ["user_id"], unique=False
    )
    op.create_index(
        op.f("ix_browser_sessions_workspace_id"), "browser_sessions", ["workspace_id"],
        unique=False,
    )  # fmt: skip
    op.create_table(
        "one_time_tokens",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_by_user_id", sa.UUID(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["users.id"],
            name=op.f("fk_one_time_tokens_created_by_user_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_one_time_tokens_token_hash")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_one_time_tokens_workspace_id"), "one_time_tokens", ["workspace_id"],
        unique=False,
    )  # fmt: skip
    op.create_index(
        "ix_one_time_tokens_workspace_kind", "one_time_tokens", ["workspace_id", "kind"],
        unique=False,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("one_time_tokens")
    op.drop_table("browser_sessions")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_column("users", "password_hash")
