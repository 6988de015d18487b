"""Tests of ``data.template`` (the engine renders the template; the node writes it)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes.builtin.data_template import TextTemplate
from reporunner.nodes.expressions import render
from reporunner.nodes.testing import run_node


def _context(item: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": {}, "trigger": {}, "item": item, "vars": {}}


async def _as_engine(params: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Render params against the item as the engine does for an 'each' node, then run."""
    rendered = render(params, _context(item))
    out = await run_node(TextTemplate, rendered, {"main": [item]})
    [result] = out.ports["main"]
    return result


async def test_example_validates_and_runs_with_the_expression_engine() -> None:
    item = {"name": "Ann", "order_id": 42}
    out = await _as_engine(dict(TextTemplate.example), item)
    assert out == {**item, "message": "Hello Ann, your order 42 has shipped."}


async def test_filters_and_inline_ifs_render_per_item() -> None:
    params = {
        "template": "Tags: {{ item.tags | map('upper') | join(', ') }}"
        "{{ ' (many)' if item.tags | length > 1 else '' }}",
        "keep_fields": False,
    }
    assert await _as_engine(params, {"tags": ["a", "b"]}) == {"text": "Tags: A, B (many)"}


@pytest.mark.parametrize(
    ("template", "item", "expected"),
    [
        ("{{ item.n }}", {"n": 3}, "3"),
        ("{{ item.obj }}", {"obj": {"a": [1]}}, '{"a": [1]}'),
        ("{{ item.flag }}", {"flag": True}, "true"),
        ("{{ item.none }}", {"none": None}, ""),
    ],
)
async def test_native_values_are_written_as_text(
    template: str, item: dict[str, Any], expected: str
) -> None:
    out = await _as_engine({"template": template, "destination": "t.v"}, item)
    assert out["t"] == {"v": expected}


async def test_plain_text_without_engine() -> None:
    out = await run_node(TextTemplate, {"template": "static"}, {"main": [{"a": 1}, {"a": 2}]})
    assert out.ports["main"] == [{"a": 1, "text": "static"}, {"a": 2, "text": "static"}]


def test_template_is_required() -> None:
    with pytest.raises(ValidationError, match="template"):
        TextTemplate.Params.model_validate({"destination": "x"})
