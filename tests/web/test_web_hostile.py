"""Hostile input in the browser: markup in names and params stays text, pasted junk adds
nothing, a sign-in `next` cannot leave the site, and a forged paste cannot touch a trigger."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect
from web_testkit import OWNER_EMAIL, OWNER_PASSWORD, Server, create_workflow, ensure_owner

pytestmark = pytest.mark.timeout(300)

MARKUP = '<img src=x onerror="window.__pwned = 1">'


def paste(page: Page, text: str) -> None:
    page.evaluate(
        """(text) => {
            const data = new DataTransfer();
            data.setData('text/plain', text);
            const ev = new ClipboardEvent('paste', {clipboardData: data, bubbles: true});
            document.dispatchEvent(ev);
        }""",
        text,
    )


def test_markup_in_names_and_params_stays_text(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": f"Evil {MARKUP}",
            "description": MARKUP,
            "nodes": [
                {"id": "start", "type": "trigger.manual", "name": MARKUP},
                {
                    "id": "tag",
                    "type": "data.set",
                    "params": {"fields": [{"name": "x", "value": MARKUP}]},
                },
            ],
            "edges": [{"source": "start", "target": "tag"}],
        },
    )
    page = owner_page
    page.goto("/")
    expect(page.get_by_role("link", name=f"Evil {MARKUP}", exact=True)).to_be_visible()
    page.goto(f"/editor/{wf}")
    expect(page.locator('.react-flow__node[data-id="start"]')).to_contain_text(MARKUP)
    page.locator('.react-flow__node[data-id="tag"]').click()
    expect(page.locator("#p_tag_fields_0_value")).to_have_value(MARKUP)
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator('.react-flow__node[data-id="tag"]').click()
    expect(page.get_by_role("region", name="Run of tag")).to_contain_text("onerror")
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("img[src=x]").count() == 0


def test_pasted_junk_adds_nothing(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server, {"name": "Paste junk", "nodes": [{"id": "start", "type": "trigger.manual"}]}
    )
    page = owner_page
    page.goto(f"/editor/{wf}")
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.locator(".react-flow__pane").click()
    junk = [
        "not json at all",
        '{"nodes": "nope"}',
        "[1, 2, 3]",
        json.dumps({"nodes": [{"id": "x"}, None, 7]}),  # no type: not a node
        "{" * 5000,
    ]
    for text in junk:
        paste(page, text)
        expect(page.get_by_role("status").filter(has_text="Nothing to paste")).to_be_visible()
    expect(page.locator(".react-flow__node")).to_have_count(1)
    # an id that is no id is replaced; an edge into a trigger, or to a node outside the
    # fragment, is dropped
    paste(
        page,
        json.dumps(
            {
                "nodes": [
                    {"id": "../../etc", "type": "logic.noop"},
                    {"id": "hook", "type": "trigger.webhook", "params": {"path": "p"}},
                ],
                "edges": [
                    {"source": "../../etc", "target": "hook"},
                    {"source": "../../etc", "target": "start"},
                ],
            }
        ),
    )
    expect(page.locator(".react-flow__node")).to_have_count(3)
    ids = [n.get_attribute("data-id") or "" for n in page.locator(".react-flow__node").all()]
    assert all(i.replace("_", "").isalnum() for i in ids), ids
    expect(page.locator(".react-flow__edge")).to_have_count(0)


def test_sign_in_next_cannot_leave_the_site(page: Page, server: Server) -> None:
    ensure_owner(server)
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        page.goto(f"/login?next={target}")
        page.get_by_label("Email").fill(OWNER_EMAIL)
        page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
        assert page.url == f"{page.evaluate('() => location.origin')}/"
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
