"""Single sign-on without a browser: the ID token check (signature, issuer, audience, nonce,
expiry, algorithm), provider configuration by instance admins only and through the SSRF guard,
hostile bodies, the callback's state check, and password sign-in turned off while SSO is on.
The sign-in through a real provider is tests/web/test_web_sso.py."""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from signin_testkit import PASSWORD, browser, make_member

from reporunner.platform.sso.errors import SsoRefused
from reporunner.platform.sso.protocol import verify_id_token

ISSUER = "https://idp.example.com"
CLIENT = "reporunner"
NONCE = "n-0S6_WzA2Mj"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})


def _token(key: Any, header: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER, "aud": CLIENT, "sub": "u1", "iat": now, "exp": now + 300,
        "nonce": NONCE, **claims,
    }  # fmt: skip
    return jwt.encode(header or {"alg": "RS256", "kid": "k1"}, body, key)


def _check(token: str, key: RSAKey) -> dict[str, Any]:
    jwks = KeySet([key]).as_dict(private=False)
    return verify_id_token(token, jwks, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def test_a_right_id_token_passes(key: RSAKey) -> None:
    claims = _check(_token(key, email="a@example.com"), key)
    assert claims["sub"] == "u1"
    assert claims["email"] == "a@example.com"


@pytest.mark.parametrize(
    ("claims", "says"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"iss": "https://evil.example.com"}, "iss"),
        ({"nonce": "another-nonce"}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "authorized party"),
    ],
)
def test_a_wrong_claim_is_refused(key: RSAKey, claims: dict[str, Any], says: str) -> None:
    with pytest.raises(SsoRefused, match=says):
        _check(_token(key, **claims), key)


def test_a_missing_nonce_is_refused(key: RSAKey) -> None:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "u", "iat": now, "exp": now + 60}
    with pytest.raises(SsoRefused, match="nonce"):
        _check(jwt.encode({"alg": "RS256", "kid": "k1"}, body, key), key)


def test_signatures_of_other_keys_and_symmetric_algorithms_are_refused(key: RSAKey) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(SsoRefused, match="signature"):
        _check(_token(other), key)
    head, payload, signature = _token(key).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(SsoRefused, match="signature"):
        _check(f"{head}.{payload}.{flipped}", key)
    # "signed" with a shared secret (e.g. the client secret): no asymmetric key verifies it
    secret = OctKey.import_key("a shared secret that is long enough!!")
    with pytest.raises(SsoRefused, match="signature"):
        _check(_token(secret, {"alg": "HS256", "kid": "k1"}), key)
    with pytest.raises(SsoRefused, match="signature"):
        _check("not.a.token", key)


async def _make_instance_admin(pg_dsn: str, user_id: uuid.UUID) -> None:
    """Make the user an owner of the oldest workspace (what an instance admin is)."""
    with psycopg.connect(pg_dsn) as conn:
        oldest = conn.execute(
            "SELECT id FROM workspaces ORDER BY created_at, id LIMIT 1"
        ).fetchone()
        assert oldest is not None
        conn.execute(
            "INSERT INTO memberships (workspace_id, user_id, role) VALUES (%s, %s, 'owner') "
            "ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = 'owner'",
            (oldest[0], user_id),
        )


def _body(**over: Any) -> dict[str, Any]:
    return {
        "slug": f"idp-{uuid.uuid4().hex[:8]}", "name": "IdP", "issuer": "http://127.0.0.1:9/",
        "client_id": "c", "client_secret": "s3cret-value", **over,
    }  # fmt: skip


async def test_only_instance_admins_configure_providers(settings, services) -> None:
    await make_member(services.database_url)  # an older workspace than the next one
    member = await make_member(services.database_url)
    async with browser(settings) as client:
        listed = await client.get("/sso/providers", headers=member.headers)
        assert listed.status_code == 403
        assert listed.json()["code"] == "not_instance_admin"
        made = await client.post("/sso/providers", json=_body(), headers=member.headers)
        assert made.status_code == 403


async def test_issuer_goes_through_the_ssrf_guard(settings, services) -> None:
    admin = await make_member(services.database_url)
    await _make_instance_admin(services.pg_dsn, admin.user_id)
    async with browser(settings) as client:
        for issuer in ("http://127.0.0.1:9", "http://169.254.169.254", "http://localhost:8000"):
            made = await client.post(
                "/sso/providers", json=_body(issuer=issuer), headers=admin.headers
            )
            assert made.status_code == 422, made.text
            assert [p["pointer"] for p in made.json()["problems"]] == ["/issuer"]
            assert "REPORUNNER_OIDC_ALLOW_HOSTS" in made.json()["detail"]
    allowed = settings.model_copy(update={"oidc_allow_hosts": "127.0.0.1"})
    async with browser(allowed) as client:  # allowed, but nothing listens there
        made = await client.post("/sso/providers", json=_body(), headers=admin.headers)
        assert made.status_code == 422
        assert "cannot be reached" in made.json()["detail"]
        assert "REPORUNNER_OIDC_ALLOW_HOSTS" not in made.json()["detail"]
        listed = await client.get("/sso/providers", headers=admin.headers)
        assert listed.status_code == 200
        assert "s3cret-value" not in listed.text


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"slug": "../x"}, "slug"),
        ({"issuer": "ftp://idp.example.com"}, "issuer"),
        ({"issuer": "file:///etc/passwd"}, "issuer"),
        ({"scopes": "email profile"}, "scopes"),
        ({"client_secret": ""}, "client_secret"),
        ({"role_rules": [{"claim_value": "g", "workspace": "w", "role": "god"}]}, "role"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_hostile_provider_bodies_name_the_field(
    settings, services, over: dict[str, Any], field: str
) -> None:
    admin = await make_member(services.database_url)
    await _make_instance_admin(services.pg_dsn, admin.user_id)
    async with browser(settings) as client:
        made = await client.post("/sso/providers", json=_body(**over), headers=admin.headers)
        assert made.status_code == 400, made.text
        assert field in made.json()["detail"]
        assert "s3cret-value" not in made.text


async def test_callback_without_this_browsers_state_is_refused(settings, services) -> None:
    async with browser(settings) as client:
        for query in ("", "?code=x", "?code=x&state=abc"):
            response = await client.get(f"/auth/sso/any/callback{query}")
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "sso_state_invalid"
        client.cookies.set("rr_sso", "abc", path="/auth/sso")
        unknown = await client.get("/auth/sso/any/callback?code=x&state=abc")
        assert unknown.status_code == 400
        assert "unknown, expired or was finished" in unknown.json()["detail"]
        assert "rr_session" not in unknown.headers.get("set-cookie", "")
        refused = await client.get("/auth/sso/any/callback?error=access_denied&state=abc")
        assert refused.status_code == 401
        assert (await client.get("/auth/sso/nope/start")).status_code == 404


async def test_password_sign_in_can_be_turned_off_while_sso_is_on(settings, services) -> None:
    member = await make_member(services.database_url)
    off = settings.model_copy(update={"password_signin": False})
    login = {"email": member.email, "password": PASSWORD}
    slug = f"off-{uuid.uuid4().hex[:8]}"
    async with browser(off) as client:
        info = (await client.get("/auth/sso")).json()
        if not info["providers"]:  # no SSO on: passwords keep working (nobody is locked out)
            assert info["password_signin"] is True
            assert (await client.post("/auth/login", json=login)).status_code == 200
        with psycopg.connect(services.pg_dsn) as conn:
            conn.execute(
                "INSERT INTO oidc_providers (slug, name, issuer, client_id, key_id, nonce, "
                "ciphertext, scopes, enabled, settings) VALUES (%s, 'IdP', %s, 'c', 'k', '', "
                "'', 'openid', true, '{}')",
                (slug, "https://idp.example.com"),
            )
        try:
            info = (await client.get("/auth/sso")).json()
            assert info["password_signin"] is False
            assert slug in [p["slug"] for p in info["providers"]]
            refused = await client.post("/auth/login", json=login)
            assert refused.status_code == 403
            assert refused.json()["code"] == "password_signin_disabled"
        finally:
            with psycopg.connect(services.pg_dsn) as conn:
                conn.execute("DELETE FROM oidc_providers WHERE slug = %s", (slug,))
    async with browser(settings) as client:  # the default keeps passwords on
        assert (await client.post("/auth/login", json=login)).status_code == 200
