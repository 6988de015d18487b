"""Test cases a workflow carries: a trigger input, pinned node outputs and assertions.

They are part of the definition (so a version's tests are the ones saved with it) and are
checked by :func:`reporunner.platform.workflows.testing.run_tests`; the engine only needs
:attr:`TestCase.pinned` (a pinned node hands on its pinned output instead of running).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_ASSERTIONS", "MAX_TEST_CASES", "Assertion", "TestCase"]

MAX_TEST_CASES = 50
MAX_ASSERTIONS = 50

Check = Literal["equals", "contains", "json_schema", "regex", "judge"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assertion(_Model):
    """One check of a node's output (or of the run's final items)."""

    check: Check = Field(
        description="'equals': the value equals 'expected'; 'contains': a string contains "
        "'expected' as a substring, a list contains it as an element, an object contains its "
        "keys with equal values; 'json_schema': the value is valid against the schema in "
        "'expected'; 'regex': the value (a string) matches the pattern in 'expected'; "
        "'judge': a model decides whether the value meets the criteria in 'expected'."
    )
    node: str | None = Field(
        None,
        description="Node whose output is checked; null checks the final items (what the "
        "nodes without outgoing edges sent out of 'main').",
    )
    port: str = Field("main", description="Output port of 'node' whose items are checked.")
    path: str = Field(
        "",
        max_length=500,
        description="Where in the items the value is, dot-separated: '' is the whole list of "
        "items, '0' the first item, '0.body.name' a field of it.",
    )
    expected: Any = Field(
        None,
        description="The expected value ('equals', 'contains'), the JSON Schema "
        "('json_schema'), the pattern ('regex') or the criteria in words ('judge').",
    )
    judge_model: str | None = Field(
        None,
        description="'judge' only: the litellm model that judges; the server's default model "
        "(REPORUNNER_LLM_MODEL) if null.",
    )


class TestCase(_Model):
    """One test of a workflow: run it from a trigger input and check what came out."""

    __test__ = False  # not a pytest class

    name: str = Field(
        min_length=1, max_length=200, description="Unique name of the case within the workflow."
    )
    trigger: dict[str, Any] = Field(
        default_factory=dict, description="The item the trigger node starts the run with."
    )
    trigger_node: str | None = Field(
        None, description="Trigger node to start from (the first trigger if null)."
    )
    pinned: dict[str, dict[str, list[dict[str, Any]]]] = Field(
        default_factory=dict,
        description="Outputs to use instead of running a node, by node id then port "
        '(e.g. {"fetch": {"main": [{"status": 200}]}}): an HTTP or LLM node need not run.',
    )
    expect_status: Literal["succeeded", "failed", "waiting"] = Field(
        "succeeded", description="How the run must end."
    )
    assertions: list[Assertion] = Field(
        default_factory=list,
        max_length=MAX_ASSERTIONS,
        description="Checks of the outputs; all must pass.",
    )
