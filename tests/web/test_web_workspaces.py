"""The workspace switcher: a member of two workspaces sees each with its own role (a viewer in
one cannot save, an editor in the other can) and only that workspace's data; the session stays
listed as the user's after a switch; a stale or foreign choice never reaches another tenant."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from web_testkit import Server, create_workflow, ensure_owner, shot

pytestmark = pytest.mark.timeout(300)


def _workflow(server: Server, name: str, key: str | None = None) -> str:
    definition = {"name": name, "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []}
    if key is None:
        return create_workflow(server, definition)
    status, made = server.api("POST", "/workflows", definition, key=key)
    assert status == 201, made
    return str(made["workflow"]["id"])


def test_a_member_of_two_workspaces_switches_with_its_role(
    context: BrowserContext, page: Page, server: Server
) -> None:
    ensure_owner(server)
    tag = uuid.uuid4().hex[:6]
    status, team = server.api("POST", "/workspaces", {"slug": f"team-{tag}", "name": f"Team {tag}"})
    assert status == 201, team
    team_key, team_id = team["key"], team["workspace"]["id"]
    status, other = server.api("POST", "/workspaces", {"slug": f"other-{tag}", "issue_key": True})
    assert status == 201, other
    here = _workflow(server, f"Home flow {tag}")
    there = _workflow(server, f"Team flow {tag}", key=team_key)
    _workflow(server, f"Other flow {tag}", key=other["key"])

    # Mona: a viewer in the first workspace (by invitation), an editor in the team's
    email = f"mona-{tag}@example.com"
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": email, "role": "viewer"}
    )
    assert status == 201, invite
    url = urlsplit(invite["url"])
    page.goto(f"{url.path}?{url.query}")
    page.get_by_label("Name").fill("Mona")
    page.get_by_label("Password", exact=True).fill("mona password 1")
    page.get_by_label("Repeat password").fill("mona password 1")
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_label("Signed in as")).to_contain_text("viewer")
    status, added = server.api(
        "POST", "/workspace/members", {"email": email, "role": "editor"}, key=team_key
    )
    assert status == 201, added

    page.goto("/")
    switcher = page.get_by_role("combobox", name="Workspace")
    expect(switcher.locator("option")).to_have_count(2)  # hers, never the third one
    expect(switcher.locator("option:checked")).to_contain_text("(viewer)")
    expect(page.get_by_role("link", name=f"Home flow {tag}", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Team flow {tag}", exact=True)).to_have_count(0)
    page.goto(f"/editor/{here}")
    expect(page.locator('.react-flow__node[data-id="start"]')).to_be_visible()
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_disabled()

    # switch: the app reloads at the list, in the team's workspace, with her role there
    switcher = page.get_by_role("combobox", name="Workspace")
    switcher.select_option(label=f"Team {tag} (editor)")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_label("Signed in as")).to_contain_text("editor")
    expect(page.get_by_role("link", name=f"Team flow {tag}", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Home flow {tag}", exact=True)).to_have_count(0)
    shot(page, "workspace-switched")
    page.goto(f"/editor/{there}")
    expect(page.locator('.react-flow__node[data-id="start"]')).to_be_visible()
    page.get_by_role("textbox", name="Workflow name").fill(f"Team flow {tag} v2")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_enabled()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("version-info")).to_contain_text("v2")
    # the first workspace's workflow is not found from here (no data crosses)
    status_there = page.evaluate(f"async () => (await fetch('/workflows/{here}')).status")
    assert status_there == 404

    # her session is still listed as hers (sessions belong to the user, not the workspace)
    sessions = page.evaluate("async () => (await fetch('/auth/sessions')).json()")
    assert [s["current"] for s in sessions].count(True) == 1, sessions

    # a choice naming a workspace that is not hers is ignored (her own answers), and the
    # header naming it is a 404 like any unknown one
    choose = "(id) => { document.cookie = `rr_workspace=${id}; Path=/; SameSite=Lax`; }"
    page.evaluate(choose, other["workspace"]["id"])
    page.goto("/")
    expect(page.get_by_label("Signed in as")).to_contain_text("viewer")
    expect(page.get_by_role("link", name=f"Home flow {tag}", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Other flow {tag}", exact=True)).to_have_count(0)
    foreign = page.evaluate(
        "async (id) => (await fetch('/workflows', {headers: {'X-Workspace': id}})).status",
        other["workspace"]["id"],
    )
    assert foreign == 404
    # signing out forgets the choice
    page.evaluate(choose, team_id)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    assert not [c for c in context.cookies() if c["name"] == "rr_workspace" and c["value"]]
