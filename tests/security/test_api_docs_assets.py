"""Third-party script supply chain (#18, "/docs loads Scalar @latest from a CDN without SRI").

``/docs`` was a page that loaded whatever a CDN served as ``@latest``, on the API's own origin.
Now Swagger UI is vendored into the package (``scripts/vendor_api_docs.py``), every file is
named with its sha384 integrity, and the page's CSP allows scripts and styles only from our
origin and no connection elsewhere. A real Chromium renders the served page under that CSP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from security_testkit import Served

from reporunner.platform.api.app import create_app
from reporunner.platform.api.docs import ASSETS_DIR, DOCS_CSP
from reporunner.platform.settings import load_settings

CHROMIUM = os.environ.get("REPORUNNER_TEST_CHROMIUM", "/usr/bin/chromium")
_TAG = re.compile(r'<(?:script src|link rel="stylesheet" href)="([^"]+)" integrity="([^"]+)"')


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


async def test_docs_page_names_only_its_own_files_with_integrity(services: Any) -> None:
    settings = load_settings(database_url=services.database_url, redis_url=services.redis_url)
    async with AsyncTestClient(create_app(settings)) as client:
        for path in ("/docs", "/docs/swagger"):
            page = await client.get(path)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            csp = page.headers["content-security-policy"]
            assert csp == DOCS_CSP
            assert "unsafe-inline" not in csp
            assert "unsafe-eval" not in csp
            assert "http" not in csp  # no other host may serve code, styles or be called
            assert not re.search(r"(?:src|href)=\"(?:https?:)?//", page.text), page.text
            assert "<script>" not in page.text  # no inline code (the CSP would refuse it)
            tags = _TAG.findall(page.text)
            assert len(tags) == 3, page.text  # stylesheet, bundle, our init script
            for url, integrity in tags:
                asset = await client.get(url)
                assert asset.status_code == 200, url
                assert _sri(asset.content) == integrity, url
                assert asset.headers["content-type"].split(";")[0] in (
                    "text/javascript",
                    "text/css",
                )
        for probe in ("/docs/assets/..%2F..%2Fsettings.py", "/docs/assets/VENDORED.json"):
            assert (await client.get(probe)).status_code == 404, probe


def test_vendored_files_are_the_ones_the_refresh_script_recorded() -> None:
    manifest = json.loads((ASSETS_DIR / "VENDORED.json").read_text())
    assert manifest["package"] == "swagger-ui-dist"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])  # pinned, never "latest"
    for name, integrity in manifest["integrity"].items():
        assert _sri((ASSETS_DIR / name).read_bytes()) == integrity, f"{name} was edited by hand"
    assert (ASSETS_DIR / "LICENSE").exists()


@pytest.mark.timeout(180)
async def test_a_browser_renders_the_served_docs_under_the_csp(served: Served) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.async_api import async_playwright

    violations: list[str] = []
    foreign: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page()
            page.on(
                "console",
                lambda msg: (
                    violations.append(msg.text) if "Content Security Policy" in msg.text else None
                ),
            )
            page.on(
                "request",
                lambda req: None if req.url.startswith(served.base) else foreign.append(req.url),
            )
            await page.goto(f"{served.base}/docs")
            # Swagger UI fetched /docs/openapi.json and drew the operations
            await page.locator(".opblock-summary-path", has_text="/healthz").first.wait_for(
                timeout=60_000
            )
            assert await page.locator(".swagger-ui .info .title").inner_text() != ""
        finally:
            await browser.close()
    assert violations == []
    assert foreign == []
