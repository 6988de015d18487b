"""Every route of the app answers 401 without a key, except an explicit public list.

A route added later without authentication fails this test.
"""

from __future__ import annotations

import re

from litestar import get
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app

PUBLIC = {
    "/healthz",
    "/readyz",
    # the web app's start page (the app itself signs in through /auth)
    "/",
    # browser sign-in: set-up and invitation links, sign-in, sign-out
    "/auth/setup",
    "/auth/setup/{token:str}",
    "/auth/login",
    "/auth/logout",
    "/auth/invitations/{token:str}",
    "/auth/invitations/accept",
    # single sign-on: the sign-in page's providers, the redirect to one and its callback
    "/auth/sso",
    "/auth/sso/{slug:str}/start",
    "/auth/sso/{slug:str}/callback",
}
# chat widgets' visitor routes check the page's origin and a signed visitor token instead
PUBLIC_PREFIXES = ("/docs", "/hooks/", "/assets", "/public/widgets/")


def _concrete(path: str) -> str:
    """Fill path parameters with a syntactically valid value of their type."""

    def value(match: re.Match[str]) -> str:
        kind = match.group(2) or "str"
        return {
            "uuid": "00000000-0000-0000-0000-000000000000",
            "int": "1",
            "path": "x/y",
        }.get(kind, "x")

    return re.sub(r"\{(\w+)(?::(\w+))?\}", value, path)


@get("/test/added-later")
async def added_later() -> dict[str, bool]:
    """Stands for a route someone adds later without thinking of auth."""
    return {"ok": True}


async def test_every_route_requires_a_key(settings) -> None:
    app = create_app(settings, extra_route_handlers=[added_later])
    checked: set[str] = set()
    async with AsyncTestClient(app) as client:
        for route in app.routes:
            if route.path in PUBLIC or route.path.startswith(PUBLIC_PREFIXES):
                continue
            for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
                response = await client.request(method, _concrete(route.path))
                assert response.status_code == 401, f"{method} {route.path} is not protected"
                checked.add(f"{method} {route.path}")
    public = [r.path for r in app.routes if r.path in PUBLIC]
    assert sorted(set(public)) == sorted(PUBLIC)
    assert "GET /test/added-later" in checked


async def test_public_routes_answer_without_a_key(settings) -> None:
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/docs/openapi.json")).status_code == 200
