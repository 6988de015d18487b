"""The copilot and chat pages' typed clients (web/src/copilot/api.ts, web/src/chat/api.ts) name
the fields the server's OpenAPI document gives each response model (as test_web_api_types.py
does for web/src/api.ts)."""

from __future__ import annotations

import pytest
from test_web_api_types import FIELD, INTERFACE
from web_testkit import WEB, Server

pytestmark = pytest.mark.timeout(120)

# file -> TypeScript interface -> (OpenAPI schema, must the field sets be equal (False: a subset))
MIRRORS = {
    "copilot/api.ts": {
        "CopilotStatus": ("StatusOut", True),
        "Explanation": ("ExplanationOut", True),
        "MissingCredential": ("MissingCredentialOut", True),
        "GenerateOut": ("GenerateOut", False),
        "EditOut": ("EditOut", True),
        "TurnOut": ("TurnOut", True),
        "ThreadOut": ("ThreadOut", True),
        "ThreadMessage": ("ThreadMessageOut", True),
    },
    "chat/api.ts": {
        "ChatOut": ("ChatOut", False),
        "MessageOut": ("MessageOut", True),
        "MemoryOut": ("MemoryOut", True),
        "KnowledgeBase": ("KnowledgeBaseOut", False),
    },
}


def ts_interfaces(path: str) -> dict[str, set[str]]:
    source = (WEB / "src" / path).read_text()
    found: dict[str, set[str]] = {}
    for name, parent, body in INTERFACE.findall(source):
        found[name] = set(FIELD.findall(body)) | found.get(parent, set())
    return found


@pytest.mark.parametrize("path", sorted(MIRRORS))
def test_client_types_match_the_openapi_document(server: Server, path: str) -> None:
    status, doc = server.api("GET", "/docs/openapi.json")
    assert status == 200, doc
    schemas = doc["components"]["schemas"]
    ts = ts_interfaces(path)
    for ts_name, (schema_name, equal) in MIRRORS[path].items():
        assert ts_name in ts, f"web/src/{path} lacks interface {ts_name}"
        assert schema_name in schemas, (schema_name, sorted(schemas))
        server_fields = set(schemas[schema_name]["properties"])
        if equal:
            assert ts[ts_name] == server_fields, (ts_name, ts[ts_name] ^ server_fields)
        else:
            assert ts[ts_name] <= server_fields, (ts_name, ts[ts_name] - server_fields)
