"""``/credentials`` and ``/credential-types``: the vault over HTTP (secrets never returned)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.credentials import CREDENTIAL_TYPES
from reporunner.platform import vault
from reporunner.platform.auth import Principal, requires
from reporunner.platform.resources import Resources
from reporunner.platform.vault.schemas import CredentialCreate, CredentialOut, CredentialUpdate


class CredentialController(Controller):
    path = "/credentials"
    tags = ["credentials"]  # noqa: RUF012

    @post("/", guards=[requires("admin")], summary="Create a credential")
    async def create(
        self,
        data: JSONBody[CredentialCreate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> CredentialOut:
        return await vault.create_credential(transaction, principal, data, resources.keyring)

    @get("/", summary="List credentials (names, types and which fields are set)")
    async def list_(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[CredentialOut]:
        return await vault.list_credentials(transaction, principal)

    @get("/{credential_id:uuid}", summary="Get a credential (without its secrets)")
    async def get_one(
        self,
        credential_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> CredentialOut:
        return await vault.get_credential(transaction, principal, credential_id)

    @patch("/{credential_id:uuid}", guards=[requires("admin")], summary="Rename or replace data")
    async def update(
        self,
        credential_id: FromPath[uuid.UUID],
        data: JSONBody[CredentialUpdate],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        resources: NamedDependency[Resources],
    ) -> CredentialOut:
        return await vault.update_credential(
            transaction, principal, credential_id, data, resources.keyring
        )

    @delete("/{credential_id:uuid}", guards=[requires("admin")], summary="Delete a credential")
    async def remove(
        self,
        credential_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await vault.delete_credential(transaction, principal, credential_id)


@get("/credential-types", tags=["credentials"], summary="Credential types and their fields")
async def credential_types() -> list[dict[str, Any]]:
    """JSON Schema of every credential type (secret fields are marked ``writeOnly``)."""
    return [
        {"type": name, "display_name": model.display_name, "schema": model.model_json_schema()}
        for name, model in sorted(CREDENTIAL_TYPES.items())
    ]


route_handlers = [CredentialController, credential_types]
