"""Single sign-on in the browser through a real OpenID provider (panva's ``oidc-provider``,
started on a local port by ``oidc_testkit.py``): an instance admin adds it, a new person signs
in with it from the sign-in page and lands with the role the ``groups`` claim maps to; the
callback refuses a wrong ``state``, a replayed code, an ID token for another audience and one
with a tampered signature, and no refusal leaves a session behind."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from oidc_testkit import LocalProvider, running_provider
from playwright.sync_api import Browser, Page, expect
from web_testkit import OWNER_EMAIL, Server, ensure_owner, shot

pytestmark = pytest.mark.timeout(300)

CALLBACK = "/auth/sso/test/callback"


@pytest.fixture(scope="module")
def provider(server: Server) -> Iterator[LocalProvider]:
    with running_provider([server.base + CALLBACK]) as running:
        ensure_owner(server)
        status, body = server.api(
            "POST",
            "/sso/providers",
            {
                "slug": "test",
                "name": "Test IdP",
                "issuer": running.issuer,
                "client_id": running.client_id,
                "client_secret": running.client_secret,
                "scopes": "openid email profile groups",
                "role_claim": "groups",
                "role_rules": [
                    {"claim_value": "rr-editors", "workspace": server.slug, "role": "editor"}
                ],
            },
        )
        assert status == 201, body
        try:
            yield running
        finally:
            server.api("DELETE", f"/sso/providers/{body['id']}")


def _start(page: Page) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    expect(page.locator('input[name="login"]')).to_be_visible()  # the provider's own form


def _provider_login(page: Page, email: str) -> None:
    page.locator('input[name="login"]').fill(email)
    page.locator('input[name="password"]').fill("anything")
    page.get_by_role("button", name="Sign-in").click()


def _signed_out(page: Page) -> bool:
    """No session cookie in the browser, and /auth/me with its cookies answers 401."""
    cookies = page.context.cookies()
    me = page.context.request.get("/auth/me")
    return me.status == 401 and not any(c["name"] == "rr_session" for c in cookies)


def _callback(query: dict[str, str]) -> str:
    return f"{CALLBACK}?{urlencode(query)}"


def test_sign_in_with_sso_creates_the_member_with_the_mapped_role(
    page: Page, server: Server, provider: LocalProvider
) -> None:
    _start(page)
    shot(page, "sso-provider-login")
    _provider_login(page, "sam@example.com")
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    expect(page.get_by_label("Signed in as")).to_contain_text("sam@example.com")
    expect(page.get_by_label("Signed in as")).to_contain_text("editor")
    status, audit = server.api("GET", "/audit?action=sso.*")
    assert status == 200, audit
    actions = {e["action"] for e in audit["items"]}
    assert {"sso.provider_created", "sso.user_created", "sso.role_mapped"} <= actions
    assert "sso.signed_in" in actions
    status, listed = server.api("GET", "/sso/providers")
    assert status == 200
    assert provider.client_secret not in str(listed)


def test_wrong_state_and_replayed_code_are_refused(
    browser: Browser, page: Page, server: Server, provider: LocalProvider
) -> None:
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if CALLBACK in r.url else None)
    _start(page)
    _provider_login(page, "rita@example.com")
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    assert len(callbacks) == 1
    used = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[0]).query).items()}

    # the same callback again: its state was taken (and its cookie cleared)
    again = page.goto(callbacks[0])
    assert again is not None
    assert again.status == 400
    assert "state" in again.text()

    # a second browser stops at the provider's form with a live sign-in of its own
    other = browser.new_context(base_url=server.base)
    try:
        second = other.new_page()
        _start(second)
        states = [c["value"] for c in other.cookies() if c["name"] == "rr_sso"]
        assert len(states) == 1
        wrong = second.goto(_callback({"code": used["code"], "state": "not-the-state"}))
        assert wrong is not None
        assert wrong.status == 400
        assert "state" in wrong.json()["detail"]
        # the right state with the first sign-in's code: the provider refuses the replay
        replayed = second.goto(_callback({"code": used["code"], "state": states[0]}))
        assert replayed is not None
        assert replayed.status == 401
        assert replayed.json()["code"] == "sso_refused"
        assert "authorization code" in replayed.json()["detail"]
        assert _signed_out(second)
    finally:
        other.close()


@pytest.mark.parametrize(("mode", "says"), [("audience", "aud"), ("signature", "signature")])
def test_a_tampered_id_token_is_refused(
    page: Page, provider: LocalProvider, mode: str, says: str
) -> None:
    _start(page)
    provider.next_id_token(mode)
    with page.expect_response(lambda r: CALLBACK in r.url) as info:
        _provider_login(page, f"{mode}@example.com")
    response = info.value
    assert response.status == 401
    body = response.json()
    assert body["code"] == "sso_refused"
    assert says in body["detail"]
    assert _signed_out(page)
    shot(page, f"sso-refused-{mode}")


def test_a_verified_address_signs_in_to_the_existing_account(
    page: Page, server: Server, provider: LocalProvider
) -> None:
    _start(page)
    _provider_login(page, OWNER_EMAIL)
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    # the password account of that address, with its own role (a claim never demotes an owner)
    expect(page.get_by_label("Signed in as")).to_contain_text(OWNER_EMAIL)
    expect(page.get_by_label("Signed in as")).to_contain_text("owner")


def test_an_unverified_address_is_refused(page: Page, provider: LocalProvider) -> None:
    _start(page)
    with page.expect_response(lambda r: CALLBACK in r.url) as info:
        _provider_login(page, "unverified-ursula@example.com")
    assert info.value.status == 401
    assert "verified e-mail" in info.value.json()["detail"]
    assert _signed_out(page)
