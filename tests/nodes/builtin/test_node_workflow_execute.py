"""``workflow.execute`` calls the engine's ``subworkflow`` service."""

from __future__ import annotations

import pytest

from reporunner.nodes.base import Item
from reporunner.nodes.builtin.workflow_execute import WorkflowExecute
from reporunner.nodes.errors import NodeError, NotFoundError
from reporunner.nodes.services import SubWorkflowRunner, SubWorkflowStarter
from reporunner.nodes.testing import NodeTestContext, run_node


class Runner:
    """A tiny stand-in: 'double' doubles each item's n; anything else does not exist."""

    def __init__(self) -> None:
        self.started: list[tuple[str, list[Item]]] = []

    async def run(self, workflow_id: str, items: list[Item]) -> list[Item]:
        if workflow_id != "double":
            raise NotFoundError(f"workflow '{workflow_id}' not found in this workspace")
        return [{"n": item["n"] * 2} for item in items]

    async def start(self, workflow_id: str, items: list[Item]) -> str:
        self.started.append((workflow_id, items))
        return "exec-sub-1"


async def test_wait_mode_outputs_the_sub_workflow_items() -> None:
    runner = Runner()
    assert isinstance(runner, SubWorkflowRunner)
    assert isinstance(runner, SubWorkflowStarter)
    ctx = NodeTestContext(services={"subworkflow": runner})
    out = await run_node(
        WorkflowExecute, {"workflow_id": "double"}, {"main": [{"n": 1}, {"n": 4}]}, ctx
    )
    assert out.ports["main"] == [{"n": 2}, {"n": 8}]
    with pytest.raises(NotFoundError, match="'nope' not found"):
        await run_node(WorkflowExecute, {"workflow_id": "nope"}, {"main": [{"n": 1}]}, ctx)


async def test_fire_and_forget_outputs_the_queued_execution() -> None:
    runner = Runner()
    ctx = NodeTestContext(services={"subworkflow": runner})
    params = {"workflow_id": "double", "mode": "fire_and_forget"}
    out = await run_node(WorkflowExecute, params, {"main": [{"n": 1}, {"n": 2}]}, ctx)
    assert out.ports["main"] == [
        {"workflow_id": "double", "execution_id": "exec-sub-1", "items_sent": 2}
    ]
    assert runner.started == [("double", [{"n": 1}, {"n": 2}])]


class WaitOnlyRunner:
    """Like the engine's in-process runner: it can run and wait, not start and forget."""

    async def run(self, workflow_id: str, items: list[Item]) -> list[Item]:
        return items


async def test_a_wait_only_runner_serves_wait_mode_and_explains_fire_and_forget() -> None:
    ctx = NodeTestContext(services={"subworkflow": WaitOnlyRunner()})
    out = await run_node(WorkflowExecute, {"workflow_id": "echo"}, {"main": [{"a": 1}]}, ctx)
    assert out.ports["main"] == [{"a": 1}]
    params = {"workflow_id": "echo", "mode": "fire_and_forget"}
    with pytest.raises(NodeError, match=r"does not implement SubWorkflowStarter.*use mode .wait."):
        await run_node(WorkflowExecute, params, {"main": [{"a": 1}]}, ctx)
