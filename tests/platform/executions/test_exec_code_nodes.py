"""Code nodes in a workflow run by a real arq worker (#22): Python then JavaScript, with the
run's metadata in ``vars``, and a failing snippet that fails the execution with its line."""

from __future__ import annotations

from typing import Any

from reporunner.nodes.registry import default_registry
from reporunner.platform.db.session import transaction
from reporunner.platform.engine.validate import validate
from reporunner.platform.executions import start_execution
from reporunner.platform.executions.service import get_execution
from reporunner.platform.resources import Resources
from reporunner.platform.worker import build_worker
from reporunner.platform.workflows import create_workflow

PYTHON = (
    "def main(items, vars):\n"
    "    return [{'name': item['name'].title(), 'run': vars['execution_id'],\n"
    "             'region': vars['vars']['region']} for item in vars['trigger']['people']]\n"
)
JAVASCRIPT = (
    "function main(items, vars) {\n"
    "  return items.map((item, i) => ({ ...item, rank: i + 1, node: vars.node_id }));\n"
    "}\n"
)


def _flow(python: str) -> dict[str, Any]:
    return {
        "name": "code nodes",
        "settings": {"vars": {"region": "eu"}},
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "py", "type": "code.python", "params": {"code": python}},
            {"id": "js", "type": "code.javascript", "params": {"code": JAVASCRIPT}},
        ],
        "edges": [{"source": "start", "target": "py"}, {"source": "py", "target": "js"}],
    }


async def _run(resources: Resources, tenant_factory: Any, flow: dict[str, Any]) -> Any:
    tenant = await tenant_factory()
    async with transaction(resources.sessions) as db:
        wf, _ = await create_workflow(db, tenant.workspace_id, flow, default_registry())
    started = await start_execution(
        resources, tenant.workspace_id, wf.id, {"people": [{"name": "ada"}, {"name": "alan"}]}
    )
    worker = build_worker(resources, burst=True, handle_signals=False)
    await worker.main()  # burst: returns once the queue is empty
    async with transaction(resources.sessions) as db:
        return await get_execution(db, tenant.workspace_id, started.id)


async def test_a_workflow_of_code_nodes_runs_on_a_worker(resources, tenant_factory) -> None:
    done = await _run(resources, tenant_factory, _flow(PYTHON))
    assert done.status == "succeeded", done.error
    run = str(done.id)
    assert done.result["final_items"] == [
        {"name": "Ada", "run": run, "region": "eu", "rank": 1, "node": "js"},
        {"name": "Alan", "run": run, "region": "eu", "rank": 2, "node": "js"},
    ]


async def test_a_failing_snippet_fails_the_run_with_its_line(resources, tenant_factory) -> None:
    broken = "def main(items, vars):\n    total = 0\n    return total / 0\n"
    done = await _run(resources, tenant_factory, _flow(broken))
    assert done.status == "failed"
    assert done.error is not None
    assert "ZeroDivisionError" in str(done.error)
    assert "(line 3)" in str(done.error)


def test_an_expression_in_the_source_is_refused_with_its_pointer() -> None:
    # data reaches the code only as items/vars: splicing a rendered value into source text
    # would be code injection, so "{{" in the code is a validation problem, never rendered
    injected = "def main(items, vars):\n    return [{'x': {{ trigger.body }}}]\n"
    problems = validate(_flow(injected), default_registry())
    assert [(p.pointer, p.code) for p in problems] == [
        ("/nodes/1/params/code", "literal_param_expression")
    ]
