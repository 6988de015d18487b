"""``run_workflow_tests``: run a stored test run's cases (``POST /workflows/{id}/tests/run``)."""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.testruns import execute_test_run
from reporunner.platform.worker.node_services import PROVIDERS

__all__ = ["JOBS", "run_workflow_tests"]


async def run_workflow_tests(ctx: dict[str, Any], run_id: str) -> str:
    """Run the cases of test run ``run_id`` and store the report; its final status."""
    registry = ctx.get("registry") or default_registry()
    return await execute_test_run(ctx["resources"], uuid.UUID(run_id), registry, PROVIDERS)


JOBS = [run_workflow_tests]
