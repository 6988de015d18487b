"""Credentials of one run: the decrypted credentials its nodes bind, by credential id."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.engine import CompiledWorkflow
from reporunner.platform.resources import Resources
from reporunner.platform.vault import resolve_credentials

__all__ = ["resolve_for_run"]


async def resolve_for_run(
    session: AsyncSession,
    resources: Resources,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    compiled: CompiledWorkflow,
) -> dict[str, BaseModel]:
    """Decrypt every credential the workflow binds, within the run's workspace (``run_id``
    names the execution or test run in the vault's use records).

    The engine looks credentials up by id (a node's binding names type and id), so each
    distinct ``(type, id)`` binding is resolved once and keyed by its id.

    Raises:
        CredentialError: a bound id does not exist in the workspace or has another type; the
            execution fails with that message instead of failing later inside the node.
    """
    pairs = {
        (type_name, credential_id)
        for cn in compiled.nodes.values()
        for type_name, credential_id in cn.spec.credentials.items()
    }
    resolved: dict[str, BaseModel] = {}
    for type_name, credential_id in sorted(pairs):
        models = await resolve_credentials(
            session,
            workspace_id,
            {type_name: credential_id},
            resources.keyring,
            execution_id=str(run_id),
        )
        resolved[credential_id] = models[type_name]
    return resolved
