"""The expression engine: ``{{ ... }}`` inside string params, rendered in a sandbox.

Params may hold Jinja2 expressions such as ``{{ nodes.fetch.output.body.title }}``. The engine
renders them against a context it builds per node run::

    {"nodes": {node_id: {"output": first main item or {}, "items": [...], "ports": {...}}},
     "trigger": <item>, "item": <current item or None>, "vars": {...}}

Rules, chosen so that a workflow author gets data rather than surprises:

* A string that is exactly one ``{{ expr }}`` (surrounding whitespace ignored) returns the
  expression's **native** value: a dict, list, number, bool or null. Any other string with
  ``{{`` is interpolated into a string; there objects and lists render as JSON, booleans as
  ``true``/``false`` and null as the empty string.
* Only expressions: ``{% ... %}`` statements are refused (use ``{{ a if cond else b }}``).
* Missing data is an error that names the path and suggests the closest key, instead of a
  silent empty string (``{{ x is defined }}`` and ``{{ x | default('') }}`` still work).
* The sandbox (Jinja2's ``ImmutableSandboxedEnvironment`` plus :mod:`._sandbox`) refuses
  underscore attributes, imports, I/O and mutation, and bounds output size and render time.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateError, TemplateSyntaxError, Undefined, nodes

from reporunner.nodes._sandbox import Sandbox
from reporunner.nodes._sandbox_limits import (
    RenderLimits,
    RenderScope,
    check_size,
    count_result_item,
    measure,
)
from reporunner.nodes.errors import ExpressionError, Problem

__all__ = [
    "CONTEXT_NAMES",
    "EXPRESSION_SYNTAX",
    "RenderLimits",
    "check",
    "has_expressions",
    "referenced_nodes",
    "render",
]

CONTEXT_NAMES: tuple[str, ...] = ("item", "nodes", "trigger", "vars")
EXPRESSION_SYNTAX = "expression_syntax"
"""The ``code`` of every problem :func:`check` reports."""
"""Top-level names of the render context the engine builds."""

_STATEMENTS_REFUSED = (
    "only {{ ... }} expressions are allowed, not {% ... %} statements; use an inline if "
    "such as {{ a if cond else b }} or a filter such as {{ items | map(attribute='x') | list }}"
)


def _finalize(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list | tuple):
        measure(value, "rendering an object as JSON")
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


_ENV = Sandbox(finalize=_finalize)


@dataclass(frozen=True, slots=True)
class _Compiled:
    template: Template
    native: bool


def _escape_pointer(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _parse(source: str) -> nodes.Template:
    try:
        return _ENV.parse(source)
    except TemplateSyntaxError as err:
        message = f"syntax error in expression: {err.message} (line {err.lineno})"
        raise ExpressionError(message) from err


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _static_problems(ast: nodes.Template, names: Collection[str] | None = None) -> list[str]:
    """Problems visible without data: statements, dunders, unknown filters/tests and (when
    ``names`` is given) names the render context will not hold."""
    problems: list[str] = []
    if any(not isinstance(stmt, nodes.Output) for stmt in ast.body):
        problems.append(_STATEMENTS_REFUSED)
    for node in ast.find_all(nodes.Getattr):
        if node.attr.startswith("__"):
            problems.append(f"'{node.attr}': names starting with '__' are not accessible")
    for flt in ast.find_all(nodes.Filter):
        if flt.name not in _ENV.filters:
            hint = _did_you_mean(flt.name, _ENV.filters)
            problems.append(f"unknown filter '{flt.name}'{hint}")
    for test in ast.find_all(nodes.Test):
        if test.name not in _ENV.tests:
            problems.append(f"unknown test '{test.name}'{_did_you_mean(test.name, _ENV.tests)}")
    if names is not None:
        visible = {*names, *_ENV.globals}
        for name in ast.find_all(nodes.Name):
            if name.ctx == "load" and name.name not in visible:
                listed = ", ".join(sorted(names))
                problems.append(
                    f"unknown name '{name.name}'{_did_you_mean(name.name, visible)}; "
                    f"expressions can read {listed}"
                )
    return problems


def _single_expression(ast: nodes.Template, source: str) -> nodes.Expr | None:
    stripped = source.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")) or len(ast.body) != 1:
        return None
    output = ast.body[0]
    if not isinstance(output, nodes.Output):
        return None
    parts = [
        n for n in output.nodes if not (isinstance(n, nodes.TemplateData) and not n.data.strip())
    ]
    if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
        return parts[0]
    return None


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> _Compiled:
    ast = _parse(source)
    problems = _static_problems(ast)
    if problems:
        raise ExpressionError(problems[0])
    expr = _single_expression(ast, source)
    if expr is None:
        return _Compiled(_ENV.from_string(ast), native=False)
    assign = nodes.Assign(nodes.Name("result", "store", lineno=1), expr, lineno=1)
    return _Compiled(_ENV.from_string(nodes.Template([assign], lineno=1)), native=True)


def _to_json(value: Any) -> Any:
    """Copy a native result into plain JSON data (so it cannot alias the context)."""
    count_result_item()
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | range | Iterator):
        out = []
        for element in value:
            out.append(_to_json(element))
            check_size("expression result", len(out))
        return out
    if callable(value):
        raise ExpressionError(
            f"the expression evaluates to a function ({getattr(value, '__name__', 'callable')});"
            " did you forget the parentheses, e.g. item.keys()?"
        )
    raise ExpressionError(
        f"the expression evaluates to a {type(value).__name__}, which is not JSON data"
    )


def _run(compiled: _Compiled, context: dict[str, Any]) -> Any:
    if compiled.native:
        ctx = compiled.template.new_context(context)
        for _ in compiled.template.root_render_func(ctx):
            pass
        return _to_json(ctx.vars["result"])
    out: list[str] = []
    total = 0
    for chunk in compiled.template.generate(context):
        total += len(chunk)
        check_size("rendered string", total)
        out.append(chunk)
    return "".join(out)


def _render_string(source: str, context: dict[str, Any], pointer: str) -> Any:
    where = f" (in {pointer})" if pointer else ""
    try:
        return _run(_compile(source), context)
    except ExpressionError as err:
        raise ExpressionError(f"{err.detail}{where}", pointer=pointer, expression=source) from err
    except TemplateError as err:
        raise ExpressionError(f"{err}{where}", pointer=pointer, expression=source) from err
    except Exception as err:
        raise ExpressionError(
            f"{type(err).__name__}: {err}{where}", pointer=pointer, expression=source
        ) from err


def _render_value(value: Any, context: dict[str, Any], pointer: str) -> Any:
    if isinstance(value, str):
        return _render_string(value, context, pointer) if "{{" in value else value
    if isinstance(value, Mapping):
        return {
            k: _render_value(v, context, f"{pointer}/{_escape_pointer(k)}")
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_render_value(v, context, f"{pointer}/{i}") for i, v in enumerate(value)]
    return value


def render(value: Any, context: Mapping[str, Any], *, limits: RenderLimits | None = None) -> Any:
    """Render every ``{{ ... }}`` inside the strings of a nested dict/list ``value``.

    Args:
        value: Raw params (or any JSON value); strings without ``{{`` are returned as-is.
        context: Names visible to expressions (``nodes``, ``trigger``, ``item``, ``vars``).
        limits: Output-size and time bounds for this call (defaults: :class:`RenderLimits`).

    Returns:
        A new value of the same shape with expressions replaced by their results.

    Raises:
        ExpressionError: a syntax error, missing data (the message names the path and
            suggests a close key), a sandbox refusal or an exceeded bound. ``extra`` holds
            the JSON ``pointer`` of the failing string and the ``expression`` source.
    """
    ctx = dict(context)
    with RenderScope(ctx, limits or RenderLimits()):
        return _render_value(value, ctx, "")


def _strings(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        if "{{" in value:
            yield pointer, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{pointer}/{_escape_pointer(k)}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _strings(v, f"{pointer}/{i}")


def has_expressions(value: Any) -> bool:
    """Whether any string inside ``value`` contains ``{{`` (and so would be rendered)."""
    return any(True for _ in _strings(value))


def check(value: Any, *, names: Collection[str] = CONTEXT_NAMES) -> list[Problem]:
    """Find expression problems in ``value`` without rendering (for workflow validation).

    Reports syntax errors, ``{% %}`` statements, dunder access, unknown filters and tests, and
    names outside ``names`` (the top-level names of the engine's render context).

    Returns:
        ``expression_syntax`` problems with the JSON pointer of their string relative to
        ``value``.
    """
    problems: list[Problem] = []
    for pointer, source in _strings(value):
        try:
            found = _static_problems(_parse(source), names)
        except ExpressionError as err:
            found = [err.detail]
        problems.extend(Problem(pointer, EXPRESSION_SYNTAX, message) for message in found)
    return problems


def referenced_nodes(value: Any) -> set[str]:
    """Node ids that expressions inside ``value`` reference as ``nodes.<id>`` or
    ``nodes['<id>']`` (strings that do not parse are skipped; :func:`check` reports them)."""
    found: set[str] = set()
    for _, source in _strings(value):
        try:
            ast = _parse(source)
        except ExpressionError:
            continue
        for attr in ast.find_all(nodes.Getattr):
            if isinstance(attr.node, nodes.Name) and attr.node.name == "nodes":
                found.add(attr.attr)
        for item in ast.find_all(nodes.Getitem):
            if (
                isinstance(item.node, nodes.Name)
                and item.node.name == "nodes"
                and isinstance(item.arg, nodes.Const)
                and isinstance(item.arg.value, str)
            ):
                found.add(item.arg.value)
    return found
