"""The reference pages in docs/ name exactly what the code has: routes, settings (with their
defaults), CLI commands and options, and MCP tools — nothing missing, nothing stale."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer

from reporunner.platform.api.app import create_app
from reporunner.platform.cli import build_parser
from reporunner.platform.mcp.server import EDITOR_TOOLS, build_server
from reporunner.platform.settings import Settings, load_settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
PLAIN_ENV = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "otel_exporter_otlp_endpoint": "OTEL_EXPORTER_OTLP_ENDPOINT",
    "otel_service_name": "OTEL_SERVICE_NAME",
}
IGNORED_METHODS = {"OPTIONS", "HEAD"}


def _rows(page: str) -> list[list[str]]:
    """The cells of every table row of ``docs/<page>`` (header and rule rows left out)."""
    rows = []
    for line in (DOCS / page).read_text().splitlines():
        if not line.startswith("| ") or line.startswith("| ---"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
        rows.append(cells)
    return rows


def _code(cell: str) -> str:
    return cell.strip().strip("`")


# --- routes -------------------------------------------------------------------------------


def _app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves; ``ANY`` for a mounted ASGI app; the OpenAPI
    pages under /docs are the plugin's and are checked apart."""
    settings = load_settings(
        database_url="postgresql://user:password@127.0.0.1:1/unused",
        redis_url="redis://127.0.0.1:1",
    )
    found = set()
    for route in create_app(settings).routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path == "/docs" or path.startswith("/docs/"):
            continue
        methods = set(getattr(route, "methods", set()) or {"ANY"}) - IGNORED_METHODS
        found |= {(method, path) for method in methods}
    return found


def _documented_routes() -> set[tuple[str, str]]:
    found = set()
    for cells in _rows("api.md"):
        if len(cells) == 4 and cells[1].startswith("`/"):
            for method in cells[0].split(","):
                found.add((method.strip(), _code(cells[1])))
    return found


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    served, documented = _app_routes(), _documented_routes()
    assert len(served) > 50  # the app really was walked
    assert served - documented == set(), "routes missing from docs/api.md"
    assert documented - served == set(), "docs/api.md names routes the app does not serve"


def test_the_openapi_pages_are_named() -> None:
    text = (DOCS / "api.md").read_text()
    for path in ("`/docs`", "`/docs/swagger`", "`/docs/openapi.json`"):
        assert path in text


# --- settings -----------------------------------------------------------------------------


def _default_cell(name: str) -> str:
    field = Settings.model_fields[name]
    default: Any = field.get_default(call_default_factory=True)
    if default is None:
        return "(unset)"
    if default == "":
        return "(empty)"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, dict | list):
        return json.dumps(default)
    return str(default)


def test_every_setting_is_documented_with_its_default_and_nothing_else() -> None:
    documented = {
        _code(cells[0]): _code(cells[1])
        for cells in _rows("settings.md")
        if len(cells) == 3 and cells[0].startswith("`")
    }
    expected = {
        PLAIN_ENV.get(name, f"REPORUNNER_{name.upper()}"): _default_cell(name)
        for name in Settings.model_fields
    }
    assert set(expected) - set(documented) == set(), "settings missing from docs/settings.md"
    assert set(documented) - set(expected) == set(), "docs/settings.md names unknown settings"
    wrong = {env: (documented[env], default) for env, default in expected.items()}
    assert {env: pair for env, pair in wrong.items() if pair[0] != pair[1]} == {}


# --- CLI ----------------------------------------------------------------------------------


def _parser_commands() -> dict[str, set[str]]:
    """``"kb search"`` → its long options, for every leaf command of the parser."""
    found: dict[str, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            options = {
                o for a in parser._actions for o in a.option_strings if o.startswith("--")
            } - {"--help"}
            found[" ".join(words)] = options
            return
        for action in subs:
            for name, child in action.choices.items():
                walk(child, [*words, name])

    walk(build_parser(), [])
    return found


def _documented_commands() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for cells in _rows("cli.md"):
        usage = _code(cells[0])
        if not usage.startswith("reporunner "):
            continue
        words = [w for w in usage.split()[1:] if re.fullmatch(r"[a-z][a-z-]*", w)]
        found[" ".join(words)] = set(re.findall(r"--[a-z][a-z-]*", usage))
    return found


def test_every_cli_command_and_option_is_documented_and_exists() -> None:
    parsed, documented = _parser_commands(), _documented_commands()
    assert {"serve", "worker", "migrate", "kb search"} <= set(parsed)
    assert set(parsed) - set(documented) == set(), "commands missing from docs/cli.md"
    assert set(documented) - set(parsed) == set(), "docs/cli.md names unknown commands"
    for command, options in parsed.items():
        assert options == documented[command], f"options of `reporunner {command}`"


# --- MCP ----------------------------------------------------------------------------------


async def test_every_mcp_tool_is_documented_with_its_role() -> None:
    registered = {tool.name for tool in await MCPServer.list_tools(build_server())}
    documented = {
        _code(cells[0]): cells[1]
        for cells in _rows("mcp.md")
        if len(cells) == 3 and cells[0].startswith("`")
    }
    assert len(registered) > 5
    assert registered == set(documented), "docs/mcp.md and the MCP server disagree"
    editors = {name for name, role in documented.items() if role == "editor"}
    assert editors == EDITOR_TOOLS
