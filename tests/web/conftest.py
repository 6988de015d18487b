"""Fixtures of the real-browser tests: one `reporunner serve` (fresh database clone, the
session's Redis) and one Chromium per session, a new browser context per test."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from scripted_llm import ScriptServer
from web_testkit import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WEB,
    Server,
    build_web,
    clone_database,
    ensure_owner,
    free_port,
    sign_in,
    start_server,
    stop_server,
)

# `expect(...)` polls until its deadline; Playwright's 5 s default is a speed bar (a run that
# waits for a worker on a loaded 2-core machine took longer), the deadline is only a hang guard
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def web_build() -> None:
    if shutil.which("npm") is None and not (WEB / "dist" / "index.html").exists():
        pytest.skip("npm is not on PATH and web/dist is not built")
    build_web()


@pytest.fixture(scope="session")
def llm_script() -> Iterator[ScriptServer]:
    """The plan of the served processes' scripted LLM (``scripted/web`` is the server's default
    model): ``llm_script.plan(Reply(...), Stream([...]))``; see scripted_llm.py."""
    with ScriptServer() as script:
        yield script


@pytest.fixture
def llm(llm_script: ScriptServer) -> Iterator[ScriptServer]:
    """The session's script, emptied before and after the test."""
    llm_script.reset()
    yield llm_script
    llm_script.reset()


@pytest.fixture(scope="session")
def server(
    services: Any,
    web_build: None,
    llm_script: ScriptServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    database_url, db_name = clone_database(services)
    # REPORUNNER_WEB_TEST_PORT + REPORUNNER_WEB_TEST_FRONT: drive `npm run dev` (RR_API pointing
    # at that port) instead of the built app, for quick iterations on web/src
    port = int(os.environ.get("REPORUNNER_WEB_TEST_PORT") or free_port())
    redis_url = re.sub(r"/\d+$", "/9", services.redis_url)  # keys apart from other tests
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REPORUNNER_DATA_DIR": str(tmp_path_factory.mktemp("rr-web")),
        "REPORUNNER_QUEUE_NAME": f"reporunner:web:{uuid.uuid4().hex[:8]}",
        "REPORUNNER_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        # the scripted LLM provider answers in the served processes (scripted_llm.py)
        **llm_script.env(os.environ.get("PYTHONPATH", "")),
        "REPORUNNER_LLM_MODEL": "scripted/web",
        # the SSO tests' OpenID provider listens on this machine (oidc_testkit.py)
        "REPORUNNER_OIDC_ALLOW_HOSTS": "127.0.0.1",
    }
    proc, srv = start_server(env, port)
    try:
        yield srv
    finally:
        stop_server(proc)
        with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    front = os.environ.get("REPORUNNER_WEB_TEST_FRONT") or server.base
    ctx = browser.new_context(base_url=front, viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def owner_page(page: Page, server: Server) -> Page:
    ensure_owner(server)
    sign_in(page)
    return page


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The owner's one-use set-up link is followed in the browser by the test that checks it,
    so that test runs before the other browser tests (which set the owner's password through
    the API when it has not run); the rest of the session keeps its order."""
    name = "test_owner_sets_up_from_the_link_then_signs_out_and_in"
    here = Path(__file__).parent
    first = next((i for i in items if i.name == name), None)
    if first is None:
        return
    rest = [i for i in items if i is not first]
    at = next((n for n, i in enumerate(rest) if Path(str(i.path)).parent == here), len(rest))
    items[:] = [*rest[:at], first, *rest[at:]]
