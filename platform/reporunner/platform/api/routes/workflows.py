"""``/workflows``: definitions and versions, publish, dry-run validation, and starting runs.

Definitions are sent as the raw body, JSON or YAML (``Content-Type: application/yaml``); an
invalid one is answered 422 with every problem and its JSON pointer.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.errors import Problem, ValidationFailed
from reporunner.nodes.registry import NodeRegistry, default_registry
from reporunner.platform import workflows as svc
from reporunner.platform.auth import Principal, requires
from reporunner.platform.executions import (
    ExecutionOut,
    RunRequest,
    start_execution,
    wait_for_execution,
)
from reporunner.platform.resources import Resources
from reporunner.platform.services.outage import REDIS_DOWN, ServiceUnavailable, require_redis

__all__ = ["WorkflowController", "provide_registry", "route_handlers"]

MAX_WAIT_SECONDS = 300.0


def provide_registry(state: State) -> NodeRegistry:
    """Node types definitions are validated against: ``app.state.node_registry`` if set (tests,
    embedders with their own nodes), else the default registry (built-ins + entry points)."""
    registry = state.get("node_registry")
    return registry if isinstance(registry, NodeRegistry) else default_registry()


async def _definition(request: Request[Any, Any, Any]) -> bytes:
    body = await request.body()
    if not body.strip():
        raise ValidationFailed(
            "send the workflow definition as the request body (JSON or YAML)",
            [Problem("", "empty_body", "the body is empty")],
        )
    return body


class WorkflowController(Controller):
    path = "/workflows"
    tags = ["workflows"]  # noqa: RUF012
    dependencies = {"registry": Provide(provide_registry, sync_to_thread=False)}  # noqa: RUF012

    @post("/", guards=[requires("editor")], summary="Create a workflow from a definition")
    async def create(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        registry: NamedDependency[NodeRegistry],
        publish: FromQuery[bool] = False,
        note: FromQuery[str] = "",
    ) -> svc.WorkflowCreated:
        """Body: the definition (JSON or YAML). ``?publish=true`` publishes version 1."""
        wf, version = await svc.create_workflow(
            transaction,
            principal.workspace_id,
            await _definition(request),
            registry,
            user_id=principal.user_id,
            note=note,
            publish=publish,
        )
        return svc.WorkflowCreated(workflow=wf, version=version)

    @get("/", summary="List workflows")
    async def list_(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        archived: FromQuery[bool] = False,
    ) -> list[svc.WorkflowOut]:
        return await svc.list_workflows(
            transaction, principal.workspace_id, include_archived=archived
        )

    @post("/validate", status_code=HTTP_200_OK, summary="Validate a definition (dry run)")
    async def validate(
        self, request: Request[Any, Any, Any], registry: NamedDependency[NodeRegistry]
    ) -> svc.ValidationOut:
        """Every problem of the body's definition; nothing is saved."""
        body = await _definition(request)
        return await asyncio.to_thread(svc.validate_definition, body, registry)

    @get("/{workflow_id:uuid}", summary="Get a workflow")
    async def get_one(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.WorkflowOut:
        return await svc.get_workflow(transaction, principal.workspace_id, workflow_id)

    @delete("/{workflow_id:uuid}", guards=[requires("editor")], summary="Delete a workflow")
    async def remove(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await svc.delete_workflow(transaction, principal.workspace_id, workflow_id)

    @post(
        "/{workflow_id:uuid}/archive",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Archive a workflow (hidden, not run; history kept)",
    )
    async def archive(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.WorkflowOut:
        return await svc.archive_workflow(transaction, principal.workspace_id, workflow_id)

    @post(
        "/{workflow_id:uuid}/unarchive",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Unarchive a workflow",
    )
    async def unarchive(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.WorkflowOut:
        return await svc.archive_workflow(
            transaction, principal.workspace_id, workflow_id, archived=False
        )

    @post("/{workflow_id:uuid}/versions", guards=[requires("editor")], summary="Save a version")
    async def save_version(
        self,
        request: Request[Any, Any, Any],
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        registry: NamedDependency[NodeRegistry],
        note: FromQuery[str] = "",
    ) -> Response[svc.VersionOut]:
        """201 with the new version; 200 with the latest one when the definition is unchanged."""
        version = await svc.save_version(
            transaction,
            principal.workspace_id,
            workflow_id,
            await _definition(request),
            registry,
            user_id=principal.user_id,
            note=note,
        )
        return Response(version, status_code=HTTP_201_CREATED if version.created else HTTP_200_OK)

    @get("/{workflow_id:uuid}/versions", summary="List versions (newest first)")
    async def versions(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> list[svc.VersionSummary]:
        return await svc.list_versions(transaction, principal.workspace_id, workflow_id)

    @get("/{workflow_id:uuid}/versions/{number:int}", summary="Get a version")
    async def version(
        self,
        workflow_id: FromPath[uuid.UUID],
        number: FromPath[int],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.VersionOut:
        return await svc.get_version(transaction, principal.workspace_id, workflow_id, number)

    @post(
        "/{workflow_id:uuid}/versions/{number:int}/publish",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Publish a version",
    )
    async def publish(
        self,
        workflow_id: FromPath[uuid.UUID],
        number: FromPath[int],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.WorkflowOut:
        return await svc.publish_version(transaction, principal.workspace_id, workflow_id, number)

    @post(
        "/{workflow_id:uuid}/preview", status_code=HTTP_200_OK, request_max_body_size=256 * 1024,
        summary="Preview a node's {{ expressions }} with the data of the latest run",
    )  # fmt: skip
    async def preview(
        self,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[svc.PreviewIn],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        registry: NamedDependency[NodeRegistry],
    ) -> svc.PreviewOut:
        """Each string of ``params`` holding an expression, rendered by the engine's sandbox
        against the context the node had in the workflow's latest run (or ``execution_id``);
        nothing runs or is saved."""
        return await svc.preview_params(
            transaction, principal.workspace_id, workflow_id, data, registry
        )

    @post(
        "/{workflow_id:uuid}/executions",
        guards=[requires("editor")],
        summary="Run a workflow (optionally wait for the end)",
    )
    async def run(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        data: JSONBody[RunRequest | None] = None,
        wait: FromQuery[bool] = False,
        timeout: FromQuery[float] = 30.0,
    ) -> ExecutionOut:
        """Queue a run; ``?wait=true`` answers when it ended or waits for input (at most
        ``timeout`` seconds, then as it stands)."""
        body = data or RunRequest()
        if wait:
            await require_redis(resources.redis, "a run that is waited for")
        out = await start_execution(
            resources,
            principal.workspace_id,
            workflow_id,
            body.input,
            version=body.version,
            idempotency_key=body.idempotency_key,
        )
        if wait:
            bounded = min(max(timeout, 0.0), MAX_WAIT_SECONDS)
            try:
                out = await wait_for_execution(resources, principal.workspace_id, out.id, bounded)
            except REDIS_DOWN as err:
                raise ServiceUnavailable(
                    f"the queue (Redis) went away while execution {out.id} was starting; it "
                    "runs when Redis is back: read GET /executions/{id}",
                    execution_id=str(out.id),
                ) from err
        return out


route_handlers = [WorkflowController]
