"""The browser app (``web/``, built by Vite) served by the API at ``/``.

* ``/assets/*``: Vite's content-hashed files, ``Cache-Control: public, max-age=31536000,
  immutable`` (a new build has new names); Litestar's static files router refuses paths that
  leave the folder.
* ``/`` and every GET whose first path segment is not one of the API's and whose ``Accept``
  includes ``text/html`` (the SPA's own routes: ``/login``, ``/setup``, ``/invite``,
  ``/editor/<id>``, ``/runs``, ``/runs/<id>``): ``index.html`` with ``Cache-Control: no-cache``.
  API paths keep their JSON 404s; other clients get problem+json as before.
* Other files at the top of the build (``favicon.svg``...) are served as they are.

The build is found in ``REPORUNNER_WEB_DIR``, else inside the installed package
(``reporunner/platform/web_dist``, put there by the wheel build), else in ``web/dist`` of a
source checkout. Without a build, ``/`` answers one line saying how to make one.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import HTTPException
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.types import Scope

import reporunner.platform
from reporunner.platform.api.errors import exception_handlers as problem_handlers
from reporunner.platform.auth import PUBLIC_OPT
from reporunner.platform.settings import Settings

__all__ = [
    "BUILD_HINT",
    "is_app_file",
    "resolve_web_dir",
    "web_exception_handlers",
    "web_route_handlers",
    "web_state",
]

BUILD_HINT = (
    "The web app is not built: run `make run` (builds it with Node >= 20) or "
    "`cd web && npm ci && npm run build`; the API works without it (docs at /docs)."
)
ASSETS_CACHE = CacheControlHeader(public=True, max_age=31_536_000, immutable=True)
_STATE_KEY = "web_dir"
_API_SEGMENTS_KEY = "api_first_segments"


def resolve_web_dir(settings: Settings) -> Path:
    """Where the built app is (the folder may not exist yet: nothing is built)."""
    if settings.web_dir is not None:
        return settings.web_dir
    packaged = Path(reporunner.platform.__file__).resolve().parent / "web_dist"
    if (packaged / "index.html").is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[4]
    return checkout / "web" / "dist"


def _web_dir(app: Litestar) -> Path:
    found: Path = app.state[_STATE_KEY]
    return found


def _index(web_dir: Path) -> Response[Any]:
    index = web_dir / "index.html"
    if not index.is_file():
        return Response(
            BUILD_HINT + "\n", media_type="text/plain; charset=utf-8", status_code=200,
            headers={"Cache-Control": "no-cache"},
        )  # fmt: skip
    return Response(
        index.read_bytes(), media_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )  # fmt: skip


@get("/", opt={PUBLIC_OPT: True}, include_in_schema=False, name="web:index")
async def web_index(request: Request[Any, Any, Any]) -> Response[Any]:
    """The app's start page (or how to build it)."""
    return _index(_web_dir(request.app))


def _api_segments(app: Litestar) -> frozenset[str]:
    cached = app.state.get(_API_SEGMENTS_KEY)
    if cached is None:
        cached = frozenset(
            seg for route in app.routes if (seg := route.path.strip("/").split("/")[0])
        )
        app.state[_API_SEGMENTS_KEY] = cached
    segments: frozenset[str] = cached
    return segments


def _top_file(web_dir: Path, path: str) -> Path | None:
    """A file directly in the build folder named by ``path`` (never outside it)."""
    name = path.strip("/")
    if not name or "/" in name or "\\" in name or name.startswith(".") or name == "index.html":
        return None
    candidate = web_dir / name
    if candidate.is_file() and candidate.resolve().parent == web_dir.resolve():
        return candidate
    return None


def is_app_file(scope: Scope) -> bool:
    """Whether a request is for the app's static files: a GET/HEAD of ``/``, ``/assets/...``,
    a file at the top of the build, or an SPA route (``Accept: text/html``, a first path
    segment that is not the API's). The anonymous per-address limit skips these (a browser
    loading the app, or reloading it a few times, is not a flood of API calls); API paths,
    webhooks and 404s of other clients keep counting."""
    if scope.get("method") not in ("GET", "HEAD"):
        return False
    path: str = scope["path"]
    if path == "/" or path.startswith("/assets/"):
        return True
    app = scope["app"]
    if path.strip("/").split("/")[0] in _api_segments(app):
        return False
    if _top_file(_web_dir(app), path) is not None:
        return True
    for name, value in scope.get("headers", []):
        if name == b"accept":
            return b"text/html" in value and ".." not in path
    return False


def _spa_or_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """404 handler: the SPA's routes get ``index.html``; everything else problem+json."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if request.method in ("GET", "HEAD") and "route_handler" not in request.scope:
        first = path.strip("/").split("/")[0]
        if first not in _api_segments(request.app):
            web_dir = _web_dir(request.app)
            top = _top_file(web_dir, path)
            if top is not None:
                return Response(
                    top.read_bytes(), media_type=_media_type(top),
                    headers={"Cache-Control": "public, max-age=3600"},
                )  # fmt: skip
            if "text/html" in request.headers.get("accept", "") and ".." not in path:
                return _index(web_dir)
    handler = problem_handlers[HTTPException]
    response: Response[Any] = handler(request, exc)
    return response


def _media_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def web_route_handlers(settings: Settings) -> list[Any]:
    """``/`` and ``/assets`` (both public)."""
    web_dir = resolve_web_dir(settings)
    assets: Router = create_static_files_router(
        path="/assets",
        directories=[web_dir / "assets"],
        cache_control=ASSETS_CACHE,
        opt={PUBLIC_OPT: True},
        include_in_schema=False,
        name="web:assets",
    )
    return [web_index, assets]


def web_exception_handlers() -> dict[int | type[Exception], Any]:
    return {404: _spa_or_problem}


def web_state(settings: Settings) -> dict[str, Any]:
    return {_STATE_KEY: resolve_web_dir(settings)}
