"""Job modules: each module here exports ``JOBS`` (a list of arq coroutine functions).

The worker registers every module's jobs (sorted by module name); job names are the function
names, so enqueue with ``arq.enqueue_job("<function name>", ...)``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from reporunner.nodes.registry import import_submodules

__all__ = ["JobFunction", "discover_jobs"]

JobFunction = Callable[..., Coroutine[Any, Any, Any]]


def discover_jobs() -> list[JobFunction]:
    jobs: list[JobFunction] = []
    for module in import_submodules(__name__):
        jobs.extend(getattr(module, "JOBS", []))
    return jobs
