"""GET /nodes serves the catalog to any member; unknown types get a suggestion."""

from __future__ import annotations


async def test_catalog_lists_every_registered_type(client, tenant_factory) -> None:
    viewer = await tenant_factory(role="viewer")
    response = await client.get("/nodes", headers=viewer.headers)
    assert response.status_code == 200
    types = {entry["type"] for entry in response.json()}
    assert {
        "trigger.manual",
        "http.request",
        "logic.merge",
        "ai.agent",
        "knowledge.search",
    } <= types
    http = next(e for e in response.json() if e["type"] == "http.request")
    assert http["description"]
    assert http["params"]["type"] == "object"


async def test_filter_by_category_and_one_type(client, tenant_factory) -> None:
    viewer = await tenant_factory(role="viewer")
    triggers = await client.get("/nodes?category=trigger", headers=viewer.headers)
    assert {e["category"] for e in triggers.json()} == {"trigger"}
    one = await client.get("/nodes/logic.if", headers=viewer.headers)
    assert one.status_code == 200
    assert one.json()["type"] == "logic.if"
    typo = await client.get("/nodes/logic.iff", headers=viewer.headers)
    assert typo.status_code == 422
    assert "logic.if" in typo.json()["detail"]


async def test_catalog_needs_a_key(client) -> None:
    assert (await client.get("/nodes")).status_code == 401
