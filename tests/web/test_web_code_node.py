"""A code node in the editor: its source is edited in a text area, saved, and run by the
served worker in its sandbox; the run's output shows what the user's function returned."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from web_testkit import Server, create_workflow, shot

pytestmark = pytest.mark.timeout(420)

FIRST = "def main(items, vars):\n    return items\n"
EDITED = (
    "def main(items, vars):\n"
    "    # a comment, and a second line\n"
    "    return [{'shout': item['who'].upper() + '!'} for item in items]\n"
)


def test_code_is_edited_in_a_text_area_and_runs_in_the_sandbox(
    owner_page: Page, server: Server
) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Code node",
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
                    "type": "code.python",
                    "params": {"code": FIRST},
                    "position": {"x": 300, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "shout"}],
        },
    )
    page = owner_page
    page.goto(f"/editor/{wf}")
    page.locator('.react-flow__node[data-id="shout"]').click()
    source = page.locator("textarea#p_shout_code")
    expect(source).to_have_value(FIRST)
    source.fill(EDITED)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Saved as version 2")).to_be_visible()

    page.get_by_role("button", name="Run", exact=True).click()
    dialog = page.get_by_role("dialog", name="Run input")
    dialog.get_by_label("Who").fill("ada")
    dialog.get_by_role("button", name="Start run").click()
    card = page.locator('.react-flow__node[data-id="shout"] .rr-node')
    # a deadline, not a wait: the served workers start beside the API and may still be importing
    expect(card).to_have_attribute("data-status", "succeeded", timeout=180_000)
    page.locator('.react-flow__node[data-id="shout"]').click()
    expect(page.get_by_role("region", name="Run of shout")).to_contain_text("ADA!")
    shot(page, "code-node")
