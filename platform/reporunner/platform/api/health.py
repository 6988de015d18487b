"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (it can work).

Under ``serve`` with workers, ``/readyz`` also waits for them: a worker process is ready once it
has imported everything, opened its checkpointer and takes jobs (``worker.pool``); until then,
or while one is restarted, the ``workers`` check fails and a load balancer sends no traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy import text

from reporunner.platform.db.migrate import head
from reporunner.platform.resources import Resources

__all__ = ["WORKERS_READINESS", "healthz", "readyz"]

CHECK_TIMEOUT = 3.0
WORKERS_READINESS = "workers_readiness"
"""App state key of the callable that reports the workers' readiness (None: no check)."""


@get("/healthz", tags=["health"], summary="Liveness", opt={"public": True})
async def healthz() -> dict[str, str]:
    """Answers while the process is alive; checks nothing else."""
    return {"status": "ok"}


async def _postgres(resources: Resources) -> tuple[dict[str, str], str | None]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
    except Exception as err:  # any failure means "not ready"; the reason is reported
        reason = f"cannot reach PostgreSQL: {type(err).__name__}: {str(err).splitlines()[0]}"
        return {"status": "fail", "reason": reason}, None
    return {"status": "ok"}, (row[0] if row else None)


async def _redis(resources: Resources) -> dict[str, str]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await resources.redis.ping()
    except Exception as err:  # any failure means "not ready"; the reason is reported
        return {"status": "fail", "reason": f"cannot reach Redis: {type(err).__name__}: {err}"}
    return {"status": "ok"}


@get("/readyz", tags=["health"], summary="Readiness", opt={"public": True})
async def readyz(resources: NamedDependency[Resources], state: State) -> Response[dict[str, Any]]:
    """PostgreSQL reachable, Redis reachable, schema at the newest migration, and under
    ``serve`` its workers taking jobs — each reported."""
    (pg, revision), rd = await asyncio.gather(_postgres(resources), _redis(resources))
    expected = head()
    if pg["status"] != "ok":
        schema = {"status": "unknown", "reason": "PostgreSQL is unreachable"}
    elif revision != expected:
        schema = {
            "status": "fail",
            "reason": f"schema at {revision or 'no revision'}, code expects {expected}: "
            "run `reporunner migrate`",
        }
    else:
        schema = {"status": "ok", "revision": revision}
    checks: dict[str, dict[str, Any]] = {"postgres": pg, "redis": rd, "schema": schema}
    workers: Callable[[], dict[str, object]] | None = state.get(WORKERS_READINESS)
    if workers is not None:
        checks["workers"] = workers()
    failed = [name for name, check in checks.items() if check["status"] != "ok"]
    if not failed:
        return Response({"status": "ok", "checks": checks}, status_code=200)
    detail = "; ".join(f"{name}: {checks[name]['reason']}" for name in failed)
    return Response(
        {
            "type": "https://reporunner.dev/problems/not_ready",
            "title": "Service unavailable",
            "status": 503,
            "code": "not_ready",
            "detail": detail,
            "failed": failed,
            "checks": checks,
        },
        status_code=503,
        media_type="application/problem+json",
    )
