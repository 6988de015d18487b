"""Browser sign-in: sessions (cookie ``rr_session``) and one-time set-up/invitation tokens.

Only SHA-256 hashes of session and one-time tokens are stored: a leaked database does not let
anyone in. The CSRF token is not a credential on its own (it only works together with the
session cookie), so it is stored as given out.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TenantMixin, TimestampMixin, UUIDPrimaryKey

__all__ = ["BrowserSession", "OneTimeToken"]


class BrowserSession(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "browser_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """Hard end of the session (its start plus ``session_max_hours``)."""
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    """Last request (to a minute); idle longer than ``session_ttl_hours`` ends the session."""
    ip: Mapped[str] = mapped_column(String(64), server_default=text("''"))
    user_agent: Mapped[str] = mapped_column(String(300), server_default=text("''"))
    method: Mapped[str] = mapped_column(String(16), server_default=text("'password'"))
    """How the browser signed in: ``password`` (set-up and invitation links set one) or
    ``oidc``; an instance that requires a second factor holds back password sessions of users
    without one."""


class OneTimeToken(UUIDPrimaryKey, TenantMixin, TimestampMixin, Base):
    __tablename__ = "one_time_tokens"
    __table_args__ = (Index("ix_one_time_tokens_workspace_kind", "workspace_id", "kind"),)

    kind: Mapped[str] = mapped_column(String(16))  # setup | invitation
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
