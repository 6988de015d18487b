"""The params form previews `{{ expressions }}` with the data of the workflow's latest run,
rendered by the server's sandbox; numbers and choices take an expression through "fx"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from web_testkit import Server, create_workflow, shot

pytestmark = pytest.mark.timeout(300)


def test_expressions_preview_with_the_last_run(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Preview me",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {
                    "id": "set",
                    "type": "data.set",
                    "params": {"fields": [{"name": "greeting", "value": "hi {{ item.who }}"}]},
                    "position": {"x": 260, "y": 0},
                },
                {
                    "id": "pause",
                    "type": "logic.wait",
                    "params": {"amount": 0},
                    "position": {"x": 520, "y": 0},
                },
            ],
            "edges": [{"source": "start", "target": "set"}, {"source": "set", "target": "pause"}],
        },
    )
    status, run = server.api(
        "POST",
        f"/workflows/{wf}/executions?wait=true&timeout=60",
        {"input": {"who": "Ada", "n": 7}},
    )
    assert status == 201, run
    assert run["status"] == "succeeded", run

    page = owner_page
    page.goto(f"/editor/{wf}")
    page.locator('.react-flow__node[data-id="set"]').click()
    preview = page.get_by_role("region", name="Expression preview")
    expect(preview).to_contain_text(f"Expressions with the data of run {run['id'][:8]}")
    line = preview.locator('[data-pointer="/fields/0/value"]')
    expect(line.get_by_test_id("preview-value")).to_have_text("hi Ada")
    # an edit is previewed by the server's engine (filters and all)
    page.locator("#p_set_fields_0_value").fill("{{ item.who | upper }} x{{ item.n * 2 }}")
    expect(line.get_by_test_id("preview-value")).to_have_text("ADA x14")
    # that was the unsaved draft: the saved version still holds the old expression
    expect(page.get_by_test_id("version-info")).to_contain_text("unsaved changes")
    status, v1 = server.api("GET", f"/workflows/{wf}/versions/1")
    assert status == 200, v1
    saved_set = next(n for n in v1["definition"]["nodes"] if n["id"] == "set")
    assert saved_set["params"]["fields"][0]["value"] == "hi {{ item.who }}"
    page.locator("#p_set_fields_0_value").fill("{{ item.whom }}")
    expect(line).to_have_class("preview-line failed")
    expect(line.get_by_test_id("preview-value")).to_contain_text("whom")

    # a number param takes an expression through "fx"; the preview shows its native value
    page.locator('.react-flow__node[data-id="pause"]').click()
    panel = page.get_by_role("region", name="Parameters of pause")
    panel.get_by_role("button", name="Use an expression for Amount").click()
    panel.get_by_label("Amount expression").fill("{{ item.n }}")
    amount = page.get_by_role("region", name="Expression preview").locator(
        '[data-pointer="/amount"]'
    )
    expect(amount.get_by_test_id("preview-value")).to_have_text("7")
    shot(page, "expression-preview")
    # and the definition with it is valid: saving makes a version
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("version-info")).to_contain_text("v2")
    status, saved = server.api("GET", f"/workflows/{wf}/versions/2")
    assert status == 200, saved
    pause = next(n for n in saved["definition"]["nodes"] if n["id"] == "pause")
    assert pause["params"]["amount"] == "{{ item.n }}"
