"""``/mcp-servers`` bodies: a registered MCP server (never its credential's secrets)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["McpServerCreate", "McpServerOut", "McpServerUpdate", "McpToolOut"]

_NAME = r"^[a-zA-Z0-9_-]{1,40}$"


class McpServerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=_NAME,
        description="Unique in the workspace (letters, digits, '_', '-'); agents name it in an "
        "'mcp' tool and the model sees its tools as '<name>__<tool>'.",
    )
    description: str = Field(default="", max_length=2000, description="What the server is for.")
    transport: Literal["streamable_http", "sse", "stdio"] = Field(
        default="streamable_http",
        description="'streamable_http' or 'sse' (a url), or 'stdio' (an allow-listed command).",
    )
    url: str | None = Field(
        default=None,
        max_length=2000,
        description="Endpoint of an HTTP server, e.g. https://mcp.example.com/mcp. Private and "
        "loopback addresses are refused unless REPORUNNER_MCP_ALLOW_HOSTS allows them.",
    )
    command: str | None = Field(
        default=None,
        max_length=100,
        description="stdio only: the *name* of a command in REPORUNNER_MCP_STDIO_COMMANDS "
        "(never a command line).",
    )
    credential_id: uuid.UUID | None = Field(
        default=None,
        description="A bearer_token, api_key or basic_auth credential of this workspace, sent "
        "with every HTTP request to the server.",
    )
    timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Upper bound of one list or call (seconds)."
    )
    enabled: bool = Field(default=True, description="Disabled servers give agents no tools.")


class McpServerUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=_NAME, description="New name.")
    description: str | None = Field(default=None, max_length=2000, description="New description.")
    transport: Literal["streamable_http", "sse", "stdio"] | None = Field(
        default=None, description="New transport."
    )
    url: str | None = Field(default=None, max_length=2000, description="New url.")
    command: str | None = Field(default=None, max_length=100, description="New command name.")
    credential_id: uuid.UUID | None = Field(
        default=None, description="New credential (null removes it)."
    )
    timeout_s: float | None = Field(default=None, gt=0, le=600, description="New timeout.")
    enabled: bool | None = Field(default=None, description="Turn the server on or off.")


class McpToolOut(BaseModel):
    name: str = Field(description="The server's name for the tool.")
    description: str = Field(description="What the tool does.")
    input_schema: dict[str, Any] = Field(description="JSON Schema of its arguments.")


class McpServerOut(BaseModel):
    id: uuid.UUID = Field(description="Server id.")
    name: str = Field(description="Unique name in the workspace.")
    description: str = Field(description="What the server is for.")
    transport: str = Field(description="streamable_http, sse or stdio.")
    url: str | None = Field(description="Endpoint of an HTTP server.")
    command: str | None = Field(description="Allow-listed stdio command name.")
    credential_id: uuid.UUID | None = Field(description="Credential sent as auth (id only).")
    timeout_s: float = Field(description="Upper bound of one list or call (seconds).")
    enabled: bool = Field(description="Whether agents get its tools.")
    tools: list[McpToolOut] = Field(description="The cached tool list.")
    tools_refreshed_at: datetime | None = Field(description="When the tools were last listed.")
    created_at: datetime = Field(description="When it was registered.")
