"""Building a workflow on the canvas and watching it run: webhook → set → if → set → respond,
dragged from the palette and filled in through the params forms, saved, published, called over
HTTP, and replayed with every node green; a manual run's input form and its live statuses."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from web_testkit import Server, create_workflow, shot

pytestmark = pytest.mark.timeout(300)

PALETTE = {
    "webhook": "Add Webhook (trigger.webhook)",
    "set": "Add Edit Fields (Set) (data.set)",
    "if": "Add If (logic.if)",
    "respond": "Add Respond to webhook (webhook.respond)",
}


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def status_of(page: Page, node_id: str) -> Any:
    """The node's card, whose data-status is the run state it shows."""
    return node(page, node_id).locator(".rr-node")


def drop(page: Page, palette_label: str, x: int, y: int) -> None:
    pane = page.locator(".react-flow__pane")
    page.get_by_role("button", name=palette_label).drag_to(pane, target_position={"x": x, "y": y})


def connect(page: Page, source: str, source_port: str, target: str) -> None:
    src = node(page, source).locator(f'.react-flow__handle.source[data-handleid="{source_port}"]')
    dst = node(page, target).locator('.react-flow__handle.target[data-handleid="main"]')
    src.drag_to(dst)


def field(page: Page, node_id: str, path: str) -> Any:
    return page.locator(f"#p_{node_id}_{path}")


def post_json(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as res:
        return res.status, json.loads(res.read())


def test_build_publish_and_watch_a_webhook_run(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto("/")
    page.get_by_role("button", name="New workflow", exact=True).click()
    expect(node(page, "start")).to_be_visible()
    page.get_by_label("Workflow name").fill("Greeter")
    # the blank workflow's Manual trigger goes; this one starts from a webhook
    node(page, "start").click()
    page.keyboard.press("Delete")
    expect(node(page, "start")).to_have_count(0)

    drop(page, PALETTE["webhook"], 120, 150)
    expect(node(page, "webhook")).to_be_visible()
    field(page, "webhook", "path").fill("greet")
    field(page, "webhook", "response_mode").select_option("respond_node")
    origin = page.evaluate("() => location.origin")
    expect(page.get_by_test_id("webhook-url")).to_have_text(f"{origin}/hooks/default/greet")
    expect(page.get_by_test_id("webhook-curl")).to_contain_text("curl -X POST")
    expect(page.get_by_role("button", name="Copy webhook URL")).to_be_visible()

    drop(page, PALETTE["set"], 380, 150)
    field(page, "set", "fields_0_name").fill("greeting")
    field(page, "set", "fields_0_value").fill("hello {{ item.body.name }}")

    drop(page, PALETTE["if"], 640, 150)
    field(page, "if", "conditions_0_field").fill("greeting")
    field(page, "if", "conditions_0_operator").select_option("contains")
    field(page, "if", "conditions_0_compare").fill("Ada")

    drop(page, PALETTE["set"], 380, 400)
    expect(node(page, "set_1")).to_be_visible()
    field(page, "set_1", "fields_0_name").fill("verdict")
    field(page, "set_1", "fields_0_value").fill("known")

    drop(page, PALETTE["respond"], 640, 400)
    expect(node(page, "respond")).to_be_visible()

    connect(page, "webhook", "main", "set")
    connect(page, "set", "main", "if")
    connect(page, "if", "true", "set_1")
    connect(page, "set_1", "main", "respond")
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    # the canvas refuses what the engine would: a second copy of an edge, an edge into a trigger
    connect(page, "webhook", "main", "set")
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    expect(node(page, "webhook").locator(".react-flow__handle.target")).to_have_count(0)
    node(page, "set").click()
    targets = page.get_by_label("Target node and port")
    expect(targets.locator("option", has_text="if · main")).to_have_count(1)
    expect(targets.locator("option", has_text="webhook")).to_have_count(0)
    targets.select_option("if|main")  # the keyboard way to connect: refused as a duplicate
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="already connected")).to_be_visible()
    expect(node(page, "if")).to_contain_text("true")  # port names are shown
    expect(node(page, "if")).to_contain_text("false")
    shot(page, "editor")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Published version 2")).to_be_visible()
    expect(page.get_by_test_id("version-info")).to_contain_text("published v2")

    status, body = post_json(f"{server.base}/hooks/default/greet", {"name": "Ada"})
    assert status == 200
    assert body["greeting"] == "hello Ada"
    assert body["verdict"] == "known"

    page.get_by_role("link", name="Executions").click()
    row = page.locator("table[aria-label=Executions] tbody tr").first
    deadline = time.monotonic() + 30
    while row.get_attribute("data-status") != "succeeded" and time.monotonic() < deadline:
        page.reload()  # the list is not live; the run ended before the webhook answered anyway
        row.wait_for()
    expect(row).to_contain_text("Greeter")
    expect(row).to_contain_text("succeeded")
    expect(row).to_contain_text("webhook")
    shot(page, "executions")
    row.get_by_role("link").click()

    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")
    for node_id in ("webhook", "set", "if", "set_1", "respond"):
        expect(status_of(page, node_id)).to_have_attribute("data-status", "succeeded")
    node(page, "respond").click()
    inspector = page.get_by_role("region", name="Run of respond")
    expect(inspector.get_by_role("region", name="Output")).to_contain_text("known")
    inspector.get_by_role("button", name="Output as table").click()
    expect(inspector.get_by_role("region", name="Output").locator("table")).to_contain_text(
        "hello Ada"
    )
    shot(page, "execution-replay")


def test_manual_run_input_form_and_live_statuses(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Manual with input",
            "nodes": [
                {
                    "id": "start",
                    "type": "trigger.manual",
                    "params": {
                        "input_schema": {
                            "type": "object",
                            "properties": {"who": {"type": "string", "title": "Who"}},
                            "required": ["who"],
                        }
                    },
                    "position": {"x": 0, "y": 0},
                },
                {
                    "id": "shout",
                    "type": "data.set",
                    "params": {
                        "fields": [
                            {"name": "loud", "value": "{{ item.who | upper }}"},
                            {"name": "plain", "value": "hi {{ item.who }}"},
                        ]
                    },
                    "position": {"x": 300, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "shout"}],
        },
    )
    page = owner_page
    page.goto(f"/editor/{wf}")
    expect(node(page, "shout")).to_be_visible()
    page.get_by_role("button", name="Run", exact=True).click()
    dialog = page.get_by_role("dialog", name="Run input")
    dialog.get_by_label("Who").fill("ada")
    dialog.get_by_role("button", name="Start run").click()
    expect(status_of(page, "shout")).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(status_of(page, "start")).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_test_id("execution-status")).to_contain_text("succeeded")
    node(page, "shout").click()
    expect(page.get_by_role("region", name="Run of shout")).to_contain_text("ADA")
    preview = page.get_by_role("region", name="Expression preview")
    expect(preview).to_contain_text("hi ada")
    expect(preview).to_contain_text("→ ADA")  # a filter too: the server's engine renders it
    shot(page, "manual-run")

    page.reload()  # the latest execution still feeds the preview
    node(page, "shout").click()
    expect(page.get_by_role("region", name="Expression preview")).to_contain_text("hi ada")
