"""Without a model the copilot says in one line which setting to set, and the rest of the app
works: a second real server (its own database clone) started without REPORUNNER_LLM_MODEL."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect
from web_testkit import (
    OWNER_EMAIL,
    OWNER_PASSWORD,
    Server,
    clone_database,
    create_workflow,
    free_port,
    shot,
    sign_in,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def bare_server(
    services: Any, web_build: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    database_url, db_name = clone_database(services)
    env = {
        k: v for k, v in os.environ.items() if k not in ("REPORUNNER_LLM_MODEL", "OPENAI_API_KEY")
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": re.sub(r"/\d+$", "/10", services.redis_url),
            "REPORUNNER_DATA_DIR": str(tmp_path_factory.mktemp("rr-web-bare")),
            "REPORUNNER_QUEUE_NAME": f"reporunner:web-bare:{uuid.uuid4().hex[:8]}",
            "REPORUNNER_LOG_LEVEL": "WARNING",
            "REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    proc, srv = start_server(env, free_port())
    try:
        assert srv.setup_url, "serve printed no set-up link:\n" + "".join(srv.output)
        token = srv.setup_url.split("token=", 1)[1]
        body = {"token": token, "email": OWNER_EMAIL, "password": OWNER_PASSWORD}
        status, answer = srv.api("POST", "/auth/setup", body)
        assert status == 200, answer
        yield srv
    finally:
        stop_server(proc)
        with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@pytest.fixture
def bare_page(browser: Browser, bare_server: Server) -> Iterator[Page]:
    ctx = browser.new_context(base_url=bare_server.base, viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page)
        yield page
    finally:
        ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def test_without_a_model_the_copilot_names_the_setting_and_the_rest_works(
    bare_page: Page, bare_server: Server
) -> None:
    page = bare_page
    status, body = bare_server.api("GET", "/copilot/status")
    assert status == 200
    assert body["configured"] is False
    page.goto("/")
    page.get_by_role("button", name="Describe a workflow").click()
    hint = page.get_by_test_id("copilot-not-configured")
    expect(hint).to_contain_text("REPORUNNER_LLM_MODEL")
    expect(page.get_by_label("Workflow description")).to_have_count(0)

    workflow_id = create_workflow(
        bare_server,
        {"name": "Plain", "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []},
    )
    page.goto(f"/editor/{workflow_id}")
    page.get_by_role("button", name="Copilot", exact=True).click()
    panel = page.get_by_role("dialog", name="Copilot")
    expect(panel.get_by_test_id("copilot-not-configured")).to_contain_text("REPORUNNER_LLM_MODEL")
    expect(panel.get_by_label("Copilot prompt")).to_have_count(0)
    shot(page, "copilot-no-model")
    # the editor itself works: rename and save a version
    page.get_by_label("Workflow name").fill("Plain, renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 2")
    # a chat says the same instead of answering
    status, chat = bare_server.api("POST", "/chats", {"agent": {}})
    assert status == 201, chat
    page.goto(f"/chat/{chat['id']}")
    page.get_by_role("textbox", name="Message").fill("hello?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("REPORUNNER_LLM_MODEL")
