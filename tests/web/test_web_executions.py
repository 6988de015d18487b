"""The executions page: filters and cursor paging, a failed run's error and Retry, and a run
waiting for approval answered with Resume."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from web_testkit import Server, create_workflow, shot

pytestmark = pytest.mark.timeout(300)

PAGE_SIZE = 25


def wait_status(server: Server, execution_id: str, statuses: set[str]) -> dict[str, Any]:
    """Poll the API with a deadline until the execution reaches one of ``statuses``."""
    deadline = time.monotonic() + 60
    while True:
        status, body = server.api("GET", f"/executions/{execution_id}")
        assert status == 200, body
        if body["status"] in statuses or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.2)


def run(server: Server, workflow_id: str, payload: dict[str, Any]) -> str:
    status, body = server.api("POST", f"/workflows/{workflow_id}/executions", {"input": payload})
    assert status == 201, body
    return str(body["id"])


def _tick(box: Locator, checked: bool) -> None:
    """Click a status filter and wait for it to show the new state: the box follows the URL,
    which React updates after the click (``Locator.check`` reads the state at once and fails
    on a busy machine)."""
    box.click()
    expect(box).to_be_checked(checked=checked)


def test_filters_paging_error_and_retry(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Parse numbers",
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {
                    "id": "parse",
                    "type": "data.set",
                    "params": {
                        "fields": [{"name": "n", "value": "{{ item.n }}", "type": "number"}]
                    },
                },
            ],
            "edges": [{"source": "start", "target": "parse"}],
        },
    )
    ids = [run(server, wf, {"n": str(i)}) for i in range(PAGE_SIZE + 2)]
    bad = run(server, wf, {"n": "not a number"})
    for execution_id in [*ids, bad]:
        wait_status(server, execution_id, {"succeeded", "failed"})
    assert wait_status(server, bad, {"failed"})["status"] == "failed"

    page = owner_page
    page.goto(f"/runs?workflow={wf}")
    rows = page.locator("table[aria-label=Executions] tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(rows.first).to_contain_text("failed")  # newest first
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(3)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(PAGE_SIZE)

    _tick(page.get_by_label("Status failed"), True)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("failed")
    _tick(page.get_by_label("Status failed"), False)
    _tick(page.get_by_label("Status succeeded"), True)
    expect(rows).to_have_count(PAGE_SIZE)
    _tick(page.get_by_label("Status succeeded"), False)
    page.get_by_label("Since").fill("2999-01-01T00:00")  # nothing is that new
    expect(page.get_by_text("No executions match.")).to_be_visible()
    page.get_by_label("Since").fill("")
    _tick(page.get_by_label("Status failed"), True)
    shot(page, "executions-filtered")

    rows.first.get_by_role("link").click()
    expect(page.get_by_test_id("execution-status")).to_have_text("failed")
    expect(page.locator('.react-flow__node[data-id="parse"] .rr-node')).to_have_attribute(
        "data-status", "failed"
    )
    page.locator('.react-flow__node[data-id="parse"]').click()
    inspector = page.get_by_role("region", name="Run of parse")
    expect(inspector.get_by_role("alert")).to_contain_text("not a number")
    expect(page.get_by_role("button", name="Cancel execution")).to_have_count(0)

    page.get_by_role("button", name="Retry execution").click()
    expect(page).not_to_have_url(f"/runs/{bad}")
    expect(page.get_by_test_id("execution-status")).to_have_text("failed", timeout=30_000)


def test_resume_a_waiting_run(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Needs approval",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "ask",
                    "type": "human.approval",
                    "params": {"message": "Ship {{ item.order }}?"},
                    "position": {"x": 260, "y": 0},
                },
                {
                    "id": "ship",
                    "type": "data.set",
                    "params": {"fields": [{"name": "shipped", "value": "yes"}]},
                    "position": {"x": 520, "y": 0},
                },
            ],
            "edges": [
                {"source": "start", "target": "ask"},
                {"source": "ask", "source_port": "approved", "target": "ship"},
            ],
        },
    )
    execution_id = run(server, wf, {"order": "A-17"})
    assert wait_status(server, execution_id, {"waiting"})["status"] == "waiting"

    page = owner_page
    page.goto(f"/runs/{execution_id}")
    expect(page.get_by_test_id("execution-status")).to_have_text("waiting")
    waiting = page.get_by_role("group", name="Resume waiting execution")
    expect(waiting).to_contain_text("Ship A-17?")
    expect(page.get_by_role("button", name="Cancel execution")).to_be_visible()
    waiting.get_by_label("Resume payload JSON").fill('{"approved": true, "comment": "go"}')
    waiting.get_by_role("button", name="Resume execution").click()
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator('.react-flow__node[data-id="ship"] .rr-node')).to_have_attribute(
        "data-status", "succeeded"
    )


def test_the_list_follows_running_executions(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Long wait",
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "pause", "type": "logic.wait", "params": {"amount": 10, "unit": "minutes"}},
            ],
            "edges": [{"source": "start", "target": "pause"}],
        },
    )
    execution_id = run(server, wf, {})
    assert wait_status(server, execution_id, {"running"})["status"] == "running"

    page = owner_page
    page.goto(f"/runs?workflow={wf}")
    row = page.locator(f'table[aria-label=Executions] tbody tr:has(a[href="/runs/{execution_id}"])')
    expect(row).to_have_attribute("data-status", "running")
    expect(page.get_by_test_id("live")).to_be_visible()
    shot(page, "executions-live")
    # the run ends elsewhere (here: cancelled through the API); the open list shows it unasked
    status, body = server.api("POST", f"/executions/{execution_id}/cancel")
    assert status == 200, body
    expect(row).to_have_attribute("data-status", "cancelled", timeout=30_000)
    expect(page.get_by_test_id("live")).to_have_count(0)  # nothing left to follow
