"""Editing on the canvas: undo/redo of a deletion (keys and buttons), pasting a two-node
fragment as definition JSON, a validation problem shown on the node and on the field, version
history with a diff and a restore, and the workflows list (search, import, duplicate, archive)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from web_testkit import Server, create_workflow, shot

pytestmark = pytest.mark.timeout(300)


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def two_nodes(server: Server, name: str) -> str:
    return create_workflow(
        server,
        {
            "name": name,
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "tag",
                    "type": "data.set",
                    "params": {"fields": [{"name": "tagged", "value": "yes"}]},
                    "position": {"x": 300, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "tag"}],
        },
    )


def test_undo_and_redo_a_deletion(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto(f"/editor/{two_nodes(server, 'Undo me')}")
    expect(node(page, "tag")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    node(page, "tag").click()
    page.keyboard.press("Delete")
    expect(node(page, "tag")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(0)

    page.keyboard.press("Control+z")
    expect(node(page, "tag")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    page.keyboard.press("Control+Shift+z")
    expect(node(page, "tag")).to_have_count(0)

    page.get_by_role("button", name="Undo").click()  # the buttons do the same
    expect(node(page, "tag")).to_be_visible()
    page.get_by_role("button", name="Redo").click()
    expect(node(page, "tag")).to_have_count(0)
    expect(page.get_by_test_id("version-info")).to_contain_text("unsaved changes")


def test_paste_a_two_node_fragment(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto(f"/editor/{two_nodes(server, 'Paste into me')}")
    expect(node(page, "tag")).to_be_visible()
    fragment = {
        "nodes": [
            {"id": "tag", "type": "data.set", "params": {"fields": [{"name": "a", "value": "1"}]}},
            {"id": "cap", "type": "data.limit", "params": {"max_items": 1}},
        ],
        "edges": [{"source": "tag", "target": "cap"}],
    }
    # a paste from another tab or a text editor: a clipboard event carrying the JSON text
    page.locator(".react-flow__pane").click()
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData('text/plain', text);
            const ev = new ClipboardEvent('paste', {clipboardData: data, bubbles: true});
            document.dispatchEvent(ev);
        }""",
        json.dumps(fragment),
    )
    # 'tag' is taken, so the pasted copy is renamed and its edge follows it
    expect(node(page, "tag_1")).to_be_visible()
    expect(node(page, "cap")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(2)
    expect(page.get_by_role("status").filter(has_text="Pasted 2 node(s)")).to_be_visible()

    # the same fragment through the Paste dialog (keyboard users, no clipboard access)
    page.get_by_role("button", name="Paste JSON").click()
    page.get_by_label("Definition fragment JSON").fill(json.dumps(fragment))
    page.get_by_role("button", name="Add pasted nodes").click()
    expect(node(page, "tag_2")).to_be_visible()
    expect(node(page, "cap_1")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(3)

    # Ctrl+C copies the selection as definition JSON, Ctrl+V pastes it back as new nodes
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator(".react-flow__pane").click()
    node(page, "tag_2").click()
    node(page, "cap_1").click(modifiers=["Shift"])
    page.keyboard.press("Control+c")
    expect(page.get_by_role("status").filter(has_text="Copied 2 node(s)")).to_be_visible()
    copied = json.loads(page.evaluate("() => navigator.clipboard.readText()"))
    assert [n["id"] for n in copied["nodes"]] == ["tag_2", "cap_1"]
    assert copied["edges"] == [
        {"source": "tag_2", "target": "cap_1", "source_port": "main", "target_port": "main"}
    ]
    page.keyboard.press("Control+v")
    expect(node(page, "tag_3")).to_be_visible()
    expect(node(page, "cap_2")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(4)


def test_validation_problem_shows_on_node_and_field(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto(f"/editor/{two_nodes(server, 'Invalid on purpose')}")
    page.get_by_role("button", name="Add Webhook (trigger.webhook)").click()
    expect(node(page, "webhook")).to_be_visible()
    path = page.locator("#p_webhook_path")
    path.fill("not a valid path!")
    expect(node(page, "webhook")).to_contain_text("1 problem")
    group = page.locator(".form-group", has=path).last
    expect(group).to_contain_text("String should match pattern")
    problems = page.get_by_role("list", name="Problems of this node")
    expect(problems).to_contain_text("/params/path")

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Not saved")).to_be_visible()
    shot(page, "validation")

    path.fill("fine/path")
    expect(node(page, "webhook")).not_to_contain_text("problem")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()


def test_version_history_diff_and_restore(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto(f"/editor/{two_nodes(server, 'Versioned')}")
    node(page, "tag").click()
    page.locator("#p_tag_fields_0_value").fill("changed")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()

    page.get_by_role("button", name="Version history").click()
    history = page.get_by_role("dialog", name="Version history")
    history.get_by_label("Pick version 1 for diff").check()
    history.get_by_label("Pick version 2 for diff").check()
    history.get_by_role("button", name="Compare the two picked versions").click()
    diff = history.get_by_role("region", name="Diff of v1 and v2")
    expect(diff).to_contain_text("/nodes/tag/params/fields/0/value")
    expect(diff).to_contain_text('"yes" → "changed"')
    expect(diff).not_to_contain_text("/nodes/start")
    shot(page, "history")

    history.get_by_role("button", name="Restore version 1").click()
    expect(page.get_by_role("status").filter(has_text="Restored v1 as version 3")).to_be_visible()
    node(page, "tag").click()
    expect(page.locator("#p_tag_fields_0_value")).to_have_value("yes")


def test_tidy_up_moves_nodes_apart(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Stacked",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {"id": "a", "type": "logic.noop", "position": {"x": 0, "y": 0}},
                {"id": "b", "type": "logic.noop", "position": {"x": 0, "y": 0}},
            ],
            "edges": [{"source": "start", "target": "a"}, {"source": "a", "target": "b"}],
        },
    )
    page = owner_page
    page.goto(f"/editor/{wf}")
    expect(node(page, "b")).to_be_visible()
    before = {n: node(page, n).bounding_box() for n in ("start", "a", "b")}
    assert before["start"] == before["a"] == before["b"]  # all three on one spot
    page.get_by_role("button", name="Tidy up").click()
    expect(page.get_by_test_id("version-info")).to_contain_text("unsaved changes")
    page.wait_for_function(
        """() => {
            const xs = ['start', 'a', 'b'].map((id) =>
                document.querySelector(`.react-flow__node[data-id="${id}"]`)
                    .getBoundingClientRect().x);
            return xs[0] < xs[1] && xs[1] < xs[2];
        }"""
    )
    expect(page.get_by_role("img", name="Minimap")).to_be_visible()

    viewport = page.locator(".react-flow__viewport")
    before_zoom = viewport.get_attribute("style")
    page.get_by_role("button", name="Zoom in").click()
    expect(viewport).not_to_have_attribute("style", before_zoom or "")
    zoomed = viewport.get_attribute("style")
    page.get_by_role("button", name="Fit view").click()
    expect(viewport).not_to_have_attribute("style", zoomed or "")


def test_workflows_list_search_import_duplicate_archive(owner_page: Page, server: Server) -> None:
    page = owner_page
    two_nodes(server, "Alpha report")
    two_nodes(server, "Beta digest")
    page.goto("/")
    page.get_by_label("Search workflows").fill("alpha")
    table = page.get_by_role("table", name="Workflows")
    expect(table).to_contain_text("Alpha report")
    expect(table).not_to_contain_text("Beta digest")
    page.get_by_label("Search workflows").fill("")

    page.get_by_role("button", name="Import workflow").click()
    page.get_by_label("Paste definition").fill(
        "name: From YAML\nnodes:\n  - id: start\n    type: trigger.manual\nedges: []\n"
    )
    page.get_by_role("button", name="Import pasted definition").click()
    expect(page.get_by_label("Workflow name")).to_have_value("From YAML")
    expect(node(page, "start")).to_be_visible()

    page.goto("/")
    page.get_by_role("button", name="Duplicate Beta digest").click()
    expect(table).to_contain_text("Beta digest (copy)")
    page.get_by_role("button", name="Archive Beta digest (copy)").click()
    expect(table).not_to_contain_text("Beta digest (copy)")
    page.get_by_label("Show archived").check()
    expect(table.locator("tr", has_text="Beta digest (copy)")).to_contain_text("archived")
    shot(page, "workflows")


def test_keyboard_only_add_connect_and_save(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.goto(f"/editor/{two_nodes(server, 'Keyboard only')}")
    expect(node(page, "tag")).to_be_visible()
    page.get_by_label("Search nodes").focus()
    page.keyboard.type("data.limit")
    page.keyboard.press("Tab")  # the one matching palette entry
    expect(page.get_by_role("button", name="Add Limit (data.limit)")).to_be_focused()
    page.keyboard.press("Enter")
    expect(node(page, "limit")).to_be_visible()
    page.locator("#p_limit_max_items").focus()
    page.keyboard.type("3")
    page.get_by_label("Search nodes").focus()
    page.keyboard.press("Enter")  # Enter in the search adds the first match
    expect(node(page, "limit_1")).to_be_visible()
    page.keyboard.press("Control+z")  # in the search field: the browser's text undo, not ours
    expect(node(page, "limit_1")).to_be_visible()
    page.locator(".react-flow__pane").click()
    page.keyboard.press("Control+z")
    expect(node(page, "limit_1")).to_have_count(0)
    node(page, "limit").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name="Parameters of limit")).to_be_visible()

    node(page, "tag").focus()  # where Tab lands on the canvas
    page.keyboard.press("Enter")  # selects the focused node
    expect(page.get_by_role("region", name="Parameters of tag")).to_be_visible()
    page.get_by_label("Target node and port").focus()
    page.keyboard.press("ArrowDown")  # first target: limit · main (start is a trigger)
    expect(page.get_by_label("Target node and port")).to_have_value("limit|main")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".react-flow__edge")).to_have_count(2)

    page.locator("body").press("Control+s")
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()


def test_credential_picker_offers_the_nodes_credential_types(
    owner_page: Page, server: Server
) -> None:
    status, cred = server.api(
        "POST",
        "/credentials",
        {"name": "Partner key", "type": "api_key", "data": {"api_key": "s3"}},
    )
    assert status == 201, cred
    status, other = server.api(
        "POST",
        "/credentials",
        {"name": "Signing secret", "type": "hmac_secret", "data": {"secret": "x"}},
    )
    assert status == 201, other
    page = owner_page
    page.goto(f"/editor/{two_nodes(server, 'With a credential')}")
    page.get_by_role("button", name="Add Webhook (trigger.webhook)").click()
    picker = page.get_by_label("Credential api_key")
    expect(picker.locator("option")).to_have_text(["none", "Partner key"])  # api_key ones only
    page.locator("#p_webhook_path").fill("partner")
    page.locator("#p_webhook_auth").select_option("header_token")
    picker.select_option(label="Partner key")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    wf = page.url.rsplit("/", 1)[1]
    status, version = server.api("GET", f"/workflows/{wf}/versions/2")
    assert status == 200, version
    hook = next(n for n in version["definition"]["nodes"] if n["id"] == "webhook")
    assert hook["credentials"] == {"api_key": cred["id"]}


def test_saving_in_the_editor_keeps_the_workflows_test_cases(
    owner_page: Page, server: Server
) -> None:
    cases = [
        {
            "name": "tags it",
            "assertions": [{"check": "equals", "path": "0.tagged", "expected": "yes"}],
        }
    ]
    wf = create_workflow(
        server,
        {
            "name": "Tested in the editor",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "tag",
                    "type": "data.set",
                    "params": {"fields": [{"name": "tagged", "value": "yes"}]},
                    "position": {"x": 300, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "tag"}],
            "tests": cases,
        },
    )
    page = owner_page
    page.goto(f"/editor/{wf}")
    node(page, "tag").click()
    page.locator("#p_tag_fields_0_value").fill("still yes")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()
    status, body = server.api("GET", f"/workflows/{wf}/versions/2")
    assert status == 200, body
    (kept,) = body["definition"]["tests"]  # stored with its defaults filled in
    assert kept["name"] == "tags it"
    assert [(a["check"], a["path"], a["expected"]) for a in kept["assertions"]] == [
        ("equals", "0.tagged", "yes")
    ]
    assert body["definition"]["nodes"][1]["params"]["fields"][0]["value"] == "still yes"
