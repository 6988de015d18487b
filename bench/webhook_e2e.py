"""Webhook end to end: executions/s and latency of a 5-node webhook workflow, side by side with n8n.

Starts ``reporunner serve`` (its defaults: embedded PostgreSQL and Redis, worker processes beside
the API) on a fresh data directory, publishes the 5-node workflow of the n8n reference
(``trigger.webhook`` answering through ``webhook.respond`` → ``data.set`` → ``logic.if`` →
``data.set`` → ``webhook.respond``), checks one answer, then drives ``POST /hooks/default/bench``
with the shared closed-loop load generator (``../shared/bench/n8n/load.py``) at each concurrency.

``--vs-n8n`` also runs the n8n reference (``install.sh`` once, ``start.sh``/``stop.sh``) on the
same cells, one system after the other, and the last line gives per cell the ratio of
executions/s (reporunner / n8n) and of latencies (reporunner p50 / n8n p50...). Absolute figures
depend on the machine and on what else runs on it; compare only ratios measured in one run.

Usage::

    python bench/webhook_e2e.py [--quick] [--vs-n8n] [--cells 1,8,32] [--duration 20]
        [--serve-arg=--workers=2]

The last line printed is one JSON object. For reporunner each cell also gives ``cpu_ms``: CPU
time (user + system) per completed execution of each part (``api`` = the ``serve`` process,
``workers``, ``postgres``, ``redis``, ``load`` = the load generator), counted from
``/proc`` before and after the cell: a figure the machine's load does not move, unlike
executions/s, so it tells a costlier path (more CPU per execution) from a smaller share of the
cores (other work on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
N8N_DIR = Path(os.environ.get("N8N_REFERENCE_DIR", ROOT.parent / "shared/bench/n8n"))
EXPECTED = {"name": "bench", "value": 15, "score": 30, "branch": "high"}
BODY = json.dumps({"value": 15, "name": "bench"})


def definition() -> dict[str, Any]:
    """The n8n reference workflow, node for node (4 expressions per execution)."""
    field = "{{ item.body.%s }}"
    return {
        "name": "bench-webhook-5node",
        "nodes": [
            {
                "id": "webhook",
                "type": "trigger.webhook",
                "params": {"path": "bench", "method": "POST", "response_mode": "respond_node"},
            },
            {
                "id": "add_score",
                "type": "data.set",
                "params": {
                    "keep_only_set": True,
                    "fields": [
                        {"name": "name", "value": field % "name", "type": "string"},
                        {"name": "value", "value": field % "value", "type": "number"},
                        {"name": "score", "value": "{{ item.body.value * 2 }}", "type": "number"},
                    ],
                },
            },
            {
                "id": "score_gt_10",
                "type": "logic.if",
                "params": {
                    "conditions": [{"value": "{{ item.score }}", "operator": "gt", "compare": 10}]
                },
            },
            {
                "id": "high",
                "type": "data.set",
                "params": {"fields": [{"name": "branch", "value": "high", "type": "string"}]},
            },
            {"id": "answer", "type": "webhook.respond", "params": {"respond_with": "first_item"}},
        ],
        "edges": [
            {"source": "webhook", "target": "add_score"},
            {"source": "add_score", "target": "score_gt_10"},
            {"source": "score_gt_10", "source_port": "true", "target": "high"},
            {"source": "high", "target": "answer"},
        ],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(url: str, token: str, body: Any) -> Any:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


class Reporunner:
    """``reporunner serve`` on a fresh data directory, as a child process."""

    def __init__(self, serve_args: list[str]) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="rr-webhook-e2e-")
        self.port = free_port()
        self.token = f"rr_bench_{secrets.token_urlsafe(24)}"
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | {
            "REPORUNNER_DATA_DIR": self.tmp.name,
            "REPORUNNER_PORT": str(self.port),
            "REPORUNNER_HOST": "127.0.0.1",
            "REPORUNNER_BOOTSTRAP_TOKEN": self.token,
            "REPORUNNER_LOG_LEVEL": "WARNING",
        }
        self.log = Path(self.tmp.name) / "serve.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reporunner.platform.cli", "serve", *serve_args],
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"reporunner serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"reporunner serve not ready:\n{self.log.read_text()[-3000:]}")

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of the serve process, its workers, PostgreSQL and Redis."""
        out = {"api": 0.0, "workers": 0.0, "postgres": 0.0, "redis": 0.0}
        procs: list[tuple[str, psutil.Process]] = []
        try:
            serve = psutil.Process(self.proc.pid)
            procs.append(("api", serve))
            procs += [("workers", child) for child in serve.children()]
        except psutil.Error:
            pass
        for proc in psutil.process_iter(["name", "cmdline"]):
            try:
                if proc.info["name"] == "postgres" and self.tmp.name in " ".join(
                    proc.info["cmdline"] or []
                ):
                    procs.append(("postgres", proc))
                    procs += [("postgres", child) for child in proc.children(recursive=True)]
                elif proc.info["name"] == "redis-server" and proc.cwd().startswith(self.tmp.name):
                    procs.append(("redis", proc))
            except psutil.Error:
                continue
        for group, proc in procs:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            out[group] += times.user + times.system
        return out

    def publish(self) -> str:
        request(f"{self.base}/workflows?publish=true", self.token, definition())
        return f"{self.base}/hooks/default/bench"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.tmp.cleanup()


def load(url: str, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            str(N8N_DIR / "load.py"),
            url,
            "-c",
            str(concurrency),
            "-d",
            str(duration),
            "--warmup",
            str(warmup),
            "--body",
            BODY,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def check_answer(url: str, timeout: float = 300) -> None:
    """One delivery answers as expected; waits while the system gets ready (504: reporunner's
    worker processes are still starting, 404: n8n has not activated its webhook yet), which
    takes a while on a loaded machine."""
    req = urllib.request.Request(
        url, data=BODY.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                answer = json.loads(resp.read())
            break
        except urllib.error.HTTPError as err:
            if err.code not in (404, 504) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)
    if answer != EXPECTED:
        raise SystemExit(f"{url} answered {answer!r}, expected {EXPECTED!r}")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cells(
    name: str,
    url: str,
    cells: list[int],
    duration: float,
    warmup: float,
    system: Reporunner | None = None,
) -> dict[int, dict[str, Any]]:
    check_answer(url)
    results = {}
    for c in cells:
        before = system.cpu_seconds() if system else {}
        load_before = _children_cpu()
        r = load(url, c, duration, warmup)
        results[c] = {k: r.get(k) for k in ("rps", "p50_ms", "p95_ms", "p99_ms", "errors")}
        if system is not None and r.get("completed"):
            # the warm-up's executions cost CPU too: divide by all the cell ran
            runs = r["completed"] * (1 + warmup / duration)
            after = system.cpu_seconds()
            cpu = {k: (after[k] - before[k]) * 1000 / runs for k in after}
            cpu["load"] = (_children_cpu() - load_before) * 1000 / runs
            cpu["total"] = sum(cpu.values())
            results[c]["cpu_ms"] = {k: round(v, 2) for k, v in cpu.items()}
        print(json.dumps({"system": name, "concurrency": c, **results[c]}), flush=True)
    return results


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def n8n(script: str) -> None:
    subprocess.run(["bash", str(N8N_DIR / script)], check=True, stdout=sys.stderr)


def n8n_installed() -> bool:
    """install.sh has run (it is not idempotent once the workflow is published)."""
    home = Path(os.environ.get("N8N_ANCHOR_HOME", Path(tempfile.gettempdir()) / "n8n-anchor"))
    binary = home / "n8n/node_modules/.bin/n8n"
    return binary.exists() and (home / "data/.n8n/database.sqlite").exists()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per cell, 1 s warm-up")
    parser.add_argument("--vs-n8n", action="store_true", help="also run the n8n reference")
    parser.add_argument("--cells", default="1,8,32", help="concurrencies (comma-separated)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--serve-arg", action="append", default=[], help="extra serve argument")
    args = parser.parse_args()
    cells = [int(c) for c in args.cells.split(",")]
    duration, warmup = (3.0, 1.0) if args.quick else (args.duration, args.warmup)
    report: dict[str, Any] = {"cells": cells, "duration_s": duration, "load_before": uptime()}
    rr = Reporunner(args.serve_arg)
    try:
        rr.wait_ready()
        ours = run_cells("reporunner", rr.publish(), cells, duration, warmup, rr)
    finally:
        rr.stop()
    report["reporunner"] = ours
    if args.vs_n8n:
        if not n8n_installed():
            n8n("install.sh")
        n8n("start.sh")
        try:
            theirs = run_cells(
                "n8n", "http://127.0.0.1:5678/webhook/bench", cells, duration, warmup
            )
        finally:
            n8n("stop.sh")
        report["n8n"] = theirs
        report["ratio"] = {
            c: {
                "rps": round(ours[c]["rps"] / theirs[c]["rps"], 3) if theirs[c]["rps"] else None,
                "p50": round(ours[c]["p50_ms"] / theirs[c]["p50_ms"], 3),
                "p95": round(ours[c]["p95_ms"] / theirs[c]["p95_ms"], 3),
            }
            for c in cells
        }
    report["load_after"] = uptime()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
