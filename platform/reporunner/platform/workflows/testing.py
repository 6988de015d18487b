"""Run a workflow's test cases and check their assertions: :func:`run_tests`.

Each case is one run of the compiled workflow from the case's trigger input, with its pinned
nodes handing on their pinned outputs instead of running, and without a checkpointer (a test
run is not resumable: an approval node in a tested path must be pinned). The caller supplies
what a run needs (services, credentials) and the judge for ``judge`` checks, so the CLI and
the worker share this code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from reporunner.agents.judge import judge as ask_judge
from reporunner.agents.llm import resolve_llm_config
from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.engine import (
    CompiledWorkflow,
    ExecutionResult,
    NullHooks,
    run_execution,
)
from reporunner.platform.engine.testcases import Assertion, TestCase

__all__ = [
    "AssertionResult",
    "CaseResult",
    "Judge",
    "TestReport",
    "case_runner",
    "check_assertion",
    "llm_judge",
    "run_tests",
    "value_at",
]

Judge = Callable[[Any, str, str | None], Awaitable[tuple[bool, str, int, float]]]
"""``(value, criteria, model) -> (passed, reason, tokens, cost_usd)``."""

_MISSING = object()
SHOWN_CHARS = 300


@dataclass(frozen=True, slots=True)
class AssertionResult:
    """How one assertion went."""

    index: int
    check: str
    node: str | None
    path: str
    passed: bool
    message: str


@dataclass(slots=True)
class CaseResult:
    """How one test case went."""

    name: str
    passed: bool
    status: str
    duration_ms: float
    error: dict[str, Any] | None = None
    assertions: list[AssertionResult] = field(default_factory=list)
    tokens: int = 0
    cost_usd: float = 0.0


@dataclass(slots=True)
class TestReport:
    """All cases of one test run."""

    __test__ = False  # not a pytest class

    cases: list[CaseResult]

    @property
    def passed(self) -> bool:
        """True when every case passed (and there was at least one)."""
        return bool(self.cases) and all(c.passed for c in self.cases)

    def as_json(self) -> dict[str, Any]:
        """The report as stored and returned by the API."""
        return {
            "passed": self.passed,
            "total": len(self.cases),
            "failed": sum(not c.passed for c in self.cases),
            "tokens": sum(c.tokens for c in self.cases),
            "cost_usd": round(sum(c.cost_usd for c in self.cases), 6),
            "cases": [asdict(c) for c in self.cases],
        }


def value_at(items: Any, path: str) -> Any:
    """The value at a dot-separated ``path`` (list indexes as numbers); raises KeyError."""
    value = items
    for part in path.split(".") if path else ():
        if isinstance(value, list):
            try:
                value = value[int(part)]
            except (ValueError, IndexError):
                raise KeyError(f"no item '{part}' (the list has {len(value)})") from None
        elif isinstance(value, dict):
            if part not in value:
                keys = ", ".join(sorted(map(str, value))[:10]) or "none"
                raise KeyError(f"no key '{part}' (keys: {keys})")
            value = value[part]
        else:
            raise KeyError(f"'{part}' is inside a {type(value).__name__}, not an object or list")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, str):
        return isinstance(expected, str) and expected in value
    if isinstance(value, list):
        return expected in value
    if isinstance(value, dict) and isinstance(expected, dict):
        return all(k in value and value[k] == v for k, v in expected.items())
    return False


def _items(check: Assertion, result: ExecutionResult) -> Any:
    if check.node is None:
        return result.final_items
    ports = result.outputs.get(check.node)
    if ports is None:
        raise KeyError(f"node '{check.node}' did not run")
    if check.port not in ports:
        raise KeyError(f"node '{check.node}' sent nothing out of port '{check.port}'")
    return ports[check.port]


async def check_assertion(
    index: int, check: Assertion, result: ExecutionResult, judge: Judge | None
) -> tuple[AssertionResult, int, float]:
    """Check one assertion against a run's result: ``(result, judge tokens, judge cost)``."""
    where = f"{check.node or 'final items'}{'.' + check.path if check.path else ''}"

    def done(passed: bool, message: str) -> AssertionResult:
        return AssertionResult(index, check.check, check.node, check.path, passed, message)

    try:
        value = value_at(_items(check, result), check.path)
    except KeyError as err:
        return done(False, f"{where}: {err.args[0]}"), 0, 0.0
    expected = check.expected
    if check.check == "equals":
        ok = value == expected
        return done(ok, f"{where} is {_shown(value)}, expected {_shown(expected)}"), 0, 0.0
    if check.check == "contains":
        ok = _contains(value, expected)
        verb = "contains" if ok else "does not contain"
        return done(ok, f"{where} {verb} {_shown(expected)}: {_shown(value)}"), 0, 0.0
    if check.check == "regex":
        if not isinstance(value, str):
            return done(False, f"{where} is not a string: {_shown(value)}"), 0, 0.0
        ok = re2.search(str(expected), value) is not None
        verb = "matches" if ok else "does not match"
        return done(ok, f"{where} {verb} /{expected}/: {_shown(value)}"), 0, 0.0
    if check.check == "json_schema":
        errors = sorted(Draft202012Validator(expected).iter_errors(value), key=lambda e: e.path)
        if not errors:
            return done(True, f"{where} is valid against the schema"), 0, 0.0
        first = errors[0]
        pointer = "/" + "/".join(str(p) for p in first.absolute_path)
        return done(False, f"{where}{pointer}: {first.message}"), 0, 0.0
    # judge
    if judge is None:
        return done(False, f"{where}: no judge model is configured"), 0, 0.0
    try:
        passed, reason, tokens, cost = await judge(value, str(expected), check.judge_model)
    except ReporunnerError as err:
        return done(False, f"{where}: the judge could not answer: {err.detail}"), 0, 0.0
    return done(passed, f"{where}: judge says {reason}"), tokens, cost


def llm_judge(default_model: str | None = None) -> Judge:
    """The judge for ``judge`` checks: the check's model, else ``default_model``, else
    ``REPORUNNER_LLM_MODEL``; a missing model fails the check with what to set."""

    async def call(value: Any, criteria: str, model: str | None) -> tuple[bool, str, int, float]:
        config = resolve_llm_config(model or default_model)
        verdict = await ask_judge(value, criteria, config)
        return verdict.passed, verdict.reason, verdict.tokens, verdict.cost_usd

    return call


RunCase = Callable[[TestCase], Awaitable[ExecutionResult]]


def case_runner(
    compiled: CompiledWorkflow,
    *,
    workspace_id: str,
    services: Mapping[str, Any] | None = None,
    credentials: Mapping[str, Any] | None = None,
    max_output_bytes: int = 16 * 1024 * 1024,
    max_seconds: float | None = None,
) -> RunCase:
    """A function that runs one case of ``compiled`` (no checkpointer, nothing recorded)."""

    async def run(case: TestCase) -> ExecutionResult:
        return await run_execution(
            compiled,
            execution_id=f"test-{uuid.uuid4()}",
            workspace_id=workspace_id,
            trigger=dict(case.trigger),
            checkpointer=None,
            hooks=NullHooks(),
            services=services,
            credentials=credentials,
            trigger_node=case.trigger_node,
            max_output_bytes=max_output_bytes,
            max_seconds=max_seconds,
            pinned=case.pinned,
        )

    return run


async def run_tests(
    cases: Sequence[TestCase],
    run_case: RunCase,
    *,
    judge: Judge | None = None,
    on_case: Callable[[CaseResult], Awaitable[None]] | None = None,
) -> TestReport:
    """Run ``cases`` one after the other and check their assertions.

    Args:
        cases: The test cases (a workflow's ``tests``, or some of them).
        run_case: Runs one case (see :func:`case_runner`).
        judge: Decides ``judge`` checks; without one they fail, saying so.
        on_case: Awaited with each case's result as soon as it is known (progress).
    """
    results: list[CaseResult] = []
    for case in cases:
        started = time.perf_counter()
        outcome = await run_case(case)
        result = CaseResult(
            name=case.name,
            passed=True,
            status=outcome.status,
            duration_ms=0.0,
            error=outcome.error,
        )
        if outcome.status != case.expect_status:
            why = ""
            if outcome.error:
                node = outcome.error.get("node")
                why = f" at node '{node}'" if node else ""
                why += f": {outcome.error.get('message')}"
            result.assertions.append(
                AssertionResult(
                    -1,
                    "status",
                    None,
                    "",
                    False,
                    f"the run ended {outcome.status}, expected {case.expect_status}{why}",
                )
            )
        for i, check in enumerate(case.assertions):
            checked, tokens, cost = await check_assertion(i, check, outcome, judge)
            result.assertions.append(checked)
            result.tokens += tokens
            result.cost_usd += cost
        result.passed = all(a.passed for a in result.assertions)
        result.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        results.append(result)
        if on_case is not None:
            await on_case(result)
    return TestReport(results)
