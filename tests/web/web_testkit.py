"""Helpers of the real-browser tests (fixtures in conftest.py): Chromium driven by Playwright
against a real `reporunner serve`.

One server per session (a fresh clone of the migrated template database, the session's Redis),
one browser per session, a new browser context (cookie jar) per test. The web app is built once
when ``web/dist`` is older than its sources. Screenshots go to ``tests/web/artifacts/``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("REPORUNNER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "correct horse battery staple"
SETUP_RE = re.compile(r"(https?://\S+/setup\?token=\S+)")
KEY_RE = re.compile(r"API key \(shown once\): (\S+)")
PASSWORD_SET = threading.Event()

from playwright.sync_api import Page  # noqa: E402


def _newest_source_mtime() -> float:
    paths = [
        WEB / "index.html",
        WEB / "package.json",
        WEB / "package-lock.json",
        WEB / "vite.config.ts",
    ]
    paths += [p for p in (WEB / "src").rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in paths if p.exists())


def build_web() -> None:
    """``npm ci`` (when node_modules is missing or older than the lock) and ``npm run build``
    when ``web/dist`` is older than the sources."""
    index = WEB / "dist" / "index.html"
    if index.exists() and index.stat().st_mtime >= _newest_source_mtime():
        return
    modules = WEB / "node_modules"
    marker = modules / ".package-lock.json"
    lock = WEB / "package-lock.json"
    # a worktree's node_modules may be a symlink to the main checkout's: `npm ci` there would
    # empty the linked folder (every other worktree's too), so a link is used as it is
    stale = not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime
    if stale and not modules.is_symlink():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)
    subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, timeout=600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``reporunner serve`` and what it printed."""

    base: str
    setup_url: str | None
    api_key: str
    slug: str = "default"
    output: list[str] = field(default_factory=list)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Call the API with the owner's API key (or ``key``); returns (status, parsed body)."""
        data = None if body is None else json.dumps(body).encode()
        hdrs = {"Authorization": f"Bearer {key or self.api_key}", "Accept": "application/json"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                raw = res.read()
                status = res.status
        except urllib.error.HTTPError as err:
            raw = err.read()
            status = err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")


READERS: dict[int, threading.Thread] = {}
"""Threads reading each server's output, by process id."""


def _wait_for(lines: queue.Queue[str], proc: subprocess.Popen[str], seconds: float) -> str | None:
    """The next line the server prints, or None at the deadline or when it exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                return None
    return None


def _listening(port: int, proc: subprocess.Popen[str], seconds: float = 60) -> bool:
    """True once the port accepts connections ("serving on" is printed before uvicorn binds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def start_server(env: dict[str, str], port: int) -> tuple[subprocess.Popen[str], Server]:
    """Start ``reporunner serve`` and read its start-up lines (API key, set-up link)."""
    cmd = [sys.executable, "-c", "from reporunner.platform.cli import main; main()"]
    proc = subprocess.Popen(
        [*cmd, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    READERS[proc.pid] = reader
    setup_url = api_key = None
    serving = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (serving and api_key and setup_url):
        line = _wait_for(lines, proc, 5 if api_key and serving else deadline - time.monotonic())
        if line is None:
            break
        serving = serving or "serving on" in line
        if (m := SETUP_RE.search(line)) is not None:
            setup_url = m.group(1)
        if (m := KEY_RE.search(line)) is not None:
            api_key = m.group(1)
    if not (serving and api_key):
        stop_server(proc)
        raise RuntimeError("reporunner serve did not start:\n" + "".join(output))
    if not _listening(port, proc):
        stop_server(proc)
        raise RuntimeError("reporunner serve never listened:\n" + "".join(output))
    base = f"http://127.0.0.1:{port}"
    return proc, Server(base=base, setup_url=setup_url, api_key=api_key, output=output)


def stop_server(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    reader = READERS.pop(proc.pid, None)
    if reader is not None:
        reader.join(timeout=10)  # it ends at EOF, now that the server exited
    if proc.stdout is not None:
        proc.stdout.close()


def clone_database(services: Any) -> tuple[str, str]:
    name = f"rr_web_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "rr_template"')
    url = make_url(services.database_url).set(database=name)
    return url.render_as_string(hide_password=False), name


def ensure_owner(server: Server) -> None:
    """The owner has a password (set up through the API when the UI test did not run first)."""
    if PASSWORD_SET.is_set():
        return
    assert server.setup_url, "serve printed no set-up link:\n" + "".join(server.output)
    token = server.setup_url.split("token=", 1)[1]
    status, body = server.api(
        "POST", "/auth/setup", {"token": token, "email": OWNER_EMAIL, "password": OWNER_PASSWORD}
    )
    assert status == 200, body
    PASSWORD_SET.set()


def sign_in(page: Page, email: str = OWNER_EMAIL, password: str = OWNER_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def create_workflow(server: Server, definition: dict[str, Any]) -> str:
    status, body = server.api("POST", "/workflows", definition)
    assert status == 201, body
    return str(body["workflow"]["id"])
