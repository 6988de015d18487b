"""OpenID providers, configured by instance admins (the owners of the oldest workspace).

Creating one fetches its discovery document first (through the SSRF guard), so a wrong issuer
or a host the operator did not allow is refused at once, naming ``issuer``. The client secret
is sealed with the vault keyring and never leaves the server again.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import (
    ConflictError,
    NotFoundError,
    Problem,
    ReporunnerError,
    SSRFBlockedError,
    ValidationFailed,
)
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import OidcProvider
from reporunner.platform.identity.audit import audit_entry
from reporunner.platform.identity.workspaces import is_instance_admin
from reporunner.platform.sso.protocol import discover
from reporunner.platform.sso.schemas import OidcProviderCreate, OidcProviderOut, SsoSettings
from reporunner.platform.vault import Keyring, Sealed

__all__ = [
    "NotInstanceAdmin",
    "callback_path",
    "client_secret",
    "create_provider",
    "delete_provider",
    "list_providers",
    "require_instance_admin",
    "rotate_provider_secrets",
]


class NotInstanceAdmin(ReporunnerError):
    """SSO providers are configured by instance admins only."""

    code = "not_instance_admin"
    status = 403


def callback_path(slug: str) -> str:
    return f"/auth/sso/{slug}/callback"


def _aad(provider_id: uuid.UUID) -> str:
    return f"oidc-provider:{provider_id}"


def client_secret(keyring: Keyring, row: OidcProvider) -> str:
    """The provider's client secret, unsealed (in memory only, for the code exchange)."""
    sealed = Sealed(row.key_id, row.nonce, row.ciphertext)
    return keyring.open(sealed, _aad(row.id)).decode()


def _out(row: OidcProvider) -> OidcProviderOut:
    mapping = SsoSettings.model_validate(row.settings)
    return OidcProviderOut(
        id=row.id, slug=row.slug, name=row.name, issuer=row.issuer, client_id=row.client_id,
        scopes=row.scopes, enabled=row.enabled, redirect_path=callback_path(row.slug),
        created_at=row.created_at, **mapping.model_dump(),
    )  # fmt: skip


async def require_instance_admin(session: AsyncSession, principal: Principal) -> None:
    if not await is_instance_admin(session, principal.user_id):
        raise NotInstanceAdmin(
            "SSO providers are configured by instance admins (owners of the first workspace)"
        )


def _issuer_problem(message: str) -> ValidationFailed:
    return ValidationFailed(f"issuer: {message}", [Problem("/issuer", "issuer_unusable", message)])


async def create_provider(
    session: AsyncSession,
    principal: Principal,
    keyring: Keyring,
    transport: httpx.AsyncBaseTransport,
    body: OidcProviderCreate,
    address: str,
) -> OidcProviderOut:
    """Check the issuer's discovery document, then store the provider (secret sealed).

    Raises:
        NotInstanceAdmin: the caller is no instance admin.
        ValidationFailed: the issuer cannot be used (refused by the SSRF guard, unreachable,
            or its discovery document is wrong), 422 on ``/issuer``.
        ConflictError: the slug is taken.
    """
    await require_instance_admin(session, principal)
    try:
        await discover(transport, body.issuer)
    except SSRFBlockedError as err:
        raise _issuer_problem(
            f"{err.detail} (an operator may allow the host with REPORUNNER_OIDC_ALLOW_HOSTS)"
        ) from None
    except ReporunnerError as err:
        raise _issuer_problem(err.detail) from None
    row = OidcProvider(
        id=uuid.uuid4(), slug=body.slug, name=body.name, issuer=body.issuer,
        client_id=body.client_id, scopes=body.scopes, enabled=body.enabled,
        settings=SsoSettings.model_validate(body.model_dump(include=set(SsoSettings.model_fields)))
        .model_dump(),
        created_by=principal.user_id, key_id="", nonce=b"", ciphertext=b"",
    )  # fmt: skip
    sealed = keyring.seal(body.client_secret.get_secret_value().encode(), _aad(row.id))
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as err:
        raise ConflictError(f"slug: an SSO provider '{body.slug}' exists already") from err
    data: dict[str, Any] = {"slug": row.slug, "issuer": row.issuer, "ip": address}
    session.add(audit_entry(principal, "sso.provider_created", "oidc_provider", row.id, data))
    await session.refresh(row)
    return _out(row)


async def list_providers(session: AsyncSession, principal: Principal) -> list[OidcProviderOut]:
    await require_instance_admin(session, principal)
    rows = await session.scalars(select(OidcProvider).order_by(OidcProvider.slug))
    return [_out(r) for r in rows]


async def delete_provider(
    session: AsyncSession, principal: Principal, provider_id: uuid.UUID, address: str
) -> None:
    """Remove a provider; its users keep their accounts (and their other ways in)."""
    await require_instance_admin(session, principal)
    row = await session.get(OidcProvider, provider_id)
    if row is None:
        raise NotFoundError(f"no SSO provider {provider_id}")
    data: dict[str, Any] = {"slug": row.slug, "ip": address}
    session.add(audit_entry(principal, "sso.provider_deleted", "oidc_provider", row.id, data))
    await session.delete(row)
    await session.flush()


async def rotate_provider_secrets(session: AsyncSession, keyring: Keyring) -> int:
    """Re-seal every client secret not sealed with the current key (``reporunner rotate-key``)."""
    rows = (
        await session.scalars(
            select(OidcProvider)
            .where(OidcProvider.key_id != keyring.current.key_id)
            .with_for_update()
        )
    ).all()
    for row in rows:
        sealed = keyring.seal(client_secret(keyring, row).encode(), _aad(row.id))
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    await session.flush()
    return len(rows)
