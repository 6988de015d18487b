"""The app's shell: the top bar's links, a crashing page shows a message and a reload button
(never a blank screen), and the Account page (password change, sessions and revoking one)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from web_testkit import Server, create_workflow, shot, sign_in

pytestmark = pytest.mark.timeout(300)


def test_top_bar_links(owner_page: Page) -> None:
    page = owner_page
    nav = page.get_by_role("navigation", name="Main")
    for name, href in [
        ("Workflows", "/"),
        ("Executions", "/runs"),
        ("Chat", "/chat"),
        ("Knowledge", "/knowledge"),
        ("Settings", "/settings"),
    ]:
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_attribute("href", href)
    page.get_by_role("link", name="Account").click()
    expect(page).to_have_url("/account")
    expect(page.get_by_role("heading", name="Account")).to_be_visible()


def test_a_crashing_page_shows_a_message_and_reloads(owner_page: Page) -> None:
    page = owner_page

    def broken(route: Route) -> None:  # the API answers something the page cannot render
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"x": 1}))

    page.route("**/workflows?archived=false", broken)
    page.goto("/")
    crashed = page.get_by_role("alert", name="This page crashed")
    expect(crashed).to_contain_text("Something went wrong on this page")
    expect(page.get_by_test_id("crash-message")).not_to_be_empty()
    # the shell still stands: the top bar works
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    shot(page, "page-crashed")
    page.unroute("**/workflows?archived=false", broken)
    page.get_by_role("button", name="Reload page").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(crashed).to_have_count(0)
    # moving to another page after a crash starts afresh
    page.route("**/workflows?archived=false", broken)
    page.goto("/")
    expect(crashed).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    expect(crashed).to_have_count(0)


def _member(server: Server) -> tuple[str, str]:
    email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    status, invited = server.api(
        "POST", "/workspace/invitations", {"email": email, "role": "editor"}
    )
    assert status in (200, 201), invited
    token = invited["url"].split("token=", 1)[1]
    password = "first password of the member"
    status, body = server.api(
        "POST", "/auth/invitations/accept", {"token": token, "password": password, "name": "M"}
    )
    assert status == 200, body
    return email, password


def test_account_password_and_sessions(page: Page, browser: Browser, server: Server) -> None:
    email, password = _member(server)
    other = browser.new_context(base_url=server.base)
    try:
        phone = other.new_page()
        sign_in(phone, email, password)
        sign_in(page, email, password)
        page.goto("/account")
        sessions = page.get_by_role("table", name="Sessions")
        # accepting the invitation signed in too: three sessions, one of them this browser's
        expect(sessions.locator("tbody tr")).to_have_count(3)
        expect(sessions.locator("tbody tr", has_text="(this browser)")).to_have_count(1)
        shot(page, "account")
        # revoke the others (the phone's among them): its next page load asks it to sign in
        revoke = sessions.get_by_role("button", name="Revoke")
        expect(revoke).to_have_count(2)
        revoke.first.click()
        expect(sessions.locator("tbody tr")).to_have_count(2)
        revoke.first.click()
        expect(sessions.locator("tbody tr")).to_have_count(1)
        phone.goto("/runs")
        expect(phone).to_have_url("/login?next=%2Fruns")

        form = page.get_by_role("form", name="Change password")
        new = "second password of the member"
        form.get_by_label("Current password").fill("not the password")
        form.get_by_label("New password", exact=True).fill(new)
        form.get_by_label("New password again").fill(new)
        form.get_by_role("button", name="Change password").click()
        expect(form.get_by_role("alert")).to_contain_text("current password is wrong")
        form.get_by_label("Current password").fill(password)
        form.get_by_role("button", name="Change password").click()
        expect(form.get_by_role("status")).to_contain_text("Password changed")
        # this browser stays signed in; the new password signs in elsewhere
        page.reload()
        expect(page.get_by_role("heading", name="Account")).to_be_visible()
        sign_in(phone, email, new)
        expect(phone).not_to_have_url("/login")
    finally:
        other.close()


CONTROL = re.compile(
    r"^\s*- (button|link|textbox|combobox|checkbox|radio|spinbutton|slider|searchbox|switch)"
    r'(?! ")(.*)$'
)


def unnamed_controls(page: Page) -> list[str]:
    """Controls that the accessibility tree shows without a name (``- button`` instead of
    ``- button "Save"``)."""
    return [line.strip() for line in page.locator("body").aria_snapshot().splitlines()
            if CONTROL.match(line)]  # fmt: skip


def test_every_control_on_the_main_screens_has_a_name(owner_page: Page, server: Server) -> None:
    wf = create_workflow(
        server,
        {
            "name": "Labelled",
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 0, "y": 0}},
                {"id": "wait", "type": "logic.wait", "position": {"x": 260, "y": 0}},
            ],
            "edges": [{"source": "start", "target": "wait"}],
        },
    )
    page = owner_page
    screens = {}
    page.goto("/")
    expect(page.get_by_role("link", name="Labelled", exact=True)).to_be_visible()
    screens["workflows"] = unnamed_controls(page)
    page.goto(f"/editor/{wf}")
    page.locator('.react-flow__node[data-id="wait"]').click()
    expect(page.get_by_role("region", name="Parameters of wait")).to_be_visible()
    screens["editor"] = unnamed_controls(page)
    page.goto("/runs")
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    screens["executions"] = unnamed_controls(page)
    page.goto("/account")
    expect(page.get_by_role("table", name="Sessions").locator("tbody tr")).not_to_have_count(0)
    screens["account"] = unnamed_controls(page)
    assert screens == {name: [] for name in screens}, screens
