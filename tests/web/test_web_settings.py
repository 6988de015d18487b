"""The settings pages in the browser: a credential whose value never comes back, an invited
editor who signs in with their role (what it cannot do is disabled, and the API answers 403),
API keys shown once and revoked, a paused schedule, the audit log's filters, and hostile input
(HTML in names shown as text, an editor kept out of admin pages, a loopback MCP URL refused)."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError
from web_testkit import (
    OWNER_EMAIL,
    OWNER_PASSWORD,
    Server,
    clone_database,
    create_workflow,
    ensure_owner,
    free_port,
    shot,
    sign_in,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.timeout(300)


def _uid() -> str:
    return uuid.uuid4().hex[:8]


class Bodies:
    """Every API answer the page received (text), to prove what never came back."""

    def __init__(self, page: Page) -> None:
        self.texts: list[str] = []
        page.on("response", self._keep)

    def _keep(self, response: Response) -> None:
        if "json" in (response.headers.get("content-type") or ""):
            try:
                self.texts.append(response.text())
            except PlaywrightError:  # a body the browser already dropped (a redirect's)
                return

    def contain(self, value: str) -> bool:
        return any(value in t for t in self.texts)


@pytest.fixture
def second_context(browser: Browser, server: Server) -> Iterator[BrowserContext]:
    """Another browser (own cookie jar) for the invited member."""
    ctx = browser.new_context(base_url=server.base, viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


def _api_from_page(page: Page, method: str, path: str, body: object) -> int:
    """Status of a request the signed-in page makes itself, CSRF token included."""
    return int(
        page.evaluate(
            """async ([method, path, body]) => {
                const me = await (await fetch('/auth/me')).json();
                const res = await fetch(path, {
                    method,
                    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
                    body: body === null ? undefined : JSON.stringify(body),
                });
                return res.status;
            }""",
            [method, path, body],
        )
    )


def test_credential_value_never_comes_back(owner_page: Page, server: Server) -> None:
    page = owner_page
    bodies = Bodies(page)
    secret = f"tok-{uuid.uuid4().hex}{uuid.uuid4().hex}"
    name = f"github-{_uid()}"
    page.goto("/settings/credentials")
    expect(page.get_by_role("heading", name="Credentials")).to_be_visible()
    page.get_by_role("button", name="New credential").click()
    form = page.get_by_role("form", name="New credential")
    form.get_by_label("Credential name").fill(name)
    form.get_by_label("Credential type").select_option(label="Bearer token")
    token = form.get_by_role("textbox", name="Token", exact=True)
    expect(token).to_have_attribute("type", "password")
    token.fill(secret)
    shot(page, "settings-credential-new")
    form.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text(f"Created {name}")
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Bearer token")
    expect(row.locator(".tag")).to_have_text(["token"])

    # edit: the field says it is set, shows no value; a rename keeps the stored token
    row.get_by_role("button", name=f"Edit {name}").click()
    edit = page.get_by_role("form", name="Edit credential")
    expect(edit.locator(".is-set")).to_have_attribute("aria-label", "token is set")
    expect(edit.get_by_role("textbox", name="Token", exact=True)).to_have_value("")
    edit.get_by_label("Credential name").fill(f"{name}-renamed")
    shot(page, "settings-credential-edit")
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved {name}-renamed")

    status, listed = server.api("GET", "/credentials")
    assert status == 200
    [mine] = [c for c in listed if c["name"] == f"{name}-renamed"]
    assert mine["fields_set"] == ["token"]
    page.reload()
    expect(page.get_by_role("row").filter(has_text=f"{name}-renamed")).to_be_visible()
    # neither any answer the page got, nor the page, nor a direct read holds the value
    assert bodies.texts, "the page made no API calls"
    assert not bodies.contain(secret)
    assert secret not in page.content()
    one = page.evaluate(f"async () => (await fetch('/credentials/{mine['id']}')).text()")
    assert secret not in one
    assert json.loads(one)["fields_set"] == ["token"]
    shot(page, "settings-credentials")


def test_invited_editor_signs_in_with_their_role(
    owner_page: Page, second_context: BrowserContext, server: Server
) -> None:
    page = owner_page
    email = f"eddie-{_uid()}@example.com"
    page.goto("/settings/members")
    form = page.get_by_role("form", name="Invite a member")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Invitation role").select_option("editor")
    form.get_by_role("button", name="Invite", exact=True).click()
    link = page.get_by_role("region", name="Invitation link")
    expect(link).to_contain_text(email)
    url = link.get_by_label("Invitation URL").inner_text().strip()
    assert "/invite?token=" in url
    pending = page.get_by_role("table", name="Pending invitations")
    expect(pending.get_by_role("row").filter(has_text=email)).to_contain_text("editor")
    shot(page, "settings-members-invited")
    # the link is shown once: after a reload the pending row has no link
    page.reload()
    expect(pending.get_by_role("row").filter(has_text=email)).to_be_visible()
    assert urlsplit(url).query.split("token=", 1)[1] not in page.content()

    invitee = second_context.new_page()
    errors: list[str] = []
    invitee.on("pageerror", lambda e: errors.append(str(e)))
    parts = urlsplit(url)
    invitee.goto(f"{parts.path}?{parts.query}")
    invitee.get_by_label("Name").fill("Eddie Editor")
    invitee.get_by_label("Password", exact=True).fill("editor password 1")
    invitee.get_by_label("Repeat password").fill("editor password 1")
    invitee.get_by_role("button", name="Join workspace").click()
    expect(invitee.get_by_label("Signed in as")).to_contain_text("editor")

    # members: the editor sees everyone, can change nothing
    invitee.goto("/settings/members")
    owner_row = invitee.get_by_role("row").filter(has_text="owner@example.com")
    expect(owner_row.get_by_role("combobox")).to_be_disabled()
    expect(owner_row.get_by_role("button", name="Remove")).to_be_disabled()
    expect(invitee.get_by_role("button", name="Invite", exact=True)).to_be_disabled()
    expect(invitee.get_by_role("table", name="Pending invitations")).to_have_count(0)
    shot(invitee, "settings-members-as-editor")
    # credentials: listed, not creatable; the audit log is an admin page
    invitee.goto("/settings/credentials")
    expect(invitee.get_by_role("button", name="New credential")).to_be_disabled()
    nav = invitee.get_by_role("navigation", name="Settings")
    expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    expect(nav.get_by_text("Audit log")).to_have_attribute("aria-disabled", "true")
    invitee.goto("/settings/audit")
    expect(invitee.get_by_role("alert")).to_contain_text("needs the admin role; you are editor")
    expect(invitee.get_by_role("table", name="Audit entries")).to_have_count(0)
    shot(invitee, "settings-audit-as-editor")
    # and the API refuses the session itself
    assert _api_from_page(invitee, "GET", "/audit", None) == 403
    assert (
        _api_from_page(
            invitee,
            "POST",
            "/credentials",
            {"name": "x", "type": "bearer_token", "data": {"token": "t"}},
        )
        == 403
    )
    assert (
        _api_from_page(invitee, "POST", "/workspace/invitations", {"email": f"x-{_uid()}@e.com"})
        == 403
    )
    assert not errors, errors

    # the owner sees the new member, and the invitation is no longer pending
    page.reload()
    expect(page.get_by_role("row").filter(has_text=email).first).to_contain_text("Eddie Editor")
    expect(pending.get_by_role("row").filter(has_text=email)).to_have_count(0)
    member_row = page.get_by_role("table", name="Members").get_by_role("row").filter(has_text=email)
    member_row.get_by_role("combobox").select_option("viewer")
    expect(member_row.get_by_role("combobox")).to_have_value("viewer")
    status, members = server.api("GET", "/workspace/members")
    assert status == 200
    assert {m["email"]: m["role"] for m in members}[email] == "viewer"


def test_invitation_revoked_from_the_page(owner_page: Page, server: Server) -> None:
    page = owner_page
    email = f"gone-{_uid()}@example.com"
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": email, "role": "viewer"}
    )
    assert status == 201, invite
    page.goto("/settings/members")
    page.get_by_role("button", name=f"Revoke invitation of {email}").click()
    pending = page.get_by_role("table", name="Pending invitations")
    expect(pending.get_by_role("row").filter(has_text=email)).to_have_count(0)
    token = invite["url"].split("token=", 1)[1]
    assert server.api("GET", f"/auth/invitations/{token}")[0] == 404


def test_api_key_shown_once_then_revoked(owner_page: Page, server: Server) -> None:
    page = owner_page
    page.on("dialog", lambda d: d.accept())
    name = f"ci-{_uid()}"
    page.goto("/settings/api-keys")
    form = page.get_by_role("form", name="New API key")
    form.get_by_label("Name (what the key is for)").fill(name)
    form.get_by_role("button", name="Create key").click()
    shown = page.get_by_role("region", name="New key")
    key = shown.get_by_label("Full API key").inner_text().strip()
    assert len(key) > 20
    shot(page, "settings-api-key-created")
    assert server.api("GET", "/workspace", key=key)[0] == 200
    page.reload()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("active")
    assert key not in page.content()
    row.get_by_role("button", name=f"Revoke {name}").click()
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name=f"Revoke {name}")).to_be_disabled()
    assert server.api("GET", "/workspace", key=key)[0] == 401

    # the audit log finds the revocation by action and by actor
    page.goto("/settings/audit")
    page.get_by_label("Action").fill("api_key.revoked")
    entries = page.get_by_role("table", name="Audit entries")
    # the unfiltered page may show first (the key's created and revoked rows): wait for the
    # filter's answer before reading the row (a locator that matches two rows fails at once)
    ours = entries.get_by_role("row").filter(has_text=name)
    expect(ours).to_have_count(1)
    expect(ours).to_contain_text("api_key.revoked")
    expect(entries.get_by_role("row").filter(has_text="api_key.created")).to_have_count(0)
    page.get_by_label("Actor").select_option(label="owner@example.com")
    expect(entries.get_by_role("row").filter(has_text=name)).to_be_visible()
    page.get_by_label("Since").fill("2099-01-01T00:00")
    expect(entries).to_contain_text("No entries match")
    shot(page, "settings-audit")


def test_pause_and_resume_a_schedule(owner_page: Page, server: Server) -> None:
    page = owner_page
    wf_name = f"Nightly {_uid()}"
    wf = create_workflow(
        server,
        {
            "name": wf_name,
            "nodes": [{"id": "tick", "type": "trigger.schedule", "params": {"cron": "0 3 * * *"}}],
            "edges": [],
        },
    )
    status, body = server.api("POST", f"/workflows/{wf}/versions/1/publish")
    assert status == 200, body
    page.goto("/settings/schedules")
    label = f"{wf_name} tick"
    expect(page.get_by_label(f"State of {label}")).to_have_text("active")
    expect(page.get_by_label(f"Next fire of {label}")).not_to_have_text("—")
    page.get_by_role("button", name=f"Pause {label}").click()
    expect(page.get_by_label(f"State of {label}")).to_have_text("paused")
    expect(page.get_by_label(f"Next fire of {label}")).to_have_text("—")
    shot(page, "settings-schedules-paused")
    [schedule] = [s for s in server.api("GET", "/schedules")[1] if s["workflow_id"] == wf]
    assert schedule["paused"] is True
    page.get_by_role("button", name=f"Resume {label}").click()
    expect(page.get_by_label(f"State of {label}")).to_have_text("active")
    [schedule] = [s for s in server.api("GET", "/schedules")[1] if s["workflow_id"] == wf]
    assert schedule["paused"] is False


def test_hostile_names_are_text_and_loopback_mcp_is_refused(
    owner_page: Page, server: Server
) -> None:
    page = owner_page
    name = f'<img src=x onerror="window.__pwned=1">{_uid()}'
    status, body = server.api(
        "POST", "/credentials", {"name": name, "type": "hmac_secret", "data": {"secret": "s"}}
    )
    assert status == 201, body
    page.goto("/settings/credentials")
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()
    assert page.locator("table img").count() == 0
    assert page.evaluate("() => window.__pwned") is None

    # a value the type refuses is named at its field, and nothing is created
    page.get_by_role("button", name="New credential").click()
    form = page.get_by_role("form", name="New credential")
    form.get_by_label("Credential name").fill(f"smtp-{_uid()}")
    form.get_by_label("Credential type").select_option(label="SMTP account")
    form.get_by_role("textbox", name="Host", exact=True).fill("smtp.example.com")
    form.get_by_role("spinbutton", name="Port", exact=True).fill("70000")
    form.get_by_role("button", name="Create").click()
    expect(form.get_by_role("alert")).to_contain_text("less than or equal to 65535")
    expect(page.get_by_role("alert").first).to_contain_text("/data/port")
    assert not [c for c in server.api("GET", "/credentials")[1] if c["type"] == "smtp"]

    page.goto("/settings/mcp-servers")
    form = page.get_by_role("form", name="Register an MCP server")
    form.get_by_label("Name (letters, digits, _ and -)").fill(f"local-{_uid()}")
    form.get_by_label("URL").fill("http://127.0.0.1:6379/mcp")
    form.get_by_role("button", name="Register").click()
    expect(page.get_by_role("alert")).to_contain_text("/url")
    expect(page.get_by_role("table", name="MCP servers")).to_contain_text("No MCP servers")
    shot(page, "settings-mcp-refused")

    good = f"docs-{_uid()}"
    form.get_by_label("Name (letters, digits, _ and -)").fill(good)
    form.get_by_label("URL").fill("https://mcp.example.com/mcp")
    form.get_by_role("button", name="Register").click()
    row = page.get_by_role("table", name="MCP servers").get_by_role("row").filter(has_text=good)
    expect(row).to_contain_text("streamable_http")
    expect(row).to_contain_text("0 cached")
    shot(page, "settings-mcp-servers")


def test_editor_cannot_reach_admin_pages(page: Page, server: Server) -> None:
    ensure_owner(server)
    email = f"ed-{_uid()}@example.com"
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": email, "role": "editor"}
    )
    assert status == 201, invite
    token = invite["url"].split("token=", 1)[1]
    status, _ = server.api(
        "POST", "/auth/invitations/accept", {"token": token, "password": "editor password 2"}
    )
    assert status == 200
    sign_in(page, email, "editor password 2")
    page.goto("/settings/audit")
    expect(page.get_by_role("alert")).to_contain_text("needs the admin role")
    page.goto("/settings/mcp-servers")
    expect(page.get_by_role("button", name="Register")).to_be_disabled()
    page.goto("/settings/api-keys")
    # an editor sees only their own keys: the owner's bootstrap key is not listed
    expect(page.get_by_role("table", name="API keys").get_by_role("row")).to_have_count(1)
    shot(page, "settings-api-keys-as-editor")


@pytest.fixture
def mcp_allowed_server(
    services: Any, web_build: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A second ``serve`` whose operator allows MCP servers on 127.0.0.1, so that it can
    register its own ``/mcp`` (the session's server refuses loopback, as it should)."""
    database_url, db_name = clone_database(services)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": re.sub(r"/\d+$", "/10", services.redis_url),
        "REPORUNNER_DATA_DIR": str(tmp_path_factory.mktemp("rr-web-mcp")),
        "REPORUNNER_QUEUE_NAME": f"reporunner:web-mcp:{uuid.uuid4().hex[:8]}",
        "REPORUNNER_LOG_LEVEL": "WARNING",
        "REPORUNNER_ANONYMOUS_RATE_LIMIT_PER_MINUTE": "0",
        "REPORUNNER_MCP_ALLOW_HOSTS": "127.0.0.1",
        "REPORUNNER_WORKERS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    proc, srv = start_server(env, port)
    try:
        yield srv
    finally:
        stop_server(proc)
        with psycopg.connect(services.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def test_registered_mcp_server_shows_its_tools(
    browser: Browser, mcp_allowed_server: Server
) -> None:
    srv = mcp_allowed_server
    assert srv.setup_url
    status, body = srv.api(
        "POST",
        "/auth/setup",
        {"token": srv.setup_url.split("token=", 1)[1], "email": OWNER_EMAIL,
         "password": OWNER_PASSWORD},
    )  # fmt: skip
    assert status == 200, body
    status, cred = srv.api(
        "POST",
        "/credentials",
        {"name": "own-key", "type": "bearer_token", "data": {"token": srv.api_key}},
    )
    assert status == 201, cred
    ctx = browser.new_context(base_url=srv.base, viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(30_000)
    try:
        page = ctx.new_page()
        sign_in(page)
        page.goto("/settings/mcp-servers")
        form = page.get_by_role("form", name="Register an MCP server")
        form.get_by_label("Name (letters, digits, _ and -)").fill("self")
        form.get_by_label("Description").fill("reporunner's own MCP server")
        form.get_by_label("URL").fill(f"{srv.base}/mcp")
        form.get_by_label("Credential (sent as auth)").select_option(label="own-key (bearer_token)")
        form.get_by_role("button", name="Register").click()
        row = (
            page.get_by_role("table", name="MCP servers").get_by_role("row").filter(has_text="self")
        )
        expect(row).to_contain_text("0 cached")
        row.get_by_role("button", name="Show tools of self").click()
        tools = page.get_by_role("list", name="Tools of self")
        expect(tools).to_contain_text("list_workflows")
        expect(tools).to_contain_text("validate_workflow")
        row.get_by_role("button", name="Refresh tools of self").click()
        expect(row).not_to_contain_text("0 cached")
        shot(page, "settings-mcp-tools")
        # the credential's value is not in the server's answer
        listed = page.evaluate("async () => (await fetch('/mcp-servers')).text()")
        assert srv.api_key not in listed
    finally:
        ctx.close()


def test_admin_never_acts_on_an_owner(page: Page, server: Server) -> None:
    ensure_owner(server)
    email = f"ada-{_uid()}@example.com"
    status, invite = server.api("POST", "/workspace/invitations", {"email": email, "role": "admin"})
    assert status == 201, invite
    token = invite["url"].split("token=", 1)[1]
    status, _ = server.api(
        "POST", "/auth/invitations/accept", {"token": token, "password": "admin password 3"}
    )
    assert status == 200
    sign_in(page, email, "admin password 3")
    page.goto("/settings/members")
    members = page.get_by_role("table", name="Members")
    owner_row = members.get_by_role("row").filter(has_text=OWNER_EMAIL)
    expect(owner_row.get_by_role("combobox")).to_be_disabled()
    expect(owner_row.get_by_role("button", name="Remove")).to_be_disabled()
    own_row = members.get_by_role("row").filter(has_text=email)
    expect(own_row.get_by_role("combobox")).to_be_enabled()
    expect(own_row.locator("option[value=owner]")).to_be_disabled()
    expect(page.get_by_label("Invitation role").locator("option[value=owner]")).to_be_disabled()
    expect(page.get_by_label("Invitation role").locator("option[value=admin]")).to_be_enabled()
    shot(page, "settings-members-as-admin")
    status, listed = server.api("GET", "/workspace/members")
    assert status == 200
    owner_id = next(m["user_id"] for m in listed if m["email"] == OWNER_EMAIL)
    path = f"/workspace/members/{owner_id}"
    assert _api_from_page(page, "PATCH", path, {"role": "viewer"}) == 403
    assert _api_from_page(page, "DELETE", path, None) == 403
    # the owner's keys are listed to an admin, not revocable by one
    page.goto("/settings/api-keys")
    keys = page.get_by_role("table", name="API keys")
    expect(keys.get_by_role("row").nth(1)).to_be_visible()
    owner_keys = keys.get_by_role("row").filter(has_text=OWNER_EMAIL)
    expect(owner_keys.first.get_by_role("button")).to_be_disabled()
    # and the audit log is open to an admin
    page.goto("/settings/audit")
    expect(page.get_by_role("table", name="Audit entries")).to_be_visible()
