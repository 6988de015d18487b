"""Publishing a workflow with a schedule trigger creates its schedule at once; archiving
disables it (the sync runs in the publish/archive transaction, not at the next loop pass)."""

from __future__ import annotations

import json

SCHEDULED = {
    "name": "every morning",
    "nodes": [
        {
            "id": "tick",
            "type": "trigger.schedule",
            "params": {"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"},
        },
        {"id": "noop", "type": "logic.noop"},
    ],
    "edges": [{"source": "tick", "target": "noop"}],
}


async def test_publish_and_archive_keep_schedules_in_step(client, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    created = await client.post("/workflows", content=json.dumps(SCHEDULED), headers=editor.headers)
    assert created.status_code == 201, created.text
    wf_id = created.json()["workflow"]["id"]
    assert (await client.get("/schedules", headers=editor.headers)).json() == []
    published = await client.post(f"/workflows/{wf_id}/versions/1/publish", headers=editor.headers)
    assert published.status_code == 200, published.text
    (schedule,) = (await client.get("/schedules", headers=editor.headers)).json()
    assert (schedule["cron"], schedule["timezone"], schedule["enabled"]) == (
        "0 8 * * 1-5",
        "Europe/Berlin",
        True,
    )
    assert schedule["next_fire_at"]
    archived = await client.post(f"/workflows/{wf_id}/archive", headers=editor.headers)
    assert archived.status_code == 200, archived.text
    (after,) = (await client.get("/schedules", headers=editor.headers)).json()
    assert after["enabled"] is False
