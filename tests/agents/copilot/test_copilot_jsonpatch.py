"""JSON Patch (RFC 6902): the operations, their failures, and computed patches."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reporunner.agents.copilot import PatchFailed, apply_patch, make_patch

DOC: dict[str, Any] = {"a": {"b": [1, 2, 3]}, "c": "x", "d~/e": 1}


def test_every_operation() -> None:
    patch = [
        {"op": "add", "path": "/a/b/-", "value": 4},
        {"op": "add", "path": "/a/b/0", "value": 0},
        {"op": "remove", "path": "/a/b/1"},
        {"op": "replace", "path": "/c", "value": "y"},
        {"op": "move", "from": "/c", "path": "/moved"},
        {"op": "copy", "from": "/moved", "path": "/copied"},
        {"op": "test", "path": "/copied", "value": "y"},
        {"op": "replace", "path": "/d~0~1e", "value": 2},
    ]
    before = copy.deepcopy(DOC)
    assert apply_patch(DOC, patch) == {
        "a": {"b": [0, 2, 3, 4]},
        "moved": "y",
        "copied": "y",
        "d~/e": 2,
    }
    assert before == DOC  # the input is never changed


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "remove", "path": "/nope"}, "'nope' does not exist"),
        ({"op": "replace", "path": "/a/b/7", "value": 1}, "index 7 is out of range"),
        ({"op": "add", "path": "/a/b/x", "value": 1}, "'x' is not an array index"),
        ({"op": "test", "path": "/c", "value": "z"}, "test failed at /c"),
        ({"op": "frobnicate", "path": "/c"}, "'op' must be one of"),
        ({"op": "add", "path": "/c2"}, "needs 'value'"),
        ({"op": "move", "from": "/a", "path": "/a/b/x"}, "into itself"),
        ({"op": "add", "path": "c", "value": 1}, "must be empty or start with '/'"),
    ],
)
def test_failures_name_the_operation(op: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchFailed) as info:
        apply_patch(DOC, [{"op": "test", "path": "/c", "value": "x"}, op])
    assert message in info.value.detail
    assert info.value.detail.startswith("patch operation 1")
    assert info.value.status == 422


@pytest.mark.parametrize(
    "target",
    [
        {"a": {"b": [1, 2, 3, 4, 5]}, "c": "x", "d~/e": 1},
        {"a": {"b": [1]}, "c": "x", "d~/e": 1},
        {"a": {"b": [9, 2]}, "c": {"new": True}},
        {"a": {"b": [1, 2, 3]}, "c": "x", "d~/e": 1},
        [1, 2],
    ],
)
def test_make_patch_round_trips(target: Any) -> None:
    patch = make_patch(DOC, target)
    assert apply_patch(DOC, patch) == target
    if target == DOC:
        assert patch == []
