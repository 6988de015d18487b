"""Prometheus metrics in the text exposition format, without a client library.

Request metrics are counted in this process; execution, queue, node and LLM figures are read
from Postgres and Redis when scraped, so every API process reports the same cluster-wide values
and workers need no metrics port of their own. The reads are cheap: ended executions, tokens,
cost and node-run durations come from ``metric_counters`` (kept by database triggers in the
transactions that write them), the live statuses from the status index, the queue from three
O(log n) Redis reads; nothing scans ``executions`` or ``node_runs``.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Select, func, select

from reporunner.platform.db.models import Execution, MetricCounter
from reporunner.platform.db.session import transaction
from reporunner.platform.resources import Resources

__all__ = [
    "ACTIVE_STATUSES",
    "HTTP",
    "HttpMetrics",
    "active_query",
    "counters_query",
    "queue_figures",
    "render_metrics",
]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ENDED_STATUSES = ("succeeded", "failed", "cancelled")


def _labels(**labels: str) -> str:
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels.items()
    )
    return "{" + inner + "}" if inner else ""


@dataclass
class HttpMetrics:
    """Requests and latencies of this process, by method, route template and status."""

    requests: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    buckets: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    sums: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(method, route, str(status))] += 1
            counts = self.buckets.setdefault((method, route), [0] * (len(BUCKETS) + 1))
            counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            self.sums[(method, route)] += seconds

    def render(self) -> list[str]:
        lines = [
            "# HELP reporunner_http_requests_total HTTP requests by method, route and status.",
            "# TYPE reporunner_http_requests_total counter",
        ]
        with self.lock:
            for (method, route, status), n in sorted(self.requests.items()):
                labels = _labels(method=method, route=route, status=status)
                lines.append(f"reporunner_http_requests_total{labels} {n}")
            lines += [
                "# HELP reporunner_http_request_duration_seconds HTTP request latency.",
                "# TYPE reporunner_http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self.buckets.items()):
                total = 0
                for bound, n in zip((*BUCKETS, math.inf), counts, strict=True):
                    total += n
                    le = "+Inf" if bound == math.inf else repr(bound)
                    labels = _labels(method=method, route=route, le=le)
                    lines.append(f"reporunner_http_request_duration_seconds_bucket{labels} {total}")
                base = _labels(method=method, route=route)
                lines.append(
                    f"reporunner_http_request_duration_seconds_sum{base} "
                    f"{self.sums[(method, route)]}"
                )
                lines.append(f"reporunner_http_request_duration_seconds_count{base} {total}")
        return lines


HTTP = HttpMetrics()
"""The process-wide request metrics (the edge middleware records into it)."""


async def queue_figures(resources: Resources) -> tuple[int, int, float]:
    """Depth, due jobs and the oldest due job's wait (seconds) of the shared arq queue.

    Read from Redis, so every API process reports the same cluster figures. The queue is a
    sorted set scored by each job's start time (ms): three O(log n) reads, no scan.
    """
    name = resources.settings.queue_name
    now_ms = time.time() * 1000
    async with resources.redis.pipeline(transaction=False) as pipe:
        pipe.zcard(name)
        pipe.zcount(name, "-inf", now_ms)
        pipe.zrange(name, 0, 0, withscores=True)
        depth, due, first = await pipe.execute()
    oldest = 0.0
    if first and float(first[0][1]) <= now_ms:
        oldest = round((now_ms - float(first[0][1])) / 1000, 3)
    return int(depth), int(due), oldest


ACTIVE_STATUSES = ("queued", "running", "waiting")
"""Statuses counted live (few rows, read through ``ix_executions_status_heartbeat``)."""


def active_query() -> Select[str, int]:
    """Executions by active status: an index-only range of the status index, never a scan of
    the ended rows (which are most of the table)."""
    return (
        select(Execution.status, func.count())
        .where(Execution.status.in_(ACTIVE_STATUSES))
        .group_by(Execution.status)
    )


def counters_query() -> Select[str, str, Decimal]:
    """The cluster counters the database triggers keep (``metric_counters``: a few rows per
    counter, summed over their shards)."""
    return select(MetricCounter.name, MetricCounter.label, func.sum(MetricCounter.value)).group_by(
        MetricCounter.name, MetricCounter.label
    )


async def _stored(resources: Resources) -> list[str]:
    async with transaction(resources.autocommit) as session:
        active = dict((await session.execute(active_query())).all())
        counters = (await session.execute(counters_query())).all()
    depth, due, oldest_age = await queue_figures(resources)
    by_name: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for name, label, value in counters:
        by_name[name][label] = value
    lines = [
        "# HELP reporunner_executions Executions queued, running or waiting now.",
        "# TYPE reporunner_executions gauge",
        *(
            f"reporunner_executions{_labels(status=status)} {active.get(status, 0)}"
            for status in ACTIVE_STATUSES
        ),
        "# HELP reporunner_executions_ended_total Executions that ended, by final status.",
        "# TYPE reporunner_executions_ended_total counter",
        *(
            f"reporunner_executions_ended_total{_labels(status=status)} "
            f"{int(by_name['executions_ended'].get(status, 0))}"
            for status in ENDED_STATUSES
        ),
    ]
    tokens = by_name["llm_tokens"]
    lines += [
        "# HELP reporunner_queue_depth Jobs waiting in the execution queue.",
        "# TYPE reporunner_queue_depth gauge",
        f"reporunner_queue_depth {depth}",
        "# HELP reporunner_queue_due Jobs in the queue whose start time has come (not deferred).",
        "# TYPE reporunner_queue_due gauge",
        f"reporunner_queue_due {due}",
        "# HELP reporunner_queue_oldest_age_seconds How long the longest-waiting due job has "
        "waited past its start time (0: none waits).",
        "# TYPE reporunner_queue_oldest_age_seconds gauge",
        f"reporunner_queue_oldest_age_seconds {oldest_age}",
        "# HELP reporunner_llm_tokens_total LLM tokens used by executions.",
        "# TYPE reporunner_llm_tokens_total counter",
        f'reporunner_llm_tokens_total{{direction="in"}} {int(tokens.get("in", 0))}',
        f'reporunner_llm_tokens_total{{direction="out"}} {int(tokens.get("out", 0))}',
        "# HELP reporunner_llm_cost_usd_total LLM cost of executions in US dollars.",
        "# TYPE reporunner_llm_cost_usd_total counter",
        f"reporunner_llm_cost_usd_total {float(by_name['llm_cost_usd'].get('', 0))}",
        "# HELP reporunner_node_run_duration_seconds Node run durations by node type.",
        "# TYPE reporunner_node_run_duration_seconds summary",
    ]
    runs, total_ms = by_name["node_runs"], by_name["node_run_ms"]
    for node_type in sorted(runs):
        labels = _labels(node_type=node_type)
        seconds = float(total_ms.get(node_type, 0)) / 1000
        lines.append(f"reporunner_node_run_duration_seconds_sum{labels} {seconds}")
        lines.append(f"reporunner_node_run_duration_seconds_count{labels} {int(runs[node_type])}")
    return lines


async def render_metrics(resources: Resources) -> str:
    """The full exposition text (two small reads of Postgres and one pipeline to Redis)."""
    return "\n".join([*HTTP.render(), *await _stored(resources)]) + "\n"
