"""Single sign-on: OpenID Connect providers an instance admin configured, and the identities
(provider + subject) users signed in with.

Both are instance-wide (a provider serves every workspace; its role mapping names workspaces),
so they carry no ``workspace_id``. The client secret is sealed with the vault's keyring,
bound to its row by the associated data.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from reporunner.platform.db.base import Base, TimestampMixin, UUIDPrimaryKey

__all__ = ["OidcIdentity", "OidcProvider"]


class OidcProvider(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "oidc_providers"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(2000))
    client_id: Mapped[str] = mapped_column(String(500))
    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    scopes: Mapped[str] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Role mapping and the workspace of users created just in time (``SsoSettings``)."""
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class OidcIdentity(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "oidc_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("oidc_providers.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
