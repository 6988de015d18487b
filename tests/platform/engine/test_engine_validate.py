"""Definition parsing and validation: every problem at once, each with a pointer and a fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from engine_testkit import wf

from reporunner.nodes.errors import ValidationFailed
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.compile import clear_cache, compile_workflow
from reporunner.platform.engine.definition import content_hash, parse_definition
from reporunner.platform.engine.validate import Problem, validate


def _codes(problems: list[Problem]) -> dict[str, str]:
    return {p.pointer: p.code for p in problems}


def _ok() -> dict[str, Any]:
    return wf([{"id": "start", "type": "t.trigger"}, {"id": "a", "type": "t.set"}], ["start->a"])


def test_json_and_yaml_parse_to_the_same_definition_and_hash() -> None:
    yaml_text = """
name: test
nodes:
  - {id: start, type: t.trigger}
  - {id: a, type: t.set}
edges:
  - {source: start, target: a}
"""
    from_json = parse_definition(json.dumps(_ok()))
    from_yaml = parse_definition(yaml_text.encode())
    assert from_json == from_yaml
    assert content_hash(from_json) == content_hash(from_yaml)
    changed = from_json.model_copy(update={"name": "other"})
    assert content_hash(changed) != content_hash(from_json)


def test_parse_reports_shape_errors_with_pointers() -> None:
    bad = {"name": "", "nodes": [{"id": "bad id", "type": "t.set", "colour": "red"}]}
    with pytest.raises(ValidationFailed) as info:
        parse_definition(bad)
    pointers = {p["pointer"] for p in info.value.problems}
    assert {"/name", "/nodes/0/id", "/nodes/0/colour"} <= pointers
    assert info.value.status == 422


def test_parse_rejects_text_that_is_neither_json_nor_yaml() -> None:
    with pytest.raises(ValidationFailed, match="neither valid JSON nor valid YAML"):
        parse_definition("nodes: [unclosed")


def test_valid_definition_has_no_problems(registry: NodeRegistry) -> None:
    assert validate(_ok(), registry) == []


def test_every_problem_is_reported_at_once(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "typo", "type": "t.sett"},
            {"id": "old", "type": "t.set", "version": 9},
            {"id": "cond", "type": "t.if", "params": {"equals": 1}},
            {"id": "exprs", "type": "t.set", "params": {"values": "{{ nodes.ghost.output }}"}},
            {"id": "broken", "type": "t.set", "params": {"values": {"x": "{{ item. }}"}}},
            {"id": "start", "type": "t.set"},
            {"id": "lonely", "type": "t.set"},
            {"id": "c1", "type": "t.set"},
            {"id": "c2", "type": "t.set"},
        ],
        [
            "start->cond",
            "cond.maybe->exprs",
            "cond.true->broken",
            "cond.true->broken",
            "broken->nowhere",
            "exprs->c1",
            "c1->c2",
            "c2->c1",
            "cond.false->exprs.side",
            "cond.false->old",
            "cond.false->typo",
        ],
    )
    problems = validate(definition, registry)
    codes = _codes(problems)
    assert codes["/nodes/1/type"] == "unknown_node_type"
    assert codes["/nodes/2/version"] == "unknown_node_version"
    assert codes["/nodes/3/params/field"] == "invalid_params"
    assert codes["/nodes/4/params"] == "unknown_node_reference"
    assert codes["/nodes/5/params/values/x"] == "expression_syntax"
    assert codes["/nodes/6/id"] == "duplicate_node_id"
    assert codes["/nodes/7"] == "unreachable_node"
    assert codes["/edges/1/source_port"] == "unknown_port"
    assert codes["/edges/3"] == "duplicate_edge"
    assert codes["/edges/4/target"] == "dangling_edge"
    assert codes["/edges/8/target_port"] == "unknown_port"
    assert "unclosed_cycle" in codes.values()
    messages = " ".join(p.message for p in problems)
    assert "did you mean 't.set'" in messages
    assert "its output ports: false, true" in messages
    # params holding an expression are not schema-checked (values must be a dict)
    assert "/nodes/4/params/values" not in codes


def test_no_trigger(registry: NodeRegistry) -> None:
    problems = validate(wf([{"id": "a", "type": "t.set"}], []), registry)
    assert [p.code for p in problems] == ["no_trigger"]


def test_cycle_through_a_loop_node_is_allowed(registry: NodeRegistry) -> None:
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "loop", "type": "logic.loop"},
            {"id": "body", "type": "t.set"},
        ],
        ["start->loop", "loop.loop->body", "body->loop"],
    )
    assert validate(definition, registry) == []


def test_error_port_exists_only_with_the_error_port_policy(registry: NodeRegistry) -> None:
    def definition(policy: str) -> dict[str, Any]:
        return wf(
            [
                {"id": "start", "type": "t.trigger"},
                {"id": "a", "type": "t.fail", "error_policy": {"on_error": policy}},
                {"id": "b", "type": "t.set"},
            ],
            ["start->a", "a.error->b"],
        )

    assert validate(definition("error_port"), registry) == []
    assert _codes(validate(definition("stop"), registry)) == {
        "/edges/1/source_port": "unknown_port"
    }


def test_literal_params_and_credentials(registry: NodeRegistry) -> None:
    from engine_testkit import LiteralNode

    reg = NodeRegistry()
    for cls in registry.all():
        reg.register(cls)
    reg.register(LiteralNode)
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "q", "type": "t.sql", "params": {"sql": "select {{ item.x }}"}},
            {
                "id": "q2",
                "type": "t.sql",
                "params": {"sql": "select 1"},
                "credentials": {"postgres_dsn": "cred-1", "smtp": "cred-2"},
            },
        ],
        ["start->q", "q->q2"],
    )
    codes = _codes(validate(definition, reg))
    assert codes == {
        "/nodes/1/params/sql": "literal_param_expression",
        "/nodes/1/credentials": "missing_credential",
        "/nodes/2/credentials/smtp": "unknown_credential_type",
    }


def test_credentials_needed_by_an_auth_param(registry: NodeRegistry) -> None:
    from engine_testkit import AuthNode

    reg = NodeRegistry()
    for cls in registry.all():
        reg.register(cls)
    reg.register(AuthNode)
    definition = wf(
        [
            {"id": "start", "type": "t.trigger"},
            {"id": "anon", "type": "t.auth"},
            {"id": "bearer", "type": "t.auth", "params": {"auth": "bearer_token"}},
            {
                "id": "wrong",
                "type": "t.auth",
                "params": {"auth": "bearer_token"},
                "credentials": {"api_key": "cred-1"},
            },
            {
                "id": "bound",
                "type": "t.auth",
                "params": {"auth": "api_key"},
                "credentials": {"api_key": "cred-1"},
            },
        ],
        ["start->anon", "anon->bearer", "bearer->wrong", "wrong->bound"],
    )
    problems = validate(definition, reg)
    assert _codes(problems) == {
        "/nodes/2/credentials": "missing_credential",
        "/nodes/3/credentials": "missing_credential",
    }
    assert "'bearer_token'" in problems[0].message


def test_compile_raises_422_with_all_problems_and_caches_by_hash(
    registry: NodeRegistry,
) -> None:
    clear_cache()
    bad = parse_definition(wf([{"id": "a", "type": "t.nope"}], ["a->b"]))
    with pytest.raises(ValidationFailed) as info:
        compile_workflow(bad, registry)
    assert info.value.status == 422
    assert len(info.value.problems) == 2
    first = compile_workflow(parse_definition(_ok()), registry)
    again = compile_workflow(parse_definition(_ok()), registry)
    assert again is first
    assert first.version_hash == content_hash(parse_definition(_ok()))
