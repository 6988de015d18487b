"""``run_evaluation``: score a dataset's cases against an agent or a workflow."""

from __future__ import annotations

import uuid
from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.evaluations import execute_run
from reporunner.platform.worker.node_services import PROVIDERS

__all__ = ["JOBS", "run_evaluation"]


async def run_evaluation(ctx: dict[str, Any], run_id: str) -> str:
    """Run evaluation ``run_id`` (results saved case by case); its final status."""
    registry = ctx.get("registry") or default_registry()
    return await execute_run(ctx["resources"], uuid.UUID(run_id), registry, PROVIDERS)


JOBS = [run_evaluation]
