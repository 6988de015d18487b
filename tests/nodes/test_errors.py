"""The shared error pieces: one Problem shape, ValidationFailed listing it, parse_id."""

from __future__ import annotations

import uuid

import pytest

from reporunner.nodes.errors import NotFoundError, Problem, ValidationFailed, parse_id


def test_validation_failed_lists_problems_in_their_json_form() -> None:
    problems = [Problem("/a", "bad_a", "fix a"), Problem("", "bad_root", "fix the root")]
    err = ValidationFailed("two problems", problems)
    expected = [
        {"pointer": "/a", "code": "bad_a", "message": "fix a"},
        {"pointer": "", "code": "bad_root", "message": "fix the root"},
    ]
    assert err.problems == expected
    assert err.extra["problems"] == expected
    assert err.status == 422
    assert ValidationFailed("none").problems == []


def test_problem_is_a_frozen_value() -> None:
    problem = Problem("/x", "code", "message")
    assert problem == Problem("/x", "code", "message")
    with pytest.raises(AttributeError):
        problem.code = "other"  # type: ignore[misc]


def test_parse_id_accepts_uuids_and_their_text() -> None:
    ident = uuid.uuid4()
    assert parse_id(ident) is ident
    assert parse_id(str(ident)) == ident
    assert parse_id(ident.hex.upper(), "workflow") == ident


@pytest.mark.parametrize("value", ["", "42", "not-a-uuid", "../../etc/passwd", "x" * 10_000])
def test_a_malformed_id_is_not_found_and_named(value: str) -> None:
    with pytest.raises(NotFoundError) as info:
        parse_id(value, "workflow")
    assert info.value.status == 404
    assert info.value.detail.startswith("workflow '")
    assert "ids are UUIDs" in info.value.detail
