"""Expression engine: native values, interpolation, helpful errors, sandbox and bounds."""

from __future__ import annotations

from typing import Any

import pytest

from reporunner.nodes.errors import ExpressionError, Problem
from reporunner.nodes.expressions import (
    EXPRESSION_SYNTAX,
    RenderLimits,
    check,
    has_expressions,
    referenced_nodes,
    render,
)

# The size bounds are what these tests check, so the time budget must not answer first on a slow
# or busy machine (the render-time bound has its own test, with a zero budget).
SIZE_ONLY = RenderLimits(max_seconds=60.0)


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {
        "nodes": {
            "fetch": {
                "output": {"status": 200, "body": {"title": "Hello", "tags": ["a", "b"]}},
                "items": [{"n": 1}, {"n": 2}],
                "ports": {"main": [{"n": 1}, {"n": 2}]},
            }
        },
        "trigger": {"user": {"name": "Ada", "email": None}},
        "item": {"id": 7, "price": 2.5, "items": "a key, not the dict method"},
        "vars": {"base_url": "https://api.example.com"},
    }


def test_single_expression_returns_the_native_value(ctx: dict[str, Any]) -> None:
    assert render("{{ nodes.fetch.output.body }}", ctx) == {"title": "Hello", "tags": ["a", "b"]}
    assert render("  {{ item.price * 2 }} ", ctx) == 5.0
    assert render("{{ nodes.fetch.items | map(attribute='n') | list }}", ctx) == [1, 2]
    assert render("{{ item.id > 3 }}", ctx) is True
    assert render("{{ trigger.user.email }}", ctx) is None


def test_native_result_is_a_copy_not_an_alias(ctx: dict[str, Any]) -> None:
    body = render("{{ nodes.fetch.output.body }}", ctx)
    body["tags"].append("c")
    assert ctx["nodes"]["fetch"]["output"]["body"]["tags"] == ["a", "b"]


def test_interpolation_renders_json_for_objects(ctx: dict[str, Any]) -> None:
    assert render("{{ vars.base_url }}/items/{{ item.id }}", ctx) == (
        "https://api.example.com/items/7"
    )
    assert render("tags={{ nodes.fetch.output.body.tags }} ok={{ true }} e={{ none }}", ctx) == (
        'tags=["a", "b"] ok=true e='
    )


def test_nested_values_are_rendered_and_plain_strings_untouched(ctx: dict[str, Any]) -> None:
    raw = {"url": "{{ vars.base_url }}", "q": [{"id": "{{ item.id }}"}, "plain {x}"], "n": 3}
    assert render(raw, ctx) == {
        "url": "https://api.example.com",
        "q": [{"id": 7}, "plain {x}"],
        "n": 3,
    }


def test_dict_keys_win_over_dict_methods(ctx: dict[str, Any]) -> None:
    assert render("{{ item.items }}", ctx) == "a key, not the dict method"
    assert render("{{ nodes.fetch.output.keys() | list }}", ctx) == ["status", "body"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "{{ nodes.fetch.output.body.titel }}",
            "nodes.fetch.output.body.titel: no key 'titel' (did you mean 'title'?)",
        ),
        (
            "{{ nodes.fetc.output }}",
            "nodes.fetc: no node 'fetc' has run before this one (did you mean 'fetch'?)",
        ),
        ("{{ nodes.fetch.items[5].n }}", "nodes.fetch.items[5]: index 5 is out of range"),
        (
            "{{ trigger.user.email.domain }}",
            "trigger.user.email.domain: 'trigger.user.email' is null",
        ),
        ("{{ itme.id }}", "itme: unknown name 'itme' (did you mean 'item'?)"),
        (
            "{{ trigger.user.nme | upper }}",
            "trigger.user.nme: no key 'nme' (did you mean 'name'?)",
        ),
    ],
)
def test_missing_data_errors_name_the_path_and_suggest(
    ctx: dict[str, Any], source: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as info:
        render({"body": {"title": source}}, ctx)
    assert message in info.value.detail
    assert info.value.extra["pointer"] == "/body/title"
    assert info.value.extra["expression"] == source


def test_defined_checks_and_defaults_still_work(ctx: dict[str, Any]) -> None:
    assert render("{{ item.missing is defined }}", ctx) is False
    assert render("{{ item.missing | default('n/a') }}", ctx) == "n/a"


def test_syntax_errors_are_expression_errors(ctx: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError, match="syntax error in expression"):
        render("{{ item.id + }}", ctx)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ item.get.__self__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ item['__class__'] }}",
        "{{ '{0.__class__.__init__}'.format(item) }}",
        "{{ item | attr('__class__') }}",
        "{{ item.update({'id': 1}) }}",
        "{{ nodes.fetch.output.body.tags.append('x') }}",
        "{{ lipsum(100) }}",
        "{{ range.__init__ }}",
    ],
)
def test_sandbox_refuses_escapes(ctx: dict[str, Any], source: str) -> None:
    with pytest.raises(ExpressionError):
        render(source, ctx)
    assert ctx["item"] == {"id": 7, "price": 2.5, "items": "a key, not the dict method"}


@pytest.mark.parametrize(
    "source",
    [
        "{{ 1 }}{% for x in range(10) %}{{ x }}{% endfor %}",
        "{% import 'os' as os %}{{ os }}",
        "{% include '/etc/passwd' %}{{ 1 }}",
        "{% set x = 1 %}{{ x }}",
    ],
)
def test_statements_imports_and_includes_are_refused(ctx: dict[str, Any], source: str) -> None:
    with pytest.raises(ExpressionError, match=r"not \{% \.\.\. %\} statements"):
        render(source, ctx)


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{{ ('a' * 1000) * 1000 * 1000 }}",
        "{{ 10 ** (10 ** 10) }}",
        "{{ 2 ** 10000000 }}",
        "{{ ('a' * 600000) ~ ('a' * 600000) }}",
        "{{ ('a' * 600000) + ('a' * 600000) }}",
        "{{ 'a'.ljust(10**9) }}",
        "{{ 'x' | center(10**9) }}",
        "{{ ('a' * 1000).replace('a', 'b' * 10000) }}",
        "{{ range(100000) | join('a' * 1000) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ [0] | batch(10**9, 0) | list }}",
        "{{ item | tojson(indent=10**9) }}",
        "{{ ('a\\n' * 100000) | indent('x' * 1000) }}",
        "{{ 'a b c' | wordwrap(1, True, 'x' * 100000) }}",
    ],
)
def test_blow_ups_are_refused_before_they_allocate(ctx: dict[str, Any], source: str) -> None:
    with pytest.raises(ExpressionError, match=r"limit|over|bit"):
        render(source, ctx, limits=SIZE_ONLY)


ALIASED = "([[range(100000) | list] * 10] * 10)"  # 100 references to one 100k list


@pytest.mark.parametrize(
    "source",
    [
        f"{{{{ {ALIASED} }}}}",
        f"x {{{{ {ALIASED} }}}}",
        f"{{{{ {ALIASED} | tojson }}}}",
        f"{{{{ {ALIASED} | string }}}}",
        f"{{{{ {ALIASED} | upper }}}}",
        f"{{{{ '%s' % [{ALIASED}] }}}}",
        f"{{{{ '%s' | format({ALIASED}) }}}}",
        f"{{{{ '{{}}'.format({ALIASED}) }}}}",
        f"{{{{ 'a' ~ {ALIASED} }}}}",
    ],
)
def test_billion_laughs_by_aliasing_is_refused(ctx: dict[str, Any], source: str) -> None:
    """Nested repeats stay small in memory but explode when copied or stringified."""
    with pytest.raises(ExpressionError, match=r"over the limit|more than"):
        render(source, ctx, limits=SIZE_ONLY)


def test_walking_an_aliased_structure_is_fine(ctx: dict[str, Any]) -> None:
    assert render(f"{{{{ {ALIASED} | length }}}}", ctx) == 10
    assert render(f"{{{{ {ALIASED}[3][4][:2] }}}}", ctx) == [0, 1]


def test_billion_laughs_by_interpolation_is_bounded(ctx: dict[str, Any]) -> None:
    laugh = "{{ 'lol' * 100000 }}" * 10
    with pytest.raises(ExpressionError, match="rendered string"):
        render(laugh, ctx, limits=SIZE_ONLY)


def test_render_time_is_bounded(ctx: dict[str, Any]) -> None:
    # Sorting and mapping 100k items many times is legal but slow; a tiny budget stops it.
    source = "{{ range(100000) | map('string') | map('upper') | map('lower') | list | length }}"
    with pytest.raises(ExpressionError, match="took longer than"):
        render(source, ctx, limits=RenderLimits(max_seconds=0.0))


def test_output_limit_is_configurable(ctx: dict[str, Any]) -> None:
    assert render("{{ 'ab' * 5 }}", ctx, limits=RenderLimits(max_output_chars=10)) == "ababababab"
    with pytest.raises(ExpressionError, match="over the limit of 10"):
        render("{{ 'ab' * 6 }}", ctx, limits=RenderLimits(max_output_chars=10))


def test_format_strings_with_ordinary_numbers_still_work(ctx: dict[str, Any]) -> None:
    assert render("{{ 'order {} of 123456'.format(item.id) }}", ctx) == "order 7 of 123456"
    assert render("{{ '%05d' % item.id }}", ctx) == "00007"


def test_non_json_results_are_explained(ctx: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError, match="did you forget the parentheses"):
        render("{{ item.keys }}", ctx)


def test_check_reports_problems_with_pointers() -> None:
    value = {
        "ok": "{{ item.id }}",
        "bad": ["fine", "{{ item.id + }}"],
        "stmt": "{% if item.x %}y{% endif %} {{ 1 }}",
        "a/b": "{{ ''.__class__ }}",
    }
    problems = check(value)
    assert [p.pointer for p in problems] == ["/bad/1", "/stmt", "/a~1b"]
    assert all(isinstance(p, Problem) and p.code == EXPRESSION_SYNTAX for p in problems)
    assert "syntax error" in problems[0].message
    assert "__class__" in problems[2].message
    assert check("no expressions") == []


def test_check_finds_unknown_names_filters_and_tests() -> None:
    problems = check({"a": "{{ itme.id | uper }}", "b": "{{ item.x is definedd }}"})
    assert [(p.pointer, p.message) for p in problems] == [
        ("/a", "unknown filter 'uper' (did you mean 'upper'?)"),
        (
            "/a",
            "unknown name 'itme' (did you mean 'item'?); expressions can read item, nodes, "
            "trigger, vars",
        ),
        ("/b", "unknown test 'definedd' (did you mean 'defined'?)"),
    ]
    assert check("{{ range(3) | list }} {{ nodes.a.output }} {{ vars.x is defined }}") == []
    assert check("{{ env.HOME }}", names=("env",)) == []


def test_unknown_filter_at_render_suggests(ctx: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError, match=r"unknown filter 'uper' \(did you mean 'upper'\?\)"):
        render("{{ item.id | uper }}", ctx)


def test_referenced_nodes_and_has_expressions() -> None:
    value = {
        "a": "{{ nodes.fetch.output.x }} {{ nodes['other node'].items | length }}",
        "b": ["{{ item.x }}", "{{ nodes.third }}"],
        "c": "{{ broken +",
    }
    assert referenced_nodes(value) == {"fetch", "other node", "third"}
    assert has_expressions(value)
    assert not has_expressions({"a": ["x", 1, None]})
