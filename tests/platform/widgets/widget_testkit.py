"""Helpers of the widget tests: a chat workflow, a widget, SSE parsing, a worker thread."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import AsyncTestClient

SHOP = "https://shop.example"

AGENT_CHAT = {
    "name": "support chat",
    "nodes": [
        {"id": "chat", "type": "trigger.chat"},
        {
            "id": "agent",
            "type": "ai.agent",
            "params": {
                "model": "scripted/widget",
                "prompt": "{{ trigger.message }}",
                "history": "{{ trigger.history }}",
                "stream": True,
            },
        },
    ],
    "edges": [{"source": "chat", "target": "agent"}],
}

ECHO_CHAT = {
    "name": "echo chat",
    "nodes": [
        {"id": "chat", "type": "trigger.chat"},
        {
            "id": "echo",
            "type": "data.set",
            "params": {"fields": [{"name": "text", "value": "echo: {{ trigger.message }}"}]},
        },
    ],
    "edges": [{"source": "chat", "target": "echo"}],
}


async def published_workflow(
    client: AsyncTestClient, headers: dict[str, str], definition: dict[str, Any]
) -> str:
    made = await client.post(
        "/workflows", params={"publish": "true"}, json=definition, headers=headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["workflow"]["id"])


async def new_widget(
    client: AsyncTestClient, headers: dict[str, str], workflow_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": "Help", "workflow_id": workflow_id, "allowed_origins": [SHOP], **fields}
    made = await client.post("/widgets", json=body, headers=headers)
    assert made.status_code == 201, made.text
    widget: dict[str, Any] = made.json()
    return widget


async def visitor(client: AsyncTestClient, public_id: str, origin: str = SHOP) -> str:
    made = await client.post(f"/public/widgets/{public_id}/visitors", headers={"Origin": origin})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def plain(body: dict[str, Any], origin: str = SHOP) -> dict[str, Any]:
    """Keyword arguments of a CORS simple POST: JSON sent as text/plain, with an Origin."""
    return {
        "content": json.dumps(body),
        "headers": {"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"},
    }
