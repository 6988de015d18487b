"""Two-factor authentication in the browser: an invited editor turns TOTP on from the Account
page (QR code and key shown once), signs out, and signs in again with a code ``pyotp``
computes from the key the page showed, then with a recovery code, and renews the codes."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Page, expect
from web_testkit import Server, ensure_owner, shot

pytestmark = pytest.mark.timeout(300)

EMAIL = "tina@example.com"
PASSWORD = "tina's long password"


def _sign_in_with_password(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()


def test_enrol_sign_out_and_sign_in_with_a_code(page: Page, server: Server) -> None:
    ensure_owner(server)
    status, invite = server.api(
        "POST", "/workspace/invitations", {"email": EMAIL, "role": "editor"}
    )
    assert status == 201, invite
    url = urlsplit(invite["url"])
    page.goto(f"{url.path}?{url.query}")
    page.get_by_label("Name").fill("Tina")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Join workspace").click()
    expect(page.get_by_label("Signed in as")).to_contain_text(EMAIL)

    page.goto("/account")
    page.get_by_role("button", name="Set up two-factor authentication").click()
    expect(page.get_by_role("img", name="QR code of the authenticator key")).to_be_visible()
    secret = page.get_by_label("Authenticator key").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    shot(page, "totp-enrol")
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_label("Recovery codes").locator("li")
    expect(codes).to_have_count(10)
    recovery, spare = (codes.nth(i).inner_text().strip() for i in range(2))
    expect(page.get_by_text("10 recovery codes left")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    _sign_in_with_password(page)
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong or already used")
    # the code of the next time step: the one that turned TOTP on is spent
    page.get_by_label("Authentication code").fill(totp.at(time.time() + 30))
    shot(page, "totp-code")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(page.get_by_label("Signed in as")).to_contain_text(EMAIL)

    page.get_by_role("button", name="Sign out").click()
    _sign_in_with_password(page)
    page.get_by_role("button", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(recovery)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    page.goto("/account")
    expect(page.get_by_text("9 recovery codes left")).to_be_visible()
    # a recovery code also proves the device for a new set of codes
    page.get_by_label("Code to turn off").fill(spare)
    page.get_by_role("button", name="New recovery codes").click()
    expect(page.get_by_label("Recovery codes").locator("li")).to_have_count(10)
    expect(page.get_by_text("10 recovery codes left")).to_be_visible()
