"""``/evaluations``: datasets, runs over an agent or a workflow on workers, cancel, compare."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.nodes.registry import NodeRegistry
from reporunner.platform import evaluations as svc
from reporunner.platform.api.routes.workflows import provide_registry
from reporunner.platform.auth import Principal, requires
from reporunner.platform.resources import Resources

__all__ = ["EvaluationController", "route_handlers"]

MAX_WAIT_SECONDS = 300.0
MAX_BODY_BYTES = 4 * 1024 * 1024


class EvaluationController(Controller):
    path = "/evaluations"
    tags = ["evaluations"]  # noqa: RUF012
    dependencies = {"registry": Provide(provide_registry, sync_to_thread=False)}  # noqa: RUF012

    @post(
        "/datasets", guards=[requires("editor")], request_max_body_size=MAX_BODY_BYTES,
        summary="Create an evaluation dataset",
    )  # fmt: skip
    async def create_dataset(
        self,
        data: JSONBody[svc.DatasetIn],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.DatasetOut:
        """Cases (an input, the expected answer, scorers) and default scorers; scorers that
        cannot work (a bad regex or schema, nothing to compare with) answer 422."""
        return await svc.create_dataset(
            transaction, principal.workspace_id, data, principal.user_id
        )

    @get("/datasets", summary="List evaluation datasets")
    async def datasets(
        self, principal: NamedDependency[Principal], transaction: NamedDependency[AsyncSession]
    ) -> list[svc.DatasetOut]:
        return await svc.list_datasets(transaction, principal.workspace_id)

    @get("/datasets/{dataset_id:uuid}", summary="Get an evaluation dataset")
    async def dataset(
        self,
        dataset_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.DatasetOut:
        return await svc.get_dataset(transaction, principal.workspace_id, dataset_id)

    @delete(
        "/datasets/{dataset_id:uuid}", guards=[requires("editor")],
        summary="Delete a dataset with its runs",
    )  # fmt: skip
    async def delete_dataset(
        self,
        dataset_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> None:
        await svc.delete_dataset(transaction, principal.workspace_id, dataset_id)

    @post("/runs", guards=[requires("editor")], summary="Run a dataset over an agent or workflow")
    async def start(
        self,
        data: JSONBody[svc.EvalRunIn],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        registry: NamedDependency[NodeRegistry],
        wait: FromQuery[bool] = False,
        timeout: FromQuery[float] = 60.0,
    ) -> svc.EvalRunOut:
        """Queue the run on a worker; ``?wait=true`` answers when it ended (at most
        ``timeout`` seconds, then as it stands). Results are saved as each case ends."""
        out = await svc.start_run(
            resources, principal.workspace_id, data, registry, user_id=principal.user_id
        )
        if wait:
            bounded = min(max(timeout, 0.0), MAX_WAIT_SECONDS)
            out = await svc.wait_for_run(resources, principal.workspace_id, out.id, bounded)
        return out

    @get("/runs", summary="List evaluation runs (newest first)")
    async def runs(
        self,
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        dataset_id: FromQuery[uuid.UUID | None] = None,
    ) -> list[svc.EvalRunOut]:
        return await svc.list_runs(transaction, principal.workspace_id, dataset_id)

    @get("/runs/{eval_run_id:uuid}", summary="Get an evaluation run with its results")
    async def run(
        self,
        eval_run_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.EvalRunOut:
        return await svc.get_run(transaction, principal.workspace_id, eval_run_id)

    @post(
        "/runs/{eval_run_id:uuid}/cancel", guards=[requires("editor")], status_code=HTTP_200_OK,
        summary="Cancel an evaluation run",
    )  # fmt: skip
    async def cancel(
        self,
        eval_run_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.EvalRunOut:
        return await svc.cancel_run(transaction, principal.workspace_id, eval_run_id)

    @get("/runs/{eval_run_id:uuid}/compare/{other_id:uuid}", summary="Compare two evaluation runs")
    async def compare(
        self,
        eval_run_id: FromPath[uuid.UUID],
        other_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> svc.Comparison:
        """Case by case, which scores got better or worse from ``eval_run_id`` to ``other_id``."""
        return await svc.compare_runs(transaction, principal.workspace_id, eval_run_id, other_id)


route_handlers = [EvaluationController]
