"""The copilot API: ``POST /workflows/generate``, ``POST /workflows/{id}/edit``,
``POST /workflows/{id}/patch``, refinement chats under ``/workflows/{id}/copilot/threads``
and ``GET /copilot/status`` (is a model configured).

Generation and edits answer only with valid definitions; when the model's last repair round
is still invalid the answer is 422 (``copilot_failed``) with the remaining problems. No model
configured is a 503 that names the setting.
"""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.registry import NodeRegistry
from reporunner.platform import copilot as svc
from reporunner.platform.api.routes.workflows import provide_registry
from reporunner.platform.auth import Principal, requires
from reporunner.platform.resources import Resources
from reporunner.platform.workflows.schemas import VersionOut

__all__ = ["CopilotController", "route_handlers"]


class CopilotController(Controller):
    path = "/workflows"
    tags = ["copilot"]  # noqa: RUF012
    dependencies = {"registry": Provide(provide_registry, sync_to_thread=False)}  # noqa: RUF012

    @post(
        "/generate",
        guards=[requires("editor")],
        summary="Generate a workflow from a description (saved as a draft unless dry_run)",
    )
    async def generate(
        self,
        data: JSONBody[svc.GenerateRequest],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        registry: NamedDependency[NodeRegistry],
    ) -> Response[svc.GenerateOut]:
        """201 with the saved draft; 200 on a dry run; 422 when no valid workflow came out."""
        out = await svc.generate_workflow(
            resources, principal.workspace_id, data, registry, user_id=principal.user_id
        )
        return Response(out, status_code=HTTP_200_OK if data.dry_run else HTTP_201_CREATED)

    @post(
        "/{workflow_id:uuid}/edit",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Change a workflow by an instruction: a JSON Patch and the validated result",
    )
    async def edit(
        self,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[svc.EditRequest],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        registry: NamedDependency[NodeRegistry],
    ) -> svc.EditOut:
        """With ``apply`` the change is saved as a new version (returned in ``version``)."""
        return await svc.edit_workflow(
            resources, principal.workspace_id, workflow_id, data, registry,
            user_id=principal.user_id,
        )  # fmt: skip

    @post(
        "/{workflow_id:uuid}/patch",
        guards=[requires("editor")],
        summary="Apply a JSON Patch to the latest version as a new version",
    )
    async def patch(
        self,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[svc.PatchRequest],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        registry: NamedDependency[NodeRegistry],
    ) -> Response[VersionOut]:
        """201 with the new version (200 when the patch changes nothing); 409 when
        ``base_version`` is not the latest; 422 when it does not apply or validate."""
        version = await svc.apply_workflow_patch(
            resources, principal.workspace_id, workflow_id, data, registry,
            user_id=principal.user_id,
        )  # fmt: skip
        return Response(version, status_code=HTTP_201_CREATED if version.created else HTTP_200_OK)

    @post(
        "/{workflow_id:uuid}/copilot/threads",
        guards=[requires("editor")],
        summary="Open a copilot chat that refines this workflow over several turns",
    )
    async def open_thread(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        data: JSONBody[svc.ThreadCreate | None] = None,
    ) -> svc.ThreadOut:
        return await svc.create_thread(
            transaction, principal.workspace_id, workflow_id, data or svc.ThreadCreate()
        )

    @post(
        "/{workflow_id:uuid}/copilot/threads/{thread_id:uuid}/messages",
        guards=[requires("editor")],
        status_code=HTTP_200_OK,
        summary="Send an instruction: the thread's proposal so far as one JSON Patch",
    )
    async def turn(
        self,
        workflow_id: FromPath[uuid.UUID],
        thread_id: FromPath[uuid.UUID],
        data: JSONBody[svc.TurnRequest],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        registry: NamedDependency[NodeRegistry],
    ) -> svc.TurnOut:
        """Each turn builds on the thread's last proposal; ``apply`` saves it as a version."""
        return await svc.post_turn(
            resources, principal.workspace_id, workflow_id, thread_id, data, registry,
            user_id=principal.user_id,
        )  # fmt: skip

    @get(
        "/{workflow_id:uuid}/copilot/threads",
        summary="The workflow's copilot chats, the most recently active first",
    )
    async def threads(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> list[svc.ThreadOut]:
        return await svc.list_threads(transaction, principal.workspace_id, workflow_id)

    @get(
        "/{workflow_id:uuid}/copilot/threads/{thread_id:uuid}/messages",
        summary="The instructions and proposals of a copilot chat",
    )
    async def thread_messages(
        self,
        workflow_id: FromPath[uuid.UUID],
        thread_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> list[svc.ThreadMessageOut]:
        return await svc.list_thread_messages(
            transaction, principal.workspace_id, workflow_id, thread_id
        )


@get("/copilot/status", tags=["copilot"], summary="Whether a model is configured for the copilot")
async def copilot_status(resources: NamedDependency[Resources]) -> svc.StatusOut:
    """``configured: false`` with ``detail`` naming the setting to set (the web app shows it
    instead of the prompt box); no model is called."""
    return svc.copilot_status(resources.settings)


route_handlers = [CopilotController, copilot_status]
