"""Finding 2: a viewer froze the API with 550 bytes of YAML.

The attack: ``POST /workflows/validate`` (viewer role) with 8 levels of 9-way aliases; the
expansion took 13.5 s and 2.6 GB while dumping/hashing on the event loop, and ``/healthz``
waited 13.4 s. Now aliases are refused while the YAML is composed (before any object is
built), and size, depth, value count and node count are bounded for JSON and YAML alike;
decoding and hashing run off the event loop.
"""

from __future__ import annotations

import json
import threading
import tracemalloc

import httpx
import psutil
import pytest
from security_testkit import Served

from reporunner.nodes.errors import ValidationFailed
from reporunner.platform.engine import parse_definition
from reporunner.platform.engine.bounds import (
    MAX_DEFINITION_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    MAX_VALUES,
)


def billion_laughs(levels: int = 8, fan: int = 9) -> str:
    """The reproduction: ~550 bytes that expand to fan**levels values (43 M for 8 x 9)."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join(f"*a{level - 1}" for _ in range(fan))
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("name: bomb")
    lines.append("nodes: [{id: t, type: trigger.manual, params: {x: *a8}}]")
    return "\n".join(lines) + "\n"


def _codes(err: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [p["code"] for p in err.value.problems]


def test_alias_bomb_is_refused_before_expansion_with_bounded_memory() -> None:
    bomb = billion_laughs()
    assert len(bomb) < 700
    tracemalloc.start()
    try:
        with pytest.raises(ValidationFailed) as caught:
            parse_definition(bomb)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert _codes(caught) == ["yaml_alias"]
    assert "aliases (*a0) are not allowed" in str(caught.value)
    # the figure: the expansion took 2.6 GB; refusing it allocates well under 1 MB
    assert peak < 1_000_000, peak


def test_a_single_alias_is_refused_too() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition("x: &x 1\nname: *x\nnodes: []\n")
    assert _codes(caught) == ["yaml_alias"]


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_deep_nesting_is_refused_without_recursion(kind: str) -> None:
    text = "[" * 100_000 + "]" * 100_000
    if kind == "yaml":
        text = "name: deep\nnodes: " + text
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(text)
    assert _codes(caught) == ["too_deep"], caught.value.problems
    assert f"deeper than {MAX_DEPTH}" in str(caught.value)


def test_too_many_values_and_nodes_and_bytes_are_refused() -> None:
    wide = json.dumps({"name": "w", "nodes": [], "settings": {"vars": {"x": [0] * MAX_VALUES}}})
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(wide)
    assert _codes(caught) == ["too_many_values"]
    many = {"name": "m", "nodes": [{"id": f"n{i}", "type": "x"} for i in range(MAX_NODES + 1)]}
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(many)
    assert _codes(caught) == ["too_many_nodes"]
    assert caught.value.problems[0]["pointer"] == "/nodes"
    big = json.dumps({"name": "b", "nodes": [], "description": "x" * MAX_DEFINITION_BYTES})
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(big)
    assert _codes(caught) == ["too_large"]


def test_invalid_utf8_is_a_client_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(b'{"name": "\xff\xfe", "nodes": []}')
    assert _codes(caught) == ["invalid_utf8"]


def test_a_normal_definition_still_parses() -> None:
    text = "name: ok\nnodes:\n  - id: start\n    type: trigger.manual\n"
    assert parse_definition(text).nodes[0].id == "start"


# -- against a real `reporunner serve`


async def test_served_viewer_bomb_is_refused_and_healthz_answers(served: Served) -> None:
    viewer = {"Authorization": f"Bearer {await served.key_for('viewer')}"}
    editor = {"Authorization": f"Bearer {await served.key_for('editor')}"}
    server = psutil.Process(served.proc.pid)
    rss_before = server.memory_info().rss
    answers: list[httpx.Response] = []

    def send(path: str, headers: dict[str, str]) -> None:
        answers.append(
            httpx.post(
                f"{served.base}{path}",
                content=billion_laughs(),
                headers={**headers, "Content-Type": "application/yaml"},
                timeout=60,
            )
        )

    senders = [
        threading.Thread(target=send, args=("/workflows/validate", viewer)) for _ in range(4)
    ] + [threading.Thread(target=send, args=("/workflows", editor))]
    for thread in senders:
        thread.start()
    # while the bombs are in flight the API still answers (the figure before: 13.4 s)
    health = httpx.get(f"{served.base}/healthz", timeout=30)
    for thread in senders:
        thread.join(timeout=60)
    assert health.status_code == 200
    assert len(answers) == 5
    for answer in answers:
        if answer.request.url.path.endswith("/validate"):
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["valid"] is False
            assert [p["code"] for p in body["problems"]] == ["yaml_alias"]
        else:
            assert answer.status_code == 422, answer.text
            assert "yaml_alias" in answer.text
    grown = server.memory_info().rss - rss_before
    assert grown < 100 * 1024 * 1024, f"serve grew by {grown} bytes (the bomb took 2.6 GB)"
    deep = httpx.post(
        f"{served.base}/workflows",
        content="[" * 100_000 + "]" * 100_000,
        headers=editor,
        timeout=30,
    )
    assert deep.status_code == 422, deep.text
    assert "too_deep" in deep.text
