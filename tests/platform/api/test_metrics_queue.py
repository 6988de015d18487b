"""/metrics reads the queue's cluster figures from Redis (depth, due jobs, the oldest due job's
wait), so every API process reports the same values; deferred jobs are not counted as waiting."""

from __future__ import annotations

import time
import uuid

from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from reporunner.platform.api.app import create_app
from reporunner.platform.api.metrics import queue_figures
from reporunner.platform.resources import open_resources


def _figure(text: str, name: str) -> float:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"{name} ")]
    return float(line.split()[1])


async def test_queue_figures_come_from_redis(settings) -> None:
    queue = f"test:metrics:{uuid.uuid4().hex}"
    scoped = settings.model_copy(
        update={"queue_name": queue, "metrics_token": SecretStr("scrape-me")}
    )
    resources = await open_resources(scoped)
    try:
        now_ms = time.time() * 1000
        # jobs whose start times are a minute ago, 5 s ago, and an hour ahead (deferred)
        await resources.redis.zadd(
            queue, {"a": now_ms - 60_000, "b": now_ms - 5_000, "later": now_ms + 3_600_000}
        )
        depth, due, oldest = await queue_figures(resources)
        async with AsyncTestClient(create_app(scoped)) as client:
            scraped = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        await resources.redis.zrem(queue, "a", "b")
        after = await queue_figures(resources)
        await resources.redis.delete(queue)
        empty = await queue_figures(resources)
    finally:
        await resources.redis.delete(queue)
        await resources.close()
    assert (depth, due) == (3, 2)
    assert 60.0 <= oldest < 600.0  # the minute-old job, read a moment later
    assert scraped.status_code == 200
    assert _figure(scraped.text, "reporunner_queue_depth") == 3
    assert _figure(scraped.text, "reporunner_queue_due") == 2
    assert _figure(scraped.text, "reporunner_queue_oldest_age_seconds") >= 60.0
    assert after == (1, 0, 0.0)  # only the deferred job: nothing waits
    assert empty == (0, 0, 0.0)
