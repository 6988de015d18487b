"""Worker RSS over many webhook executions: does a worker process grow as it runs?

Starts ``reporunner serve`` (its defaults: embedded PostgreSQL and Redis, worker processes beside
the API) on a fresh data directory, publishes the 5-node webhook workflow of
``bench/webhook_e2e.py``, delivers ``--warmup`` executions (imports, caches and pools fill up),
then ``--runs`` more, ``--concurrency`` at a time, checking every answer. Every ``--every``
executions it reads the resident set size (``VmRSS`` in ``/proc/<pid>/status``) of each worker
process and of the API process.

``ratio``: for the worker that grew most, its mean RSS over the last quarter of the samples
divided by its mean over the first quarter (1.0 = flat; the issue's bar is within ±10 %).
Counts, not times: the machine's load changes how long it takes, not the figure.

Usage::

    python bench/worker_rss.py [--quick] [--runs 20000] [--concurrency 8] [--every 500]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook_e2e import BODY, EXPECTED, Reporunner, check_answer


def rss_kib(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def worker_pids(serve_pid: int) -> list[int]:
    """The ``reporunner worker`` children of ``serve``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("PPid:")), "")
        ours = b"worker" in cmdline and b"reporunner.platform.cli" in cmdline
        if ppid == str(serve_pid) and ours:
            pids.append(int(proc.name))
    return sorted(pids)


async def drive(url: str, runs: int, concurrency: int, on_done: Any) -> int:
    """Deliver ``runs`` webhooks, ``concurrency`` at a time; returns the errors."""
    errors = 0
    left = runs
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def loop() -> None:
            nonlocal left, errors
            while left > 0:
                left -= 1
                try:
                    response = await http.post(url, content=BODY, headers=headers)
                    if response.status_code != 200 or response.json() != EXPECTED:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                on_done()

        await asyncio.gather(*(loop() for _ in range(concurrency)))
    return errors


def quarter_ratio(samples: list[int]) -> float:
    """Mean of the last quarter of ``samples`` / mean of the first quarter."""
    q = max(1, len(samples) // 4)
    first, last = samples[:q], samples[-q:]
    return (sum(last) / len(last)) / (sum(first) / len(first))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,500 runs (under a minute)")
    parser.add_argument("--runs", type=int, default=None, help="measured executions (20,000)")
    parser.add_argument("--warmup", type=int, default=None, help="executions before sampling")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--every", type=int, default=None, help="executions between samples")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra serve argument")
    args = parser.parse_args()
    runs = args.runs or (1500 if args.quick else 20_000)
    warmup = args.warmup if args.warmup is not None else (200 if args.quick else 1000)
    every = args.every or max(1, runs // 40)

    rr = Reporunner(args.serve_arg)
    try:
        rr.wait_ready()
        url = rr.publish()
        check_answer(url)
        asyncio.run(drive(url, warmup, args.concurrency, lambda: None))
        pids = worker_pids(rr.proc.pid)
        if not pids:
            raise SystemExit("no worker process found beside serve (run it with workers)")
        samples: dict[int, list[int]] = {pid: [] for pid in [rr.proc.pid, *pids]}
        done = 0

        def sample() -> None:
            for pid, values in samples.items():
                value = rss_kib(pid)
                if value is not None:
                    values.append(value)
            rss = {str(pid): values[-1] for pid, values in samples.items() if values}
            print(json.dumps({"done": done, "rss_kib": rss}), flush=True)  # progress

        def on_done() -> None:
            nonlocal done
            done += 1
            if done % every == 0:
                sample()

        sample()
        started = time.monotonic()
        errors = asyncio.run(drive(url, runs, args.concurrency, on_done))
        elapsed = time.monotonic() - started
        restarted = sorted(set(worker_pids(rr.proc.pid)) - set(pids))
    finally:
        rr.stop()

    workers = {
        str(pid): {
            "first_kib": values[0],
            "last_kib": values[-1],
            "ratio": round(quarter_ratio(values), 3),
        }
        for pid, values in samples.items()
        if pid != rr.proc.pid and values
    }
    api = samples[rr.proc.pid]
    ratio = max((w["ratio"] for w in workers.values()), key=lambda r: abs(r - 1.0))
    print(
        f"{runs} executions after {warmup} warm-up, c={args.concurrency}, {elapsed:.0f} s, "
        f"{errors} errors; worker RSS last/first quarter: "
        + ", ".join(f"{w['ratio']}" for w in workers.values())
    )
    print(
        json.dumps(
            {
                "runs": runs,
                "warmup": warmup,
                "concurrency": args.concurrency,
                "seconds": round(elapsed, 1),
                "errors": errors,
                "samples": len(api),
                "workers": workers,
                "workers_restarted": [str(p) for p in restarted],
                "api": {
                    "first_kib": api[0],
                    "last_kib": api[-1],
                    "ratio": round(quarter_ratio(api), 3),
                },
                "ratio": ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
