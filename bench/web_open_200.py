"""Opening a 200-node workflow in the web editor, in headless Chromium (issue #16: < 1 s).

Starts ``reporunner serve`` (embedded PostgreSQL and Redis) on a fresh data directory with the
built app (``web/dist``; build it first with ``make web``), creates a 200-node workflow and a
2-node one (the in-run baseline), and opens each in Debian's ``/usr/bin/chromium`` driven by the
``playwright`` package the way a person does: from the workflows list, a click on its name
(the list has fetched the node catalog and the editor's code already), until every node is drawn.
It also times a full page load of the editor's URL (app files from the browser cache).

Figures: the median over the repeats of

* ``click_to_drawn_ms``: the click until the editor reports all nodes drawn (wall clock, from
  Python: includes Playwright's round trips);
* ``mount_to_drawn_ms``: the editor's own figure (``document.body.dataset.editorLoadMs``: from
  its mount, through the API calls, to two animation frames after the nodes are in the store);
* ``mount_to_fetched_ms``: the part of it spent waiting for the API (workflow, version,
  credentials; the catalog is cached);
* ``page_load_to_drawn_ms``: ``goto(/editor/<id>)`` until drawn.

``ratio`` is the 200-node click-to-drawn median over the 2-node one (what the size costs on this
machine). ``met`` says whether the 200-node click-to-drawn median is under 1000 ms.

Usage::

    python bench/web_open_200.py [--quick] [--repeats 10] [--nodes 200]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("REPORUNNER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GOAL_MS = 1000.0


def definition(count: int, name: str) -> dict[str, Any]:
    """A chain: a manual trigger, then ``count - 1`` Set nodes on a 20-wide grid."""
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}}
    ]
    edges = []
    for i in range(1, count):
        nodes.append(
            {
                "id": f"n{i}",
                "type": "data.set",
                "params": {"fields": [{"name": f"f{i}", "value": f"{{{{ item.f{i - 1} }}}}"}]},
                "position": {"x": (i % 20) * 240, "y": (i // 20) * 140},
            }
        )
        edges.append({"source": "start" if i == 1 else f"n{i - 1}", "target": f"n{i}"})
    return {"name": name, "nodes": nodes, "edges": edges}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Serve:
    """``reporunner serve`` on a fresh data directory, with a known API key."""

    def __init__(self, web_dir: Path) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="rr-web-open-")
        self.port = free_port()
        self.token = f"rr_bench_{secrets.token_urlsafe(24)}"
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")} | {
            "REPORUNNER_DATA_DIR": self.tmp.name,
            "REPORUNNER_BOOTSTRAP_TOKEN": self.token,
            "REPORUNNER_LOG_LEVEL": "WARNING",
            "REPORUNNER_WEB_DIR": str(web_dir),
        }
        self.log = Path(self.tmp.name) / "serve.log"
        cmd = [sys.executable, "-m", "reporunner.platform.cli", "serve"]
        self.proc = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

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

    def create(self, body: dict[str, Any]) -> str:
        req = urllib.request.Request(
            f"{self.base}/workflows", data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=60) as resp:
            return str(json.loads(resp.read())["workflow"]["id"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.tmp.cleanup()


def _drawn(page: Any, count: int) -> float:
    page.wait_for_function("() => document.body.dataset.editorLoadMs !== undefined")
    page.wait_for_function(
        f"() => document.querySelectorAll('.react-flow__node').length === {count}"
    )
    return float(page.evaluate("() => document.body.dataset.editorLoadMs"))


def open_times(page: Any, base: str, name: str, wf: str, count: int) -> dict[str, float]:
    """One click from the list, and one page load of the editor's URL."""
    page.goto(base + "/")
    page.get_by_role("link", name=name, exact=True).wait_for()
    page.evaluate("() => { delete document.body.dataset.editorLoadMs }")
    started = time.perf_counter()
    page.get_by_role("link", name=name, exact=True).click()
    mount = _drawn(page, count)
    click = (time.perf_counter() - started) * 1000
    fetched = float(page.evaluate("() => document.body.dataset.editorFetchMs"))
    started = time.perf_counter()
    page.goto(f"{base}/editor/{wf}")
    _drawn(page, count)
    load = (time.perf_counter() - started) * 1000
    return {
        "click_to_drawn_ms": click,
        "mount_to_drawn_ms": mount,
        "mount_to_fetched_ms": fetched,
        "page_load_to_drawn_ms": load,
    }


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 10")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument(
        "--web-dir", type=Path, default=ROOT / "web" / "dist",
        help="the built app to serve (e.g. an older build, for a before/after)",
    )  # fmt: skip
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 10)
    missing = None
    if not (args.web_dir / "index.html").exists():
        missing = f"{args.web_dir} holds no build: run `make web` first"
    elif not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if missing:  # `make bench` goes on with the other scripts
        print(json.dumps({"bench": "web_open_200", "skipped": missing}))
        return
    from playwright.sync_api import sync_playwright

    serve = Serve(args.web_dir)
    try:
        serve.wait_ready()
        big_name, small_name = f"{args.nodes} nodes", "2 nodes"
        big = serve.create(definition(args.nodes, big_name))
        small = serve.create(definition(2, small_name))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(
                base_url=serve.base, viewport={"width": 1440, "height": 900},
                extra_http_headers={"Authorization": f"Bearer {serve.token}"},
            )  # fmt: skip
            context.set_default_timeout(60_000)
            page = context.new_page()
            open_times(page, serve.base, small_name, small, 2)  # warm: caches, JIT, pools
            open_times(page, serve.base, big_name, big, args.nodes)
            small_runs, big_runs = [], []
            for _ in range(repeats):
                small_runs.append(open_times(page, serve.base, small_name, small, 2))
                big_runs.append(open_times(page, serve.base, big_name, big, args.nodes))
                print(json.dumps({"2": small_runs[-1], str(args.nodes): big_runs[-1]}))
            browser.close()
    finally:
        serve.stop()
    small_m, big_m = medians(small_runs), medians(big_runs)
    print(
        json.dumps(
            {
                "bench": "web_open_200",
                "nodes": args.nodes,
                "repeats": repeats,
                "ratio": round(big_m["click_to_drawn_ms"] / small_m["click_to_drawn_ms"], 2),
                "goal_ms": GOAL_MS,
                "met": big_m["click_to_drawn_ms"] < GOAL_MS,
                "large": big_m,
                "baseline_2_nodes": small_m,
                "max_click_to_drawn_ms": round(max(r["click_to_drawn_ms"] for r in big_runs), 1),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
