"""logic.stop: raises a NodeError subclass carrying the rendered message."""

from __future__ import annotations

import pytest

from reporunner.nodes.builtin.logic_stop import Stop, WorkflowStopped
from reporunner.nodes.errors import NodeError
from reporunner.nodes.expressions import render
from reporunner.nodes.testing import run_node


async def test_stop_raises_with_the_rendered_message() -> None:
    item = {"id": 42}
    params = render(Stop.example, {"item": item, "nodes": {}, "trigger": {}, "vars": {}})
    with pytest.raises(WorkflowStopped) as info:
        await run_node(Stop, params, {"main": [item]})
    assert isinstance(info.value, NodeError)
    assert info.value.detail == "Order 42 has no customer email"
    assert info.value.extra == {"error_code": "missing_email"}
    assert info.value.code == "workflow_stopped"
    assert not info.value.retryable


def test_stop_has_no_outputs_and_needs_a_message() -> None:
    assert Stop.outputs == ()
    with pytest.raises(ValueError, match="at least 1 character"):
        Stop.Params.model_validate({"message": ""})
