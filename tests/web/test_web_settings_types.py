"""The settings pages' typed client (web/src/settings/settingsApi.ts) names exactly the fields
the server's OpenAPI document gives each response model (see test_web_api_types.py)."""

from __future__ import annotations

import re

import pytest
from web_testkit import WEB, Server

pytestmark = pytest.mark.timeout(120)

# TypeScript interface -> OpenAPI schema
MIRRORS = {
    "Credential": "CredentialOut",
    "Member": "MemberOut",
    "Invitation": "InvitationOut",
    "InvitationCreated": "InvitationCreated",
    "ApiKey": "ApiKeyOut",
    "ApiKeyCreated": "ApiKeyCreated",
    "AuditEntry": "AuditEntryOut",
    "AuditPage": "AuditPage",
    "Schedule": "ScheduleOut",
    "McpTool": "McpToolOut",
    "McpServer": "McpServerOut",
}
INTERFACE = re.compile(r"export interface (\w+)(?: extends (\w+))? \{\n(.*?)\n\}", re.S)
FIELD = re.compile(r"^  (\w+)\??:", re.M)


def test_settings_types_match_the_openapi_document(server: Server) -> None:
    status, doc = server.api("GET", "/docs/openapi.json")
    assert status == 200, doc
    schemas = doc["components"]["schemas"]
    source = (WEB / "src" / "settings" / "settingsApi.ts").read_text()
    ts: dict[str, set[str]] = {}
    for name, parent, body in INTERFACE.findall(source):
        ts[name] = set(FIELD.findall(body)) | ts.get(parent, set())
    for ts_name, schema_name in MIRRORS.items():
        assert ts_name in ts, f"settingsApi.ts lacks interface {ts_name}"
        assert schema_name in schemas, f"the OpenAPI document lacks {schema_name}"
        server_fields = set(schemas[schema_name]["properties"])
        assert ts[ts_name] == server_fields, (ts_name, ts[ts_name] ^ server_fields)
