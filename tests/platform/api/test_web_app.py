"""The built web app served at ``/``: immutable assets, SPA fallback, API 404s stay JSON.

A tiny fake build in a temporary folder (``REPORUNNER_WEB_DIR``) stands for Vite's output, so
these tests need no Node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from reporunner.platform.api.app import create_app
from reporunner.platform.api.web import BUILD_HINT
from reporunner.platform.settings import Settings

INDEX = "<!doctype html><title>reporunner</title><div id=root></div>"
ASSET = "console.log('app');"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-abc123.js").write_text(ASSET)
    (root / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture
async def web(settings: Settings, dist: Path) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings.model_copy(update={"web_dir": dist}))
    async with AsyncTestClient(app) as client:
        yield client


async def test_assets_are_immutable(web) -> None:
    response = await web.get("/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.text == ASSET
    cache = response.headers["cache-control"]
    assert "immutable" in cache
    assert "max-age=31536000" in cache
    assert "public" in cache


async def test_index_is_not_cached_and_spa_routes_fall_back(web) -> None:
    root = await web.get("/")
    assert root.status_code == 200
    assert root.text == INDEX
    assert root.headers["cache-control"] == "no-cache"
    assert root.headers["content-type"].startswith("text/html")
    for path in ("/editor/0b7e2f", "/runs", "/runs/abc", "/login", "/setup", "/invite"):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert response.text == INDEX, path
        assert response.headers["cache-control"] == "no-cache"


async def test_top_level_files_of_the_build_are_served(web) -> None:
    response = await web.get("/favicon.svg")
    assert response.status_code == 200
    assert response.text == "<svg/>"


async def test_api_clients_keep_json_404s(web) -> None:
    unknown = await web.get("/no-such-thing", headers=JSON)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    # under an API path, even a browser gets the API's answer, not the app
    for path in ("/workflows/not-a-uuid/x", "/executions/nope/nope"):
        response = await web.get(path, headers=HTML)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
    missing_asset = await web.get("/assets/nope.js", headers=HTML)
    assert missing_asset.status_code == 404
    assert missing_asset.headers["content-type"].startswith("application/problem+json")
    # an API route keeps answering 401 (not the app) to a browser without a session
    assert (await web.get("/workflows", headers=HTML)).status_code == 401


async def test_traversal_is_refused(web) -> None:
    for path in (
        "/assets/../secret.txt",
        "/assets/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/../../secret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
    ):
        response = await web.get(path)
        assert "outside the build" not in response.text, path
        assert response.status_code in (400, 404), (path, response.status_code)


async def test_without_a_build_root_says_how_to_build(settings: Settings, tmp_path: Path) -> None:
    app = create_app(settings.model_copy(update={"web_dir": tmp_path / "nothing"}))
    async with AsyncTestClient(app) as client:
        root = await client.get("/")
        spa = await client.get("/editor/x", headers=HTML)
    assert root.status_code == 200
    assert root.text.strip() == BUILD_HINT
    assert "npm run build" in root.text
    assert spa.text.strip() == BUILD_HINT


def test_a_source_checkout_serves_web_dist(settings: Settings) -> None:
    from reporunner.platform.api.web import resolve_web_dir

    root = Path(__file__).resolve().parents[3]
    assert resolve_web_dir(settings.model_copy(update={"web_dir": None})) == root / "web" / "dist"
    assert resolve_web_dir(settings.model_copy(update={"web_dir": root})) == root


async def test_app_files_skip_the_anonymous_limit(
    settings: Settings, dist: Path, frozen_rate_window: float
) -> None:
    limit = 3
    limited = settings.model_copy(
        update={"web_dir": dist, "anonymous_rate_limit_per_minute": limit}
    )
    async with AsyncTestClient(create_app(limited)) as client:
        # fill this client's anonymous bucket (earlier tests may have left some of it used)
        probes = [(await client.get("/readyz")).status_code for _ in range(limit + 1)]
        assert probes[-1] == 429, probes
        # the app still loads: start page, assets, top files, the SPA's routes
        for path, headers in [
            ("/", HTML),
            ("/assets/index-abc123.js", {}),
            ("/favicon.svg", {}),
            ("/editor/3f0c", HTML),
            ("/runs", HTML),
        ]:
            for _ in range(limit + 1):
                answer = await client.get(path, headers=headers)
                assert answer.status_code == 200, (path, answer.status_code)
        # what is not the app's keeps counting: API paths (even asking for HTML), webhooks
        assert (await client.get("/workflows", headers=HTML)).status_code == 429
        assert (await client.post("/hooks/nobody/x", json={})).status_code == 429
        assert (await client.get("/assets/../secret.txt")).status_code != 200
