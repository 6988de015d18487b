"""Sign-in in the browser: the owner's set-up link, sign out, a wrong and a right password,
and an invited viewer who sees a disabled Save and whose session the API refuses (403)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_testkit import (
    OWNER_EMAIL,
    OWNER_PASSWORD,
    PASSWORD_SET,
    Server,
    create_workflow,
    ensure_owner,
    shot,
    sign_in,
)

pytestmark = pytest.mark.timeout(300)


def test_owner_sets_up_from_the_link_then_signs_out_and_in(page: Page, server: Server) -> None:
    if PASSWORD_SET.is_set():
        pytest.skip("the set-up link was already used by another test")
    assert server.setup_url, "serve printed no set-up link:\n" + "".join(server.output)
    setup = urlsplit(server.setup_url)
    page.goto(f"{setup.path}?{setup.query}")
    expect(page.get_by_role("heading", name="Set up the owner account")).to_be_visible()
    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Name").fill("Olive Owner")
    page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
    page.get_by_label("Repeat password").fill(OWNER_PASSWORD)
    shot(page, "setup")
    page.get_by_role("button", name="Create owner account").click()
    PASSWORD_SET.set()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(page.get_by_label("Signed in as")).to_contain_text(OWNER_EMAIL)
    expect(page.get_by_label("Signed in as")).to_contain_text("owner")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/runs")  # signed out: every app page sends us to the sign-in form
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Email").fill(OWNER_EMAIL)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong email or password")
    shot(page, "login")

    page.get_by_label("Password", exact=True).fill(OWNER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()  # back to ?next=/runs

    page.goto(f"{setup.path}?{setup.query}")  # one use only
    expect(page.get_by_role("alert")).to_contain_text("already used")


def test_viewer_cannot_save(context: BrowserContext, page: Page, server: Server) -> None:
    ensure_owner(server)
    wf = create_workflow(
        server,
        {
            "name": "Viewer sees this",
            "nodes": [{"id": "start", "type": "trigger.manual"}],
            "edges": [],
        },
    )
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": "vera@example.com", "role": "viewer"}
    )
    assert status == 201, invite
    url = urlsplit(invite["url"])
    page.goto(f"{url.path}?{url.query}")
    expect(page.get_by_text("vera@example.com")).to_be_visible()
    page.get_by_label("Name").fill("Vera Viewer")
    page.get_by_label("Password", exact=True).fill("viewer password 1")
    page.get_by_label("Repeat password").fill("viewer password 1")
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_label("Signed in as")).to_contain_text("viewer")
    expect(page.get_by_role("button", name="New workflow", exact=True)).to_have_count(0)

    page.goto(f"/editor/{wf}")
    expect(page.locator('.react-flow__node[data-id="start"]')).to_be_visible()
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_disabled()
    shot(page, "viewer-editor")

    # the session itself is refused by the API, CSRF token and all
    status = page.evaluate(
        """async (wf) => {
            const me = await (await fetch('/auth/me')).json();
            const res = await fetch(`/workflows/${wf}/versions`, {
                method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
                body: JSON.stringify(
                    {name: 'x', nodes: [{id: 's', type: 'trigger.manual'}], edges: []}),
            });
            return res.status;
        }""",
        wf,
    )
    assert status == 403


def test_session_without_csrf_token_is_refused(page: Page, server: Server) -> None:
    ensure_owner(server)
    sign_in(page)
    status = page.evaluate(
        """async () => (await fetch('/workflows', {
            method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(
                    {name: 'x', nodes: [{id: 's', type: 'trigger.manual'}], edges: []}),
        })).status"""
    )
    assert status == 403


def test_an_existing_account_joins_another_workspace_with_its_password(
    browser: Browser, server: Server
) -> None:
    """Walt accepts a first invitation as a new user (choosing a password), then one to a
    second workspace: that page asks for his current password instead, and he joins it."""
    ensure_owner(server)
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": "walt@example.com", "role": "viewer"}
    )
    assert status == 201, invite
    front = os.environ.get("REPORUNNER_WEB_TEST_FRONT") or server.base
    first = browser.new_context(base_url=front)
    first.set_default_timeout(15_000)
    page = first.new_page()
    url = urlsplit(invite["url"])
    page.goto(f"{url.path}?{url.query}")
    page.get_by_label("Name").fill("Walt")
    page.get_by_label("Password", exact=True).fill("walt password 12")
    page.get_by_label("Repeat password").fill("walt password 12")
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_label("Signed in as")).to_contain_text("viewer")
    first.close()
    status, made = server.api("POST", "/workspaces", {"slug": "walts-second"})
    assert status == 201, made
    status, invite = server.api(
        "POST",
        "/workspace/invitations",
        {"email": "walt@example.com", "role": "editor"},
        key=made["key"],
    )
    assert status == 201, invite
    second = browser.new_context(base_url=front)
    second.set_default_timeout(15_000)
    page = second.new_page()
    url = urlsplit(invite["url"])
    page.goto(f"{url.path}?{url.query}")
    expect(page.get_by_label("Current password")).to_be_visible()
    expect(page.get_by_label("Repeat password")).to_have_count(0)
    page.get_by_label("Current password").fill("not walt's password")
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_role("alert")).to_contain_text("current password")
    page.get_by_label("Current password").fill("walt password 12")
    shot(page, "invite-existing-account")
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_label("Signed in as")).to_contain_text("editor")
    second.close()
