"""The copilot in a real browser against a real server whose model is the scripted provider
(scripted_llm.py): a workflow generated from a sentence lands on the canvas with the copilot's
summary and what is left to do; an edit's JSON Patch shows as marks on the canvas and is
accepted (a new version) or rejected (nothing saved), one-off or in a refinement thread."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from scripted_llm import Reply, ScriptServer, tool_call
from web_testkit import Server, create_workflow, shot

pytestmark = pytest.mark.timeout(400)

# the copilot's first call in a served process loads the local embedding model that ranks the
# node types (tens of seconds on a loaded machine): the first wait after a copilot call is long
FIRST_CALL_MS = 180_000
GENERATE_TOOL = "submit_workflow"
EDIT_TOOL = "submit_edit"

ORDERS: dict[str, Any] = {
    "name": "Orders to Slack",
    "nodes": [
        {"id": "order", "type": "trigger.webhook", "params": {"path": "orders"}},
        {"id": "notify", "type": "slack.message", "params": {"text": "New order {{ item }}"},
         "credentials": {"webhook_url": "https://hooks.slack.com/services/T/B/secret"}},
    ],
    "edges": [{"source": "order", "target": "notify"}],
}  # fmt: skip


def submit(definition: dict[str, Any], summary: str) -> Reply:
    args = {
        "definition": definition,
        "explanations": {"order": "Receives the order.", "notify": "Posts it to Slack."},
        "summary": summary,
    }
    return Reply(tool_calls=[tool_call(GENERATE_TOOL, args)])


def submit_patch(patch: list[dict[str, Any]], summary: str) -> Reply:
    return Reply(tool_calls=[tool_call(EDIT_TOOL, {"patch": patch, "summary": summary})])


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'.rr-node[data-node-id="{node_id}"]')


def test_generate_a_workflow_from_a_sentence(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    llm.plan(submit(ORDERS, "Posts every order the webhook receives to Slack."))
    page.goto("/")
    page.get_by_role("button", name="Describe a workflow").click()
    page.get_by_label("Workflow description").fill(
        "when an order arrives by webhook, post it to Slack"
    )
    page.get_by_role("button", name="Generate workflow").click()

    page.wait_for_url(re.compile(r"/editor/[0-9a-f-]{36}$"), timeout=FIRST_CALL_MS)
    expect(node(page, "order")).to_be_visible()
    expect(node(page, "notify")).to_be_visible()
    panel = page.get_by_role("dialog", name="Copilot")
    expect(panel.get_by_test_id("copilot-summary")).to_contain_text(
        "Posts every order the webhook receives to Slack."
    )
    # what is left to do: the Slack node needs its credential (the copilot never keeps one)
    expect(panel.get_by_label("Remaining problems")).to_contain_text("webhook_url")
    # laid out left to right: the trigger before the node it feeds
    order_box, notify_box = node(page, "order").bounding_box(), node(page, "notify").bounding_box()
    assert order_box
    assert notify_box
    assert order_box["x"] < notify_box["x"]
    expect(page.get_by_test_id("version-info")).to_contain_text("v1")
    assert llm.remaining == 0
    assert "post it to Slack" in str(llm.requests[-1]["messages"])
    shot(page, "copilot-generate")


def test_accept_an_edit_shown_as_a_diff(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    workflow_id = create_workflow(server, ORDERS)
    patch = [
        {"op": "replace", "path": "/nodes/1/params/text", "value": "Order {{ item.id }} arrived"},
        {"op": "add", "path": "/nodes/-", "value": {"id": "audit", "type": "logic.noop"}},
        {"op": "add", "path": "/edges/-", "value": {"source": "notify", "target": "audit"}},
    ]
    llm.plan(submit_patch(patch, "Shows the order id and adds an audit step."))
    page.goto(f"/editor/{workflow_id}")
    expect(node(page, "notify")).to_be_visible()
    page.get_by_role("button", name="Copilot", exact=True).click()
    page.get_by_label("Copilot prompt").fill("show the order id and add an audit step")
    page.get_by_role("button", name="Edit with instruction").click()

    expect(node(page, "notify")).to_have_attribute("data-diff", "changed", timeout=FIRST_CALL_MS)
    expect(node(page, "notify").get_by_test_id("node-diff")).to_have_text("changed: text")
    expect(node(page, "audit")).to_have_attribute("data-diff", "added")
    expect(node(page, "order")).not_to_have_attribute("data-diff", re.compile(".+"))
    expect(page.locator(".react-flow__edge.diff-edge-added")).to_have_count(1)
    review = page.get_by_role("region", name="Proposed change")
    expect(review.get_by_test_id("copilot-change-summary")).to_have_text(
        "Shows the order id and adds an audit step."
    )
    # the merged preview can not be saved, published or run while it is under review
    expect(page.get_by_role("button", name="Save")).to_be_disabled()
    shot(page, "copilot-edit-diff")

    review.get_by_role("button", name="Accept change").click()
    expect(page.get_by_role("status")).to_contain_text("Copilot change saved as version 2")
    expect(page.locator(".rr-node[data-diff]")).to_have_count(0)
    expect(node(page, "audit")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_be_enabled()
    status, version = server.api("GET", f"/workflows/{workflow_id}/versions/2")
    assert status == 200, version
    notify = next(n for n in version["definition"]["nodes"] if n["id"] == "notify")
    assert notify["params"]["text"] == "Order {{ item.id }} arrived"
    assert {"source": "notify", "target": "audit"}.items() <= version["definition"]["edges"][
        -1
    ].items()
    shot(page, "copilot-edit-accepted")


def test_reject_a_thread_proposal_keeps_the_workflow(
    owner_page: Page, server: Server, llm: ScriptServer
) -> None:
    page = owner_page
    workflow_id = create_workflow(server, ORDERS)
    removal = [{"op": "remove", "path": "/edges/0"}, {"op": "remove", "path": "/nodes/1"}]
    keep = {"id": "keep", "type": "logic.noop"}
    added = [
        {"op": "add", "path": "/nodes/-", "value": keep},
        {"op": "add", "path": "/edges/-", "value": {"source": "order", "target": "keep"}},
    ]
    llm.plan(submit_patch([*added, *removal], "Replaces Slack by a no-op."))
    page.goto(f"/editor/{workflow_id}")
    page.get_by_role("button", name="Copilot", exact=True).click()
    panel = page.get_by_role("dialog", name="Copilot")
    panel.get_by_label("Copilot prompt").fill("drop slack")
    panel.get_by_role("button", name="New thread").click()
    expect(panel.get_by_label("Copilot thread")).not_to_have_value("")
    panel.get_by_role("button", name="Edit with instruction").click()

    expect(node(page, "notify")).to_have_attribute("data-diff", "removed", timeout=FIRST_CALL_MS)
    expect(node(page, "keep")).to_have_attribute("data-diff", "added")
    expect(page.locator(".react-flow__edge.diff-edge-removed")).to_have_count(1)
    # the thread keeps the conversation
    expect(panel.get_by_label("Thread messages")).to_contain_text("drop slack")
    expect(panel.get_by_label("Thread messages")).to_contain_text("Replaces Slack by a no-op.")
    shot(page, "copilot-thread-diff")

    panel.get_by_role("button", name="Reject change").click()
    expect(page.locator(".rr-node[data-diff]")).to_have_count(0)
    expect(node(page, "notify")).to_be_visible()
    expect(node(page, "keep")).to_have_count(0)
    status, versions = server.api("GET", f"/workflows/{workflow_id}/versions")
    assert status == 200
    assert [v["number"] for v in versions] == [1]
    status, threads = server.api("GET", f"/workflows/{workflow_id}/copilot/threads")
    assert status == 200
    assert len(threads) == 1
    # the thread is listed again after a reload
    page.reload()
    page.get_by_role("button", name="Copilot", exact=True).click()
    expect(page.get_by_label("Copilot thread").locator("option")).to_have_count(2)
