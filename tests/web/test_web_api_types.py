"""The web app's typed API client (web/src/api.ts) names the fields the server's OpenAPI
document gives each response model, so a renamed or removed field fails here, not in a browser."""

from __future__ import annotations

import re

import pytest
from web_testkit import WEB, Server

pytestmark = pytest.mark.timeout(120)

# TypeScript interface -> (OpenAPI schema, must the field sets be equal (False: a subset))
MIRRORS = {
    "Me": ("Me", True),
    "WorkflowOut": ("WorkflowOut", True),
    "VersionSummary": ("VersionSummary", True),
    "VersionOut": ("VersionOut", True),
    "ValidationOut": ("ValidationOut", True),
    "Problem": ("ProblemOut", True),
    "ExecutionOut": ("ExecutionOut", True),
    "NodeRunOut": ("NodeRunOut", True),
    "ExecutionPage": ("ExecutionPage", True),
    "CredentialOut": ("CredentialOut", False),
    "SessionOut": ("SessionOut", True),
    "PreviewOut": ("PreviewOut", True),
    "PreviewValue": ("PreviewValue", True),
}
INTERFACE = re.compile(r"export interface (\w+)(?: extends (\w+))? \{\n(.*?)\n\}", re.S)
FIELD = re.compile(r"^  (\w+)\??:", re.M)


def ts_interfaces() -> dict[str, set[str]]:
    source = (WEB / "src" / "api.ts").read_text()
    found: dict[str, set[str]] = {}
    for name, parent, body in INTERFACE.findall(source):
        found[name] = set(FIELD.findall(body)) | found.get(parent, set())
    return found


def test_client_types_match_the_openapi_document(server: Server) -> None:
    status, doc = server.api("GET", "/docs/openapi.json")
    assert status == 200, doc
    schemas = doc["components"]["schemas"]
    ts = ts_interfaces()
    for ts_name, (schema_name, equal) in MIRRORS.items():
        assert ts_name in ts, f"web/src/api.ts lacks interface {ts_name}"
        server_fields = set(schemas[schema_name]["properties"])
        if equal:
            assert ts[ts_name] == server_fields, (ts_name, ts[ts_name] ^ server_fields)
        else:
            assert ts[ts_name] <= server_fields, (ts_name, ts[ts_name] - server_fields)
