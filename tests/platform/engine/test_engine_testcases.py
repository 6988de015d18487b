"""Workflow test cases: pinned outputs replace node runs, every kind of assertion, the judge
through the scripted litellm provider, validation of the cases, and version hashes that do not
move for definitions without tests."""

from __future__ import annotations

from typing import Any

import pytest

from reporunner.agents.testing import Reply, scripted_llm
from reporunner.nodes.registry import default_registry
from reporunner.platform.engine import compile_workflow, content_hash, parse_definition, validate
from reporunner.platform.workflows.testing import case_runner, llm_judge, run_tests, value_at

FETCH_AND_GREET: dict[str, Any] = {
    "name": "greet",
    "nodes": [
        {"id": "start", "type": "trigger.manual"},
        # the SSRF guard refuses loopback: the node fails at once if it runs
        {"id": "fetch", "type": "http.request", "params": {"url": "http://127.0.0.1:9/user"}},
        {
            "id": "greet",
            "type": "data.set",
            "params": {
                "fields": [
                    {"name": "greeting", "value": "Hello {{ nodes.fetch.output.body.name }}"}
                ]
            },
        },
    ],
    "edges": [{"source": "start", "target": "fetch"}, {"source": "fetch", "target": "greet"}],
}
ADA = {"fetch": {"main": [{"status": 200, "body": {"name": "Ada"}}]}}


def _with_tests(*tests: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {**FETCH_AND_GREET, "tests": list(tests), "settings": settings}


async def _report(definition: dict[str, Any], judge: Any = None) -> dict[str, Any]:
    compiled = compile_workflow(parse_definition(definition), default_registry())
    cases = compiled.definition.tests
    report = await run_tests(cases, case_runner(compiled, workspace_id="t"), judge=judge)
    return report.as_json()


async def test_a_pinned_node_hands_on_its_pinned_output_instead_of_running() -> None:
    report = await _report(
        _with_tests(
            {
                "name": "greets by name",
                "pinned": ADA,
                "assertions": [
                    {"check": "equals", "path": "0.greeting", "expected": "Hello Ada"},
                    {"check": "equals", "node": "fetch", "path": "0.body.name", "expected": "Ada"},
                ],
            }
        )
    )
    assert report["passed"] is True, report
    case = report["cases"][0]
    assert case["status"] == "succeeded"
    assert [a["passed"] for a in case["assertions"]] == [True, True]


async def test_without_its_pin_the_node_runs_and_the_case_says_how_the_run_ended() -> None:
    report = await _report(_with_tests({"name": "unpinned", "assertions": []}))
    case = report["cases"][0]
    assert report["passed"] is False
    assert case["status"] == "failed"
    assert case["assertions"][0]["check"] == "status"
    assert "expected succeeded" in case["assertions"][0]["message"]
    assert "at node 'fetch'" in case["assertions"][0]["message"]


async def test_expect_status_failed_passes_when_the_run_fails() -> None:
    report = await _report(_with_tests({"name": "fails", "expect_status": "failed"}))
    assert report["passed"] is True, report


@pytest.mark.parametrize(
    ("check", "path", "expected", "passed"),
    [
        ("equals", "0.greeting", "Hello Ada", True),
        ("equals", "0.greeting", "Hello Bob", False),
        ("contains", "0.greeting", "Ada", True),
        ("contains", "0.greeting", "Bob", False),
        ("contains", "", {"greeting": "Hello Ada"}, False),  # a list holds whole items
        ("contains", "0", {"greeting": "Hello Ada"}, True),  # an object: its keys and values
        ("contains", "0", {"greeting": "Hello"}, False),
        ("regex", "0.greeting", "^Hello [A-Z][a-z]+$", True),
        ("regex", "0.greeting", "^Bye", False),
        ("regex", "0", "Ada", False),  # not a string
        ("json_schema", "0", {"type": "object", "required": ["greeting"]}, True),
        ("json_schema", "0", {"type": "object", "required": ["farewell"]}, False),
        ("equals", "3.greeting", "x", False),  # no such item
        ("equals", "0.nope", "x", False),  # no such key
    ],
)
async def test_each_check(check: str, path: str, expected: Any, passed: bool) -> None:
    assertion = {"check": check, "path": path, "expected": expected}
    report = await _report(_with_tests({"name": "c", "pinned": ADA, "assertions": [assertion]}))
    result = report["cases"][0]["assertions"][0]
    assert result["passed"] is passed, result
    assert result["message"]


async def test_a_failed_check_says_what_it_saw() -> None:
    bob = {"fetch": {"main": [{"body": {"name": "Bob"}}]}}
    report = await _report(
        _with_tests(
            {
                "name": "c",
                "pinned": bob,
                "assertions": [{"check": "equals", "path": "0.greeting", "expected": "Hello Ada"}],
            }
        )
    )
    message = report["cases"][0]["assertions"][0]["message"]
    assert message == "final items.0.greeting is 'Hello Bob', expected 'Hello Ada'"


async def test_the_judge_decides_through_litellm_and_its_tokens_are_counted() -> None:
    judged = {
        "name": "judged",
        "pinned": ADA,
        "assertions": [
            {
                "check": "judge",
                "path": "0.greeting",
                "expected": "a friendly greeting that names the person",
                "judge_model": "scripted/judge",
            }
        ],
    }
    with scripted_llm() as llm:
        llm.plan(Reply('{"pass": true, "reason": "it greets Ada"}', prompt_tokens=30))
        report = await _report(_with_tests(judged), judge=llm_judge())
        sent = llm.requests[0].messages[-1]["content"]
    assert report["passed"] is True, report
    assert "a friendly greeting that names the person" in sent
    assert "Hello Ada" in sent
    assert report["tokens"] >= 30
    with scripted_llm() as llm:
        llm.plan(Reply('{"pass": false, "reason": "too curt"}'))
        failed = await _report(_with_tests(judged), judge=llm_judge())
    assert failed["passed"] is False
    assert "too curt" in failed["cases"][0]["assertions"][0]["message"]


async def test_a_judge_answer_that_is_no_verdict_fails_the_check() -> None:
    judged = {
        "name": "judged",
        "pinned": ADA,
        "assertions": [{"check": "judge", "expected": "anything", "judge_model": "scripted/j"}],
    }
    with scripted_llm() as llm:
        llm.plan(Reply("Sure! Looks great to me."))
        report = await _report(_with_tests(judged), judge=llm_judge())
    result = report["cases"][0]["assertions"][0]
    assert result["passed"] is False
    assert "did not answer with a verdict" in result["message"]


async def test_without_a_judge_a_judge_check_fails_saying_so() -> None:
    judged = {"name": "j", "pinned": ADA, "assertions": [{"check": "judge", "expected": "ok"}]}
    report = await _report(_with_tests(judged))
    assert "no judge model" in report["cases"][0]["assertions"][0]["message"]


def test_invalid_cases_are_problems_with_pointers() -> None:
    definition = _with_tests(
        {"name": "a", "pinned": {"ghost": {"main": []}, "fetch": {"sideways": []}}},
        {
            "name": "a",
            "trigger_node": "greet",
            "assertions": [
                {"check": "regex", "expected": "(unclosed"},
                {"check": "json_schema", "expected": {"type": "nonsense"}},
                {"check": "judge", "expected": ""},
                {"check": "equals", "node": "nobody", "expected": 1},
            ],
        },
    )
    problems = {(p.pointer, p.code) for p in validate(definition, default_registry())}
    assert problems == {
        ("/tests/0/pinned/ghost", "unknown_node_reference"),
        ("/tests/0/pinned/fetch/sideways", "unknown_port"),
        ("/tests/1/name", "duplicate_test_name"),
        ("/tests/1/trigger_node", "unknown_trigger"),
        ("/tests/1/assertions/0/expected", "invalid_test"),
        ("/tests/1/assertions/1/expected", "invalid_test"),
        ("/tests/1/assertions/2/expected", "invalid_test"),
        ("/tests/1/assertions/3/node", "unknown_node_reference"),
    }


def test_too_many_cases_are_refused_before_anything_runs() -> None:
    many = [{"name": f"c{i}"} for i in range(51)]
    problems = validate(_with_tests(*many), default_registry())
    assert [p.pointer for p in problems] == ["/tests"]


async def test_a_backtracking_pattern_runs_in_linear_time_engine() -> None:
    # (a+)+$ against 'aaaa...!' takes exponential time in Python's re; re2 answers at once
    long = {"fetch": {"main": [{"body": {"name": "a" * 5000 + "!"}}]}}
    check = {"check": "regex", "path": "0.greeting", "expected": "^Hello (a+)+$"}
    report = await _report(_with_tests({"name": "r", "pinned": long, "assertions": [check]}))
    assert report["cases"][0]["assertions"][0]["passed"] is False


def test_value_at_walks_lists_and_objects() -> None:
    items = [{"a": {"b": [1, 2, 3]}}]
    assert value_at(items, "") == items
    assert value_at(items, "0.a.b.2") == 3
    with pytest.raises(KeyError):
        value_at(items, "0.a.b.9")


def test_a_definition_without_tests_keeps_its_version_hash() -> None:
    # computed before test cases existed: stored versions keep their names
    plain = {"name": "hash me", "nodes": [{"id": "start", "type": "trigger.manual"}], "edges": []}
    assert content_hash(parse_definition(plain)) == (
        "4471544e06985b1b83a3f2bf0e77319542a0c5ae645584ea8fdccf6b2eab82f5"
    )
    with_tests = {**plain, "tests": [{"name": "t"}]}
    assert content_hash(parse_definition(with_tests)) != content_hash(parse_definition(plain))
