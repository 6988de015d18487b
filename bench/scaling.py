"""Scaling: webhook executions/s with 1, 2 and 4 worker processes, API and workers split or not.

Two layouts, each driven with the 5-node webhook workflow of ``webhook_e2e.py`` (imported, not
copied) and the shared closed-loop load generator at one concurrency:

* **split**: one ``reporunner serve --no-worker`` (the API, on embedded PostgreSQL and Redis in a
  fresh data directory) and N ``reporunner worker`` processes on the same services, started and
  stopped around each cell (the API and the data stay);
* **together**: ``reporunner serve --workers N`` (the API starts its own N worker processes), a
  fresh server and data directory per N.

The last line is one JSON object: executions/s per layout and N, the ratios to one worker
(``scale``: rps(N) / rps(1)), split over together at each N, where throughput stops growing
(the first N whose next step adds less than 10 %), and the load average before and after.
Absolute figures depend on the machine and on whatever else runs on it; on a 2-core machine
the API, the workers, PostgreSQL, Redis and the load generator share two cores.

Usage::

    python bench/scaling.py [--quick] [--workers 1,2,4] [--concurrency 32] [--duration 15]
        [--layouts split,together]

``--quick`` runs the split layout only with 3 s cells (meant for under a minute on a quiet
machine; 2 min 21 s at load 15).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webhook_e2e as e2e  # the helpers of the end-to-end bench, not a copy

GROWTH = 1.10
"""A step from N to the next N that adds less than 10 % executions/s is where growth stops."""


def start_workers(rr: e2e.Reporunner, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` standalone workers on the services of ``rr`` (its data directory)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | {
        "REPORUNNER_DATA_DIR": rr.tmp.name,
        "REPORUNNER_LOG_LEVEL": "WARNING",
    }
    log = (Path(rr.tmp.name) / "workers.log").open("a")
    return [
        subprocess.Popen(
            [sys.executable, "-m", "reporunner.platform.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        proc.send_signal(signal.SIGTERM)
    for proc in workers:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cell(url: str, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    e2e.check_answer(url)  # the workers are up and the workflow answers
    r = e2e.load(url, concurrency, duration, warmup)
    return {k: r.get(k) for k in ("rps", "p50_ms", "p95_ms", "errors")}


def split(counts: list[int], concurrency: int, duration: float, warmup: float) -> dict[int, Any]:
    rr = e2e.Reporunner(["--no-worker"])
    results: dict[int, Any] = {}
    try:
        rr.wait_ready()
        url = rr.publish()
        for n in counts:
            workers = start_workers(rr, n)
            try:
                results[n] = cell(url, concurrency, duration, warmup)
            finally:
                stop_workers(workers)
            print(json.dumps({"layout": "split", "workers": n, **results[n]}), flush=True)
    finally:
        rr.stop()
    return results


def together(counts: list[int], concurrency: int, duration: float, warmup: float) -> dict[int, Any]:
    results: dict[int, Any] = {}
    for n in counts:
        rr = e2e.Reporunner(["--workers", str(n)])
        try:
            rr.wait_ready()
            results[n] = cell(rr.publish(), concurrency, duration, warmup)
        finally:
            rr.stop()
        print(json.dumps({"layout": "together", "workers": n, **results[n]}), flush=True)
    return results


def stops_growing(rps: dict[int, float]) -> int | None:
    """The first worker count whose next step adds less than 10 % (None: it kept growing)."""
    counts = sorted(rps)
    for here, there in itertools.pairwise(counts):
        if rps[here] and rps[there] / rps[here] < GROWTH:
            return here
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="split only, 3 s cells")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--layouts", default="split,together")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    layouts = ["split"] if args.quick else args.layouts.split(",")
    duration, warmup = (3.0, 1.0) if args.quick else (args.duration, args.warmup)
    report: dict[str, Any] = {
        "workers": counts,
        "concurrency": args.concurrency,
        "duration_s": duration,
        "cpus": os.cpu_count(),
        "load_before": e2e.uptime(),
    }
    runs = {"split": split, "together": together}
    for layout in layouts:
        results = runs[layout](counts, args.concurrency, duration, warmup)
        rps = {n: float(r["rps"] or 0.0) for n, r in results.items()}
        base = rps[counts[0]]
        report[layout] = {
            "rps": rps,
            "p50_ms": {n: r["p50_ms"] for n, r in results.items()},
            "errors": sum(int(r["errors"] or 0) for r in results.values()),
            "scale": {n: round(v / base, 3) if base else None for n, v in rps.items()},
            "stops_growing_at": stops_growing(rps),
        }
    if "split" in report and "together" in report:
        report["split_over_together"] = {
            n: round(report["split"]["rps"][n] / report["together"]["rps"][n], 3)
            if report["together"]["rps"][n]
            else None
            for n in counts
        }
    report["load_after"] = e2e.uptime()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
