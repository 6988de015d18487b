"""The TOTP second factor of password accounts: one sealed secret per user, recovery codes.

Users are instance-wide (one account across workspaces), so these rows carry no
``workspace_id``; they are only ever read by their own ``user_id``. The TOTP secret is sealed
with the vault's keyring (AES-GCM, key id beside it, bound to the user by the associated data);
recovery codes are stored as SHA-256 hashes (80 random bits each: nothing to brute-force).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TimestampMixin, UUIDPrimaryKey

__all__ = ["RecoveryCode", "TotpSecret"]


class TotpSecret(TimestampMixin, Base):
    __tablename__ = "totp_secrets"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Null while the enrolment waits for its confirming code."""
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    """The 30-second time step of the last code accepted: a code is never accepted twice."""


class RecoveryCode(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
