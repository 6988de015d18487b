"""Tests of ``code.python`` and ``code.javascript``: what a user's function can do.

What it must not be able to do (the escape tests) lives in ``tests/security/test_code_escapes.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from reporunner.nodes import codesandbox
from reporunner.nodes.base import Node
from reporunner.nodes.builtin.code_javascript import CodeJavaScript
from reporunner.nodes.builtin.code_python import CodePython
from reporunner.nodes.catalog import node_schema
from reporunner.nodes.codesandbox import CodeSandboxError
from reporunner.nodes.errors import ConfigurationError
from reporunner.nodes.testing import NodeTestContext, run_node

NODES: dict[str, type[Node[Any]]] = {"python": CodePython, "javascript": CodeJavaScript}

DOUBLE = {
    "python": "def main(items, vars):\n"
    "    print('saw', len(items), 'items')\n"
    "    return [{**item, 'double': item['n'] * 2, 'node': vars['node_id'],\n"
    "             'who': vars['trigger']['who'], 'region': vars['vars']['region']}\n"
    "            for item in items]\n",
    "javascript": "async function main(items, vars) {\n"
    "  console.log('saw', items.length, 'items');\n"
    "  return items.map((item) => ({ ...item, double: item.n * 2, node: vars.node_id,\n"
    "    who: vars.trigger.who, region: vars.vars.region }));\n"
    "}\n",
}


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    yield
    codesandbox.shutdown()


def _ctx(execution_id: str = "exec-code") -> NodeTestContext:
    return NodeTestContext(
        execution_id=execution_id,
        node_id="calc",
        trigger={"who": "Ada"},
        vars={"region": "eu"},
    )


async def _run(language: str, code: str, items: list[dict[str, Any]], ctx: Any = None) -> Any:
    out = await run_node(NODES[language], {"code": code}, {"main": items}, ctx or _ctx())
    return out.ports["main"]


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_main_gets_items_and_vars_and_returns_items(language: str) -> None:
    ctx = _ctx()
    out = await _run(language, DOUBLE[language], [{"n": 1}, {"n": 21}], ctx)
    assert out == [
        {"n": 1, "double": 2, "node": "calc", "who": "Ada", "region": "eu"},
        {"n": 21, "double": 42, "node": "calc", "who": "Ada", "region": "eu"},
    ]
    assert ctx.events == [("log", {"node": "calc", "text": "saw 2 items\n"})]


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_the_catalog_example_runs(language: str) -> None:
    node = NODES[language]
    entry = node_schema(node)
    assert entry["literal_params"] == ["code"]
    assert "main(items, vars)" in entry["params"]["properties"]["code"]["description"]
    out = await _run(language, node.example["code"], [{"price": 2, "quantity": 3}])
    assert out == [{"price": 2, "quantity": 3, "total": 6}]


@pytest.mark.parametrize(
    ("language", "code", "line", "message"),
    [
        ("python", "def main(items, vars):\n    x = 1\n    return x / 0\n", 3, "ZeroDivisionError"),
        (
            "python",
            "def helper(item):\n    return item['missing']\n\n"
            "def main(items, vars):\n    return [helper(i) for i in items]\n",
            2,
            "KeyError: 'missing'",
        ),
        ("python", "def main(items, vars):\n    x = 1\n    return x +\n", 3, "SyntaxError"),
        (
            "javascript",
            "function main(items) {\n  const x = null;\n  return x.y;\n}\n",
            3,
            "TypeError",
        ),
        ("javascript", "function main(items) {\n  return [;\n}\n", 2, "SyntaxError"),
        (
            "javascript",
            "function main(items) {\n\n  throw new Error('custom failure');\n}\n",
            3,
            "Error: custom failure",
        ),
    ],
)
async def test_errors_name_the_users_line(
    language: str, code: str, line: int, message: str
) -> None:
    with pytest.raises(CodeSandboxError) as caught:
        await _run(language, code, [{"n": 1}])
    assert caught.value.line == line
    assert message in caught.value.detail
    assert caught.value.detail.startswith(f"code.{language}: ")
    assert f"(line {line})" in caught.value.detail


@pytest.mark.parametrize(
    ("language", "code", "message"),
    [
        ("python", "def main(items, vars):\n    return 'text'\n", "list of objects"),
        ("python", "def main(items, vars):\n    return [1, 2]\n", "list of objects"),
        ("python", "x = 1\n", "must define a function main"),
        ("python", "def main(items, vars):\n    return [{'x': float('nan')}]\n", "ValueError"),
        ("javascript", "function main() { return 'text'; }", "array of objects"),
        ("javascript", "function main() { return [1, [2]]; }", "array of objects"),
        ("javascript", "const x = 1;", "must define a function main"),
    ],
)
async def test_a_result_that_is_not_items_is_refused(
    language: str, code: str, message: str
) -> None:
    with pytest.raises(CodeSandboxError, match=message):
        await _run(language, code, [{"n": 1}])


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_hostile_params_are_refused_by_name(language: str) -> None:
    for bad in ({}, {"code": ""}, {"code": "x" * 100_001}, {"code": "ok", "timeout": 1}):
        with pytest.raises(ValidationError) as caught:
            NODES[language].Params.model_validate(bad)
        assert caught.value.errors()[0]["loc"][0] in {"code", "timeout"}


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_a_single_object_is_one_item_and_no_input_is_an_empty_list(language: str) -> None:
    code = {
        "python": "def main(items, vars):\n    return {'count': len(items)}\n",
        "javascript": "function main(items) { return { count: items.length }; }",
    }[language]
    assert await _run(language, code, []) == [{"count": 0}]


@pytest.mark.parametrize("language", ["python", "javascript"])
async def test_calls_of_one_run_reuse_a_warm_sandbox_and_start_clean(language: str) -> None:
    setter = {
        "python": "import os\nCOUNT = 0\ndef main(items, vars):\n"
        "    global COUNT\n    COUNT += 1\n"
        "    found = sorted(os.listdir('.'))\n"
        "    open('note.txt', 'w').write('x')\n"
        "    return [{'count': COUNT, 'found': found, 'pid': os.getpid()}]\n",
        "javascript": "var COUNT = (typeof COUNT === 'number' ? COUNT : 0) + 1;\n"
        "function main() { return [{ count: COUNT }]; }\n",
    }[language]
    ctx = _ctx("exec-reuse")
    first = await _run(language, setter, [], ctx)
    second = await _run(language, setter, [], ctx)
    # each call runs in a fresh namespace, with /scratch emptied
    assert first[0]["count"] == second[0]["count"] == 1
    if language == "python":
        assert first[0]["found"] == second[0]["found"] == []


async def test_many_concurrent_runs_each_get_their_own_items() -> None:
    code = (
        "def main(items, vars):\n    return [{'run': vars['execution_id'], **i} for i in items]\n"
    )
    runs = [f"exec-par-{i}" for i in range(6)]
    outs = await asyncio.gather(
        *(_run("python", code, [{"i": i}], _ctx(run)) for i, run in enumerate(runs))
    )
    assert outs == [[{"run": run, "i": i}] for i, run in enumerate(runs)]


async def test_an_interpreter_outside_usr_is_refused_by_setting_name(tmp_path) -> None:
    outside = tmp_path / "python3"
    outside.symlink_to("/usr/bin/python3")  # resolves into /usr: accepted
    before = codesandbox.limits()
    try:
        codesandbox.configure(codesandbox.with_overrides(python=str(outside)))
        assert await _run("python", "def main(items, vars):\n    return items", [{"a": 1}]) == [
            {"a": 1}
        ]
        fake = tmp_path / "fake-python"
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
        codesandbox.configure(codesandbox.with_overrides(python=str(fake)))
        with pytest.raises(ConfigurationError, match=r"REPORUNNER_CODE_PYTHON=.*only /usr"):
            await _run("python", "def main(items, vars):\n    return items", [])
    finally:
        codesandbox.configure(before)
