"""``/docs``: Swagger UI from files inside the package, never from a CDN.

The bundle and stylesheet are vendored by ``scripts/vendor_api_docs.py`` (version and hashes in
``docs_assets/VENDORED.json``). The page names each file with its subresource-integrity hash,
computed here from the bytes we serve, and is sent with :data:`DOCS_CSP`: scripts and styles
only from our own origin, no inline code, no connection to any other host. ``/docs/swagger``
shows the same page (older links), ``/docs/openapi.json`` the document.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath

__all__ = ["ASSETS_DIR", "DOCS_CSP", "VendoredSwaggerUI", "asset_integrity"]

ASSETS_DIR = Path(__file__).parent / "docs_assets"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'; object-src 'none'"
)
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_SERVED = ("swagger-ui-bundle.js", "swagger-ui.css", "init.js")


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    media_type: str
    integrity: str


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@cache
def _assets() -> dict[str, _Asset]:
    out = {}
    for name in _SERVED:
        body = (ASSETS_DIR / name).read_bytes()
        out[name] = _Asset(body, _MEDIA[Path(name).suffix], _sri(body))
    return out


def asset_integrity(name: str) -> str:
    """The ``sha384-...`` integrity of a served asset (as the page names it)."""
    return _assets()[name].integrity


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
def _docs_asset(name: FromPath[str]) -> Response[bytes]:
    asset = _assets().get(name)
    if asset is None:
        raise NotFoundException(f"no docs asset {name!r}")
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={"Cache-Control": "public, max-age=3600"},
    )


class VendoredSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI served from the package with SRI hashes (see the module docstring)."""

    def __init__(self, path: str | list[str] = "/swagger") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        base = request.app.openapi_config.path if request.app.openapi_config else "/docs"
        title = html.escape(str(openapi_schema["info"]["title"]))
        assets = _assets()

        def tag(name: str) -> str:
            url = html.escape(f"{base}/assets/{name}")
            integrity = assets[name].integrity
            if name.endswith(".css"):
                return f'<link rel="stylesheet" href="{url}" integrity="{integrity}">'
            return f'<script src="{url}" integrity="{integrity}"></script>'

        openapi = html.escape(f"{base}/openapi.json")
        page = (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title} API</title>\n{tag('swagger-ui.css')}\n</head>\n<body>\n"
            f'<div id="swagger-ui" data-openapi="{openapi}"></div>\n'
            f"{tag('swagger-ui-bundle.js')}\n{tag('init.js')}\n</body>\n</html>\n"
        )
        return page.encode()

    def receive_router(self, router: Router) -> None:
        router.register(_docs_asset)
