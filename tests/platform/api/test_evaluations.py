"""``/evaluations`` through a real arq worker on the real Postgres and Redis, with the scripted
litellm provider: an agent and a chat workflow scored case by case (tokens and cost added
up), the judge, two runs compared, a run cancelled mid-case, and hostile or malformed input
answered 4xx naming the field."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from worker_testkit import ThreadWorker

from reporunner.agents.testing import Reply, ScriptedLLM, ScriptedRequest, scripted_llm
from reporunner.platform.api.app import create_app
from reporunner.platform.evaluations import Scorer, score
from reporunner.platform.settings import Settings

pytestmark = pytest.mark.timeout(300)


def echo_flow(prefix: str) -> dict[str, Any]:
    """A chat-triggered workflow answering ``prefix + message`` (no model needed)."""
    return {
        "name": "echo",
        "nodes": [
            {"id": "chat", "type": "trigger.chat"},
            {
                "id": "answer",
                "type": "data.set",
                "params": {
                    "fields": [{"name": "text", "value": prefix + "{{ trigger.message }}"}],
                    "keep_only_set": True,
                },
            },
        ],
        "edges": [{"source": "chat", "target": "answer"}],
    }


DATASET = {
    "name": "capitals",
    "scorers": [{"type": "contains"}],
    "cases": [
        {"name": "france", "input": "France", "expected": "Paris"},
        {"name": "japan", "input": "Japan", "expected": "Tokyo"},
        {
            "name": "json",
            "input": "as JSON",
            "expected": {"type": "object", "required": ["city"]},
            "scorers": [{"type": "json_schema"}],
        },
    ],
}


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with scripted_llm() as scripted:
        yield scripted


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    tuned = settings.model_copy(update={"queue_name": f"test:evals:{uuid.uuid4().hex}"})
    with ThreadWorker(tuned):
        async with AsyncTestClient(create_app(tuned)) as client:
            yield client


async def _post(api: AsyncTestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = await api.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _dataset(api: AsyncTestClient, headers: dict[str, str], body: Any = None) -> str:
    return str((await _post(api, "/evaluations/datasets", body or DATASET, headers))["id"])


async def _run(api: AsyncTestClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    out = await _post(api, "/evaluations/runs?wait=true&timeout=200", body, headers)
    assert out["status"] not in ("queued", "running"), out
    return dict(out)


async def test_an_agent_is_scored_case_by_case(api, tenant_factory, llm: ScriptedLLM) -> None:
    def answer(request: ScriptedRequest) -> Reply:
        asked = request.messages[-1]["content"]
        text = {"France": "Paris.", "Japan": "Kyoto, I think.", "as JSON": '{"city": "Rome"}'}
        return Reply(text[asked], prompt_tokens=100, completion_tokens=10)

    llm.plan(answer, answer, answer)
    tenant = await tenant_factory(role="editor")
    dataset = await _dataset(api, tenant.headers)
    agent = {"model": "scripted/evals", "system_prompt": "Name the capital."}
    out = await _run(api, tenant.headers, {"dataset_id": dataset, "target": {"agent": agent}})
    assert out["status"] == "succeeded", out
    by_name = {r["name"]: r for r in out["results"]}
    assert by_name["france"]["passed"] is True
    assert by_name["france"]["answer"] == "Paris."
    assert by_name["japan"]["passed"] is False
    assert by_name["japan"]["scores"][0]["message"] == "the answer does not contain Tokyo"
    assert by_name["json"]["passed"] is True
    summary = out["summary"]
    assert (summary["cases"], summary["done"], summary["passed"]) == (3, 3, 2)
    assert summary["mean_score"] == round(2 / 3, 4)
    assert summary["tokens_in"] == 300
    assert summary["tokens_out"] == 30
    assert llm.requests[0].messages[0]["content"] == "Name the capital."


async def test_a_chat_workflow_is_scored_and_two_runs_compare(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    created = await _post(api, "/workflows", echo_flow("Capital of "), tenant.headers)
    wf = created["workflow"]["id"]
    saved = await api.post(
        f"/workflows/{wf}/versions",
        content=json.dumps(echo_flow("Tokyo is the capital of ")),
        headers=tenant.headers,
    )
    assert saved.status_code == 201, saved.text
    dataset = await _dataset(api, tenant.headers)
    first = await _run(
        api, tenant.headers, {"dataset_id": dataset, "target": {"workflow_id": wf, "version": 1}}
    )
    second = await _run(
        api,
        tenant.headers,
        {"dataset_id": dataset, "target": {"workflow_id": wf, "version": 2}, "note": "v2"},
    )
    assert [r["answer"] for r in first["results"]][:2] == ["Capital of France", "Capital of Japan"]
    assert first["summary"]["passed"] == 0
    assert second["summary"]["passed"] == 1  # 'japan': the answer now holds Tokyo
    compared = await api.get(
        f"/evaluations/runs/{first['id']}/compare/{second['id']}", headers=tenant.headers
    )
    assert compared.status_code == 200, compared.text
    body = compared.json()
    assert (body["better"], body["worse"], body["same"]) == (1, 0, 2)
    assert [c["name"] for c in body["cases"] if c["change"] == "better"] == ["japan"]
    listed = await api.get(f"/evaluations/runs?dataset_id={dataset}", headers=tenant.headers)
    assert [r["id"] for r in listed.json()] == [second["id"], first["id"]]


async def test_the_judge_scores_through_litellm(api, tenant_factory, llm: ScriptedLLM) -> None:
    llm.plan(Reply('{"pass": true, "reason": "names Paris"}', prompt_tokens=40))
    tenant = await tenant_factory(role="editor")
    created = await _post(api, "/workflows", echo_flow("Paris, capital of "), tenant.headers)
    dataset = await _dataset(
        api,
        tenant.headers,
        {
            "name": "judged",
            "cases": [
                {
                    "input": "France",
                    "scorers": [
                        {"type": "judge", "criteria": "names Paris", "model": "scripted/judge"}
                    ],
                }
            ],
        },
    )
    out = await _run(
        api,
        tenant.headers,
        {"dataset_id": dataset, "target": {"workflow_id": created["workflow"]["id"]}},
    )
    (result,) = out["results"]
    assert result["passed"] is True, result
    assert result["scores"][0]["message"] == "judge: names Paris"
    assert out["summary"]["tokens_in"] >= 40
    assert "Paris, capital of France" in llm.requests[0].messages[-1]["content"]


async def test_a_running_evaluation_is_cancelled_mid_case(api, tenant_factory) -> None:
    tenant = await tenant_factory(role="editor")
    slow = {
        "name": "slow",
        "nodes": [
            {"id": "chat", "type": "trigger.chat"},
            {"id": "pause", "type": "logic.wait", "params": {"amount": 600}},
        ],
        "edges": [{"source": "chat", "target": "pause"}],
    }
    created = await _post(api, "/workflows", slow, tenant.headers)
    dataset = await _dataset(api, tenant.headers)
    started = await _post(
        api,
        "/evaluations/runs",
        {"dataset_id": dataset, "target": {"workflow_id": created["workflow"]["id"]}},
        tenant.headers,
    )
    deadline = time.monotonic() + 120
    while True:
        now = (await api.get(f"/evaluations/runs/{started['id']}", headers=tenant.headers)).json()
        if now["status"] == "running":
            break
        assert time.monotonic() < deadline, now
    cancelled = await api.post(f"/evaluations/runs/{started['id']}/cancel", headers=tenant.headers)
    assert cancelled.status_code == 200, cancelled.text
    deadline = time.monotonic() + 120
    while True:
        now = (await api.get(f"/evaluations/runs/{started['id']}", headers=tenant.headers)).json()
        if now["status"] != "running":
            break
        assert time.monotonic() < deadline, now
    assert now["status"] == "cancelled"
    assert now["results"] == []  # the case in flight stopped and was not scored
    again = await api.post(f"/evaluations/runs/{started['id']}/cancel", headers=tenant.headers)
    assert again.status_code == 409


async def test_bad_input_is_refused_naming_the_field(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    h = editor.headers
    bad_regex = {
        "name": "x",
        "cases": [{"input": "a", "scorers": [{"type": "regex", "expected": "("}]}],
    }
    refused = await api.post("/evaluations/datasets", json=bad_regex, headers=h)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["pointer"] == "/cases/0/scorers/0"
    nothing = {"name": "x", "cases": [{"input": "a"}]}  # 'contains' with nothing to compare
    refused = await api.post("/evaluations/datasets", json=nothing, headers=h)
    assert refused.status_code == 422
    assert refused.json()["problems"][0]["pointer"] == "/cases/0/expected"
    too_many = {"name": "x", "cases": [{"input": "a", "expected": "b"}] * 501}
    assert (await api.post("/evaluations/datasets", json=too_many, headers=h)).status_code == 400
    dataset = await _dataset(api, h)
    both = {"dataset_id": dataset, "target": {"agent": {}, "workflow_id": str(uuid.uuid4())}}
    assert (await api.post("/evaluations/runs", json=both, headers=h)).status_code == 400
    wild = {"dataset_id": dataset, "target": {"agent": {"max_iterations": 999}}}
    refused = await api.post("/evaluations/runs", json=wild, headers=h)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["pointer"] == "/target/agent/max_iterations"
    ghost = {"dataset_id": dataset, "target": {"workflow_id": str(uuid.uuid4())}}
    assert (await api.post("/evaluations/runs", json=ghost, headers=h)).status_code == 404


async def test_roles_and_other_workspaces(api, tenant_factory) -> None:
    editor = await tenant_factory(role="editor")
    dataset = await _dataset(api, editor.headers)
    viewer = await tenant_factory(role="viewer")
    stranger = await tenant_factory(role="owner")
    denied = await api.post("/evaluations/datasets", json=DATASET, headers=viewer.headers)
    assert denied.status_code == 403
    for tenant in (viewer, stranger):
        seen = await api.get(f"/evaluations/datasets/{dataset}", headers=tenant.headers)
        assert seen.status_code == 404
    stolen = {"dataset_id": dataset, "target": {"agent": {"model": "scripted/x"}}}
    assert (
        await api.post("/evaluations/runs", json=stolen, headers=stranger.headers)
    ).status_code == 404
    gone = await api.delete(f"/evaluations/datasets/{dataset}", headers=editor.headers)
    assert gone.status_code == 204


async def test_similarity_uses_the_knowledge_embedding_model() -> None:
    from reporunner.knowledge.embeddings import embedder_for

    async def embed(texts: Any) -> list[list[float]]:
        return await embedder_for("sentence-transformers/all-MiniLM-L6-v2").embed(list(texts))

    near = await score(
        Scorer(type="similarity"), "The cat is sitting on the mat.", "A cat sat on a mat.",
        embed=embed,
    )  # fmt: skip
    far = await score(
        Scorer(type="similarity"), "Quarterly revenue grew by four percent.",
        "A cat sat on a mat.", embed=embed,
    )  # fmt: skip
    assert near["passed"] is True, near
    assert far["passed"] is False, far
    assert near["score"] > far["score"]
