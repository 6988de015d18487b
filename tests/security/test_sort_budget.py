"""Sorts that outrun the render budget (#18: "a single sort of 1 M items overran the 2 s
expression budget (2.1 s)").

A sort is one uninterruptible call, so the deadline checked between steps cannot stop it: its
size bounds it instead. Expressions sort at most ``RenderLimits.max_sort_items`` (100,000)
items per ``sort``/``dictsort``/``groupby``, lists and iterators alike (an iterator is read
only up to the limit); the ``data.sort`` node sorts at most 250,000 items, off the event loop.
Both refusals name the limit.
"""

from __future__ import annotations

import pytest

from reporunner.nodes.builtin.data_sort import MAX_SORT_ITEMS, SortItems
from reporunner.nodes.errors import ExpressionError, NodeError
from reporunner.nodes.expressions import RenderLimits, render
from reporunner.nodes.testing import run_node

LIMIT = RenderLimits().max_sort_items
ROOMY = RenderLimits(max_seconds=120.0)
"""The default bounds but the time: these tests show the size bound, on a machine of any speed
(building and walking 1 M values may take longer than 2 s on a loaded one)."""


def test_expression_sorts_are_bounded_by_size() -> None:
    assert LIMIT == 100_000
    million = list(range(1_000_000, 0, -1))
    cases = [
        ("{{ vars.xs | sort }}", {"xs": million}, "1,000,000 items"),
        ("{{ vars.xs | sort(reverse=true) }}", {"xs": million[: LIMIT + 1]}, "100,001 items"),
        (
            "{{ vars.xs | map('string') | sort }}",  # an iterator: read only up to the limit
            {"xs": million},
            "more than 100,000 items",
        ),
        ("{{ vars.d | dictsort }}", {"d": {str(i): i for i in range(LIMIT + 1)}}, "100,001"),
        (
            "{{ vars.rows | groupby('k') }}",
            {"rows": [{"k": i % 7} for i in range(LIMIT + 1)]},
            "100,001",
        ),
    ]
    for source, variables, figure in cases:
        with pytest.raises(ExpressionError) as refused:
            render(source, {"vars": variables}, limits=ROOMY)
        message = str(refused.value)
        assert figure in message, message
        assert "over the limit of 100,000" in message
        assert "data.sort" in message


def test_expression_sorts_within_the_limit_still_work() -> None:
    xs = list(range(LIMIT, 0, -1))
    assert render("{{ vars.xs | sort }}", {"vars": {"xs": xs}}, limits=ROOMY) == sorted(xs)
    first = render("{{ vars.xs | map('abs') | sort | first }}", {"vars": {"xs": xs}}, limits=ROOMY)
    assert first == 1


async def test_the_data_sort_node_is_bounded_by_size() -> None:
    assert MAX_SORT_ITEMS == 250_000
    too_many = [{"n": i} for i in range(MAX_SORT_ITEMS + 1)]
    with pytest.raises(NodeError, match=r"250,001 items, over the limit of 250,000"):
        await run_node(SortItems, {"keys": [{"field": "n"}]}, {"main": too_many})
    out = await run_node(
        SortItems, {"keys": [{"field": "n", "order": "desc"}]}, {"main": too_many[:1000]}
    )
    assert [i["n"] for i in out.ports["main"][:3]] == [999, 998, 997]
