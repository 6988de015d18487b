"""Job modules: each module here exports ``JOBS`` (a list of arq coroutine functions).

The worker registers every module's jobs (sorted by module name); job names are the function
names, so enqueue with ``arq.enqueue_job("<function name>", ...)``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["JobFunction", "discover_jobs"]

JobFunction = Callable[..., Coroutine[Any, Any, Any]]


def discover_jobs() -> list[JobFunction]:
    jobs: list[JobFunction] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        jobs.extend(getattr(module, "JOBS", []))
    return jobs
