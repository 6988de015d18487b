"""Credential vault service: create, list, update, delete, resolve for node runs, rotate.

Plaintext exists only in memory: it is validated by the credential type's model, serialised,
sealed with AES-GCM and stored; node runs get decrypted models; the API returns which fields are
set and nothing else.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.credentials import CredentialModel, get_credential_type
from reporunner.nodes.errors import CredentialError, NotFoundError, Problem, ValidationFailed
from reporunner.platform.auth import Principal
from reporunner.platform.db.models import AuditLog, Credential
from reporunner.platform.vault.crypto import Keyring, Sealed
from reporunner.platform.vault.schemas import CredentialCreate, CredentialOut, CredentialUpdate

__all__ = [
    "check_bindings",
    "create_credential",
    "delete_credential",
    "get_credential",
    "list_credentials",
    "resolve_credentials",
    "rotate_all",
    "update_credential",
]


def _aad(workspace_id: uuid.UUID, credential_id: uuid.UUID) -> str:
    return f"{workspace_id}:{credential_id}"


def _reveal(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        raw = value.get_secret_value()
        return raw.decode() if isinstance(raw, bytes) else raw
    if isinstance(value, BaseModel):
        return {k: _reveal(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    return value


def _validated(type_name: str, data: Mapping[str, Any]) -> CredentialModel:
    model_cls = get_credential_type(type_name)
    try:
        return model_cls.model_validate(dict(data))
    except ValidationError as err:
        problems = [
            Problem("/data/" + "/".join(str(p) for p in e["loc"]), e["type"], e["msg"])
            for e in err.errors(include_input=False)
        ]
        detail = "; ".join(f"{p.pointer}: {p.message}" for p in problems)
        raise ValidationFailed(
            f"credential data invalid for '{type_name}': {detail}", problems
        ) from None


def _fields_set(model: CredentialModel) -> list[str]:
    return sorted(k for k, v in _reveal(model).items() if v not in (None, "", [], {}))


def _out(row: Credential) -> CredentialOut:
    return CredentialOut(
        id=row.id,
        name=row.name,
        type=row.type,
        fields_set=list(row.fields_set),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _audit(principal: Principal, action: str, row: Credential) -> AuditLog:
    return AuditLog(
        workspace_id=principal.workspace_id,
        actor_user_id=principal.user_id,
        actor_api_key_id=principal.api_key_id,
        action=action,
        target_type="credential",
        target_id=str(row.id),
        data={"name": row.name, "type": row.type},
    )


def _seal_into(row: Credential, model: CredentialModel, keyring: Keyring) -> None:
    sealed = keyring.seal(json.dumps(_reveal(model)).encode(), _aad(row.workspace_id, row.id))
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    row.fields_set = _fields_set(model)


async def _get_row(
    session: AsyncSession, workspace_id: uuid.UUID, cred_id: uuid.UUID
) -> Credential:
    row = (
        await session.execute(
            select(Credential).where(
                Credential.id == cred_id, Credential.workspace_id == workspace_id
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"credential {cred_id} not found in this workspace")
    return row


async def create_credential(
    session: AsyncSession, principal: Principal, body: CredentialCreate, keyring: Keyring
) -> CredentialOut:
    model = _validated(body.type, body.data)
    row = Credential(
        id=uuid.uuid4(), workspace_id=principal.workspace_id, name=body.name, type=body.type,
        created_by=principal.user_id,
    )  # fmt: skip
    _seal_into(row, model, keyring)
    session.add(row)
    await session.flush()
    session.add(_audit(principal, "credential.created", row))
    await session.flush()
    await session.refresh(row)
    return _out(row)


async def list_credentials(session: AsyncSession, principal: Principal) -> list[CredentialOut]:
    rows = (
        await session.execute(
            select(Credential)
            .where(Credential.workspace_id == principal.workspace_id)
            .order_by(Credential.name)
        )
    ).scalars()
    return [_out(r) for r in rows]


async def get_credential(
    session: AsyncSession, principal: Principal, cred_id: uuid.UUID
) -> CredentialOut:
    return _out(await _get_row(session, principal.workspace_id, cred_id))


async def update_credential(
    session: AsyncSession,
    principal: Principal,
    cred_id: uuid.UUID,
    body: CredentialUpdate,
    keyring: Keyring,
) -> CredentialOut:
    row = await _get_row(session, principal.workspace_id, cred_id)
    if body.name is not None:
        row.name = body.name
    if body.data is not None:
        data = dict(body.data)
        if body.keep_unset:
            plain = keyring.open(
                Sealed(row.key_id, row.nonce, row.ciphertext), _aad(row.workspace_id, row.id)
            )
            data = {**json.loads(plain), **data}
        _seal_into(row, _validated(row.type, data), keyring)
    session.add(_audit(principal, "credential.updated", row))
    await session.flush()
    return _out(row)


async def delete_credential(
    session: AsyncSession, principal: Principal, cred_id: uuid.UUID
) -> None:
    row = await _get_row(session, principal.workspace_id, cred_id)
    session.add(_audit(principal, "credential.deleted", row))
    await session.delete(row)
    await session.flush()


async def check_bindings(
    session: AsyncSession, workspace_id: uuid.UUID, bindings: Mapping[str, str], pointer: str
) -> None:
    """Check that every ``{type name: credential id}`` binding names a credential of that type
    in ``workspace_id`` (nothing is decrypted).

    Raises:
        ValidationFailed: every bad binding, each with ``{pointer}/{type name}``.
    """
    problems: list[Problem] = []
    for type_name, raw_id in bindings.items():
        where = f"{pointer}/{type_name}"
        try:
            get_credential_type(type_name)
        except CredentialError as err:
            problems.append(Problem(where, "unknown_credential_type", err.detail))
            continue
        try:
            cred_id = uuid.UUID(str(raw_id))
        except ValueError:
            problems.append(Problem(where, "invalid_id", f"'{raw_id}' is not a credential id"))
            continue
        row = await session.scalar(
            select(Credential).where(
                Credential.id == cred_id, Credential.workspace_id == workspace_id
            )
        )
        if row is None:
            problems.append(
                Problem(
                    where, "unknown_credential", f"credential {cred_id} is not in this workspace"
                )
            )
        elif row.type != type_name:
            problems.append(
                Problem(where, "wrong_credential_type", f"credential {cred_id} is a '{row.type}'")
            )
    if problems:
        raise ValidationFailed(
            'bind credentials of this workspace by type: {"api_key": "<credential id>"}',
            problems,
        )


async def resolve_credentials(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    bindings: Mapping[str, str],
    keyring: Keyring,
    *,
    execution_id: str | None = None,
) -> dict[str, CredentialModel]:
    """Decrypt the credentials a node binds (``{type name: credential id}``) for one run.

    Raises:
        CredentialError: an id that does not exist in ``workspace_id`` (another workspace's
            id included), or of another type than the binding names.
    """
    resolved: dict[str, CredentialModel] = {}
    for type_name, raw_id in bindings.items():
        try:
            cred_id = uuid.UUID(str(raw_id))
        except ValueError:
            raise CredentialError(f"credentials.{type_name}: '{raw_id}' is not an id") from None
        try:
            row = await _get_row(session, workspace_id, cred_id)
        except NotFoundError:
            raise CredentialError(
                f"credentials.{type_name}: credential {cred_id} does not exist in this workspace"
            ) from None
        if row.type != type_name:
            raise CredentialError(
                f"credentials.{type_name}: credential {cred_id} is a '{row.type}', not a "
                f"'{type_name}'"
            )
        plain = keyring.open(
            Sealed(row.key_id, row.nonce, row.ciphertext), _aad(workspace_id, row.id)
        )
        resolved[type_name] = get_credential_type(row.type).model_validate(json.loads(plain))
        row.last_used_at = datetime.now(UTC)
        session.add(
            AuditLog(
                workspace_id=workspace_id, action="credential.used", target_type="credential",
                target_id=str(row.id), data={"execution_id": execution_id},
            )
        )  # fmt: skip
    await session.flush()
    return resolved


async def rotate_all(session: AsyncSession, keyring: Keyring) -> int:
    """Re-encrypt every credential not sealed with the current key; returns how many."""
    rows = (
        await session.execute(
            select(Credential).where(Credential.key_id != keyring.current.key_id).with_for_update()
        )
    ).scalars()
    count = 0
    for row in rows:
        aad = _aad(row.workspace_id, row.id)
        plain = keyring.open(Sealed(row.key_id, row.nonce, row.ciphertext), aad)
        sealed = keyring.seal(plain, aad)
        await session.execute(
            update(Credential)
            .where(Credential.id == row.id)
            .values(key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext)
        )
        count += 1
    return count
