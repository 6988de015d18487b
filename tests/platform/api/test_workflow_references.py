"""A definition naming another workspace's credential, knowledge base or workflow is refused
when it is saved (422 with a pointer per id); the workspace's own ids are accepted."""

from __future__ import annotations

import json


def _definition(cred_id: str, kb_id: str, wf_id: str) -> dict:
    return {
        "name": "refs",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {
                "id": "fetch",
                "type": "http.request",
                "params": {"url": "https://example.com", "auth": "bearer_token"},
                "credentials": {"bearer_token": cred_id},
            },
            {
                "id": "search",
                "type": "knowledge.search",
                "params": {"knowledge_base": kb_id, "query": "x"},
            },
            {"id": "child", "type": "workflow.execute", "params": {"workflow_id": wf_id}},
        ],
        "edges": [
            {"source": "start", "target": "fetch"},
            {"source": "fetch", "target": "search"},
            {"source": "search", "target": "child"},
        ],
    }


async def _ids(client, tenant) -> tuple[str, str, str]:
    cred = await client.post(
        "/credentials",
        json={"name": "t", "type": "bearer_token", "data": {"token": "abc"}},
        headers=tenant.headers,
    )
    kb = await client.post("/knowledge-bases", json={"name": "kb"}, headers=tenant.headers)
    wf = await client.post(
        "/workflows",
        content=json.dumps(
            {"name": "child", "nodes": [{"id": "s", "type": "trigger.manual"}], "edges": []}
        ),
        headers=tenant.headers,
    )
    assert cred.status_code == 201, cred.text
    assert kb.status_code == 201, kb.text
    assert wf.status_code == 201, wf.text
    return cred.json()["id"], kb.json()["id"], wf.json()["workflow"]["id"]


async def test_ids_of_another_workspace_are_refused_at_save(client, tenant_factory) -> None:
    mine, theirs = await tenant_factory(role="owner"), await tenant_factory(role="owner")
    own_ids, other_ids = await _ids(client, mine), await _ids(client, theirs)
    refused = await client.post(
        "/workflows", content=json.dumps(_definition(*other_ids)), headers=mine.headers
    )
    assert refused.status_code == 422, refused.text
    pointers = {p["pointer"] for p in refused.json()["problems"]}
    assert pointers == {
        "/nodes/1/credentials/bearer_token",
        "/nodes/2/params/knowledge_base",
        "/nodes/3/params/workflow_id",
    }
    accepted = await client.post(
        "/workflows", content=json.dumps(_definition(*own_ids)), headers=mine.headers
    )
    assert accepted.status_code == 201, accepted.text
    wf_id = accepted.json()["workflow"]["id"]
    new_version = await client.post(
        f"/workflows/{wf_id}/versions",
        content=json.dumps(_definition(own_ids[0], other_ids[1], own_ids[2])),
        headers=mine.headers,
    )
    assert new_version.status_code == 422
    assert [p["pointer"] for p in new_version.json()["problems"]] == [
        "/nodes/2/params/knowledge_base"
    ]
