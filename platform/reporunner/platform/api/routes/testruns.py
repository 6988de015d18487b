"""``/workflows/{id}/tests``: run a version's test cases on a worker and read the results."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.platform.auth import Principal, requires
from reporunner.platform.resources import Resources
from reporunner.platform.testruns import (
    TestRunOut,
    TestRunRequest,
    get_test_run,
    list_test_runs,
    start_test_run,
    wait_for_test_run,
)

__all__ = ["TestRunController", "route_handlers"]

MAX_WAIT_SECONDS = 300.0


class TestRunController(Controller):
    __test__ = False

    path = "/workflows/{workflow_id:uuid}/tests"
    tags = ["workflows"]  # noqa: RUF012

    @post("/run", guards=[requires("editor")], summary="Run a version's test cases")
    async def run(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        resources: NamedDependency[Resources],
        data: JSONBody[TestRunRequest | None] = None,
        wait: FromQuery[bool] = False,
        timeout: FromQuery[float] = 60.0,
    ) -> TestRunOut:
        """Queue a run of the cases (all, or ``cases``) of ``version`` (the published one,
        else the latest) on a worker; ``?wait=true`` answers when it ended (at most
        ``timeout`` seconds, then as it stands). The result is stored with the version."""
        out = await start_test_run(
            resources,
            principal.workspace_id,
            workflow_id,
            data or TestRunRequest(),
            user_id=principal.user_id,
        )
        if wait:
            bounded = min(max(timeout, 0.0), MAX_WAIT_SECONDS)
            out = await wait_for_test_run(
                resources, principal.workspace_id, workflow_id, out.id, bounded
            )
        return out

    @get("/runs", summary="List test runs (newest first)")
    async def runs(
        self,
        workflow_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
        limit: FromQuery[int] = 50,
    ) -> list[TestRunOut]:
        return await list_test_runs(transaction, principal.workspace_id, workflow_id, limit)

    @get("/runs/{test_run_id:uuid}", summary="Get a test run with its report")
    async def one(
        self,
        workflow_id: FromPath[uuid.UUID],
        test_run_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        transaction: NamedDependency[AsyncSession],
    ) -> TestRunOut:
        return await get_test_run(transaction, principal.workspace_id, workflow_id, test_run_id)


route_handlers = [TestRunController]
