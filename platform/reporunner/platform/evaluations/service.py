"""Datasets, runs on workers, cancellation and the comparison of two runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import re2  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reporunner.knowledge.embeddings import embedder_for
from reporunner.nodes.base import Item
from reporunner.nodes.errors import (
    ConflictError,
    NotFoundError,
    Problem,
    ReporunnerError,
    ValidationFailed,
)
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.db.models import EvalDataset, EvalRun
from reporunner.platform.db.session import transaction
from reporunner.platform.engine import (
    CompiledWorkflow,
    NullHooks,
    WorkflowDefinition,
    compile_workflow,
    parse_definition,
    raise_for_problems,
    run_execution,
    validate,
)
from reporunner.platform.evaluations.cases import Answer, AnswerFn, evaluate_cases, summary
from reporunner.platform.evaluations.schemas import (
    Comparison,
    DatasetIn,
    DatasetOut,
    EvalRunIn,
    EvalRunOut,
    Scorer,
)
from reporunner.platform.evaluations.scorers import Embed, answer_text
from reporunner.platform.executions import RunInfo, build_services
from reporunner.platform.executions.credentials import resolve_for_run
from reporunner.platform.executions.node_services import ServiceProvider
from reporunner.platform.executions.queue import wake_workers
from reporunner.platform.resources import Resources
from reporunner.platform.workflows import load_version
from reporunner.platform.workflows.testing import llm_judge

__all__ = [
    "JOB_NAME",
    "agent_definition",
    "cancel_run",
    "compare_runs",
    "create_dataset",
    "delete_dataset",
    "execute_run",
    "get_dataset",
    "get_run",
    "list_datasets",
    "list_runs",
    "start_run",
    "wait_for_run",
]

JOB_NAME = "run_evaluation"
ACTIVE = ("queued", "running")
CANCEL_POLL_SECONDS = 0.5
log = logging.getLogger("reporunner.evaluations")


# -- datasets


def _check_scorer(scorer: Scorer, expected: Any, at: str) -> list[Problem]:
    value = scorer.expected if scorer.expected is not None else expected
    if scorer.type == "regex":
        try:
            re2.compile(str(value))
        except re2.error as err:
            return [Problem(at, "invalid_scorer", f"the regex {value!r} fails: {err}")]
    elif scorer.type == "json_schema":
        try:
            if not isinstance(value, dict):
                raise SchemaError("a JSON Schema is an object")
            Draft202012Validator.check_schema(value)
        except SchemaError as err:
            return [Problem(at, "invalid_scorer", f"not a valid JSON Schema: {err.message}")]
    elif scorer.type == "judge":
        if not scorer.criteria and value is None:
            return [Problem(at, "invalid_scorer", "a judge needs 'criteria' or an expected value")]
    elif value is None:
        return [Problem(at, "invalid_scorer", f"a '{scorer.type}' scorer needs an expected value")]
    return []


def _check_dataset(body: DatasetIn) -> None:
    problems: list[Problem] = []
    for c, case in enumerate(body.cases):
        own = bool(case.scorers)
        for s, scorer in enumerate(case.scorers or body.scorers):
            at = f"/cases/{c}/scorers/{s}" if own else f"/scorers/{s}"
            problems += _check_scorer(scorer, case.expected, at)
            if not own and problems and problems[-1].pointer == at:
                problems[-1] = Problem(
                    f"/cases/{c}/expected", problems[-1].code, problems[-1].message
                )
    if problems:
        raise ValidationFailed(
            f"the dataset has {len(problems)} problem(s): {problems[0].message}", problems
        )


def _dataset_out(row: EvalDataset) -> DatasetOut:
    return DatasetOut(
        id=row.id,
        name=row.name,
        description=row.description,
        scorers=list(row.scorers),
        cases=list(row.cases),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_dataset(
    session: AsyncSession, workspace_id: uuid.UUID, body: DatasetIn, user_id: uuid.UUID | None
) -> DatasetOut:
    """Store a dataset.

    Raises:
        ValidationFailed: a scorer cannot work (bad regex or schema, nothing to compare with).
    """
    _check_dataset(body)
    row = EvalDataset(
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        scorers=[s.model_dump(mode="json", exclude_none=True) for s in body.scorers],
        cases=[c.model_dump(mode="json", exclude_none=True) for c in body.cases],
        created_by=user_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return _dataset_out(row)


async def _dataset(
    session: AsyncSession, workspace_id: uuid.UUID, dataset_id: uuid.UUID
) -> EvalDataset:
    row = await session.scalar(
        select(EvalDataset).where(
            EvalDataset.id == dataset_id, EvalDataset.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFoundError(f"dataset {dataset_id} does not exist in this workspace")
    return row


async def get_dataset(
    session: AsyncSession, workspace_id: uuid.UUID, dataset_id: uuid.UUID
) -> DatasetOut:
    return _dataset_out(await _dataset(session, workspace_id, dataset_id))


async def list_datasets(session: AsyncSession, workspace_id: uuid.UUID) -> list[DatasetOut]:
    rows = await session.scalars(
        select(EvalDataset)
        .where(EvalDataset.workspace_id == workspace_id)
        .order_by(EvalDataset.created_at.desc(), EvalDataset.id)
    )
    return [_dataset_out(r) for r in rows]


async def delete_dataset(
    session: AsyncSession, workspace_id: uuid.UUID, dataset_id: uuid.UUID
) -> None:
    """Delete a dataset with its runs.

    Raises:
        ConflictError: one of its runs is still queued or running; cancel it first.
    """
    row = await _dataset(session, workspace_id, dataset_id)
    busy = await session.scalar(
        select(EvalRun.id).where(EvalRun.dataset_id == row.id, EvalRun.status.in_(ACTIVE))
    )
    if busy is not None:
        raise ConflictError(f"run {busy} of this dataset is still active; cancel it first")
    await session.execute(delete(EvalDataset).where(EvalDataset.id == row.id))


# -- targets


def agent_definition(agent: Mapping[str, Any]) -> dict[str, Any]:
    """The one-node workflow an agent configuration is evaluated as."""
    params = {**agent, "prompt": "{{ trigger.message }}"}
    return {
        "name": "evaluated agent",
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "agent", "type": "ai.agent", "params": params},
        ],
        "edges": [{"source": "start", "target": "agent"}],
    }


def _agent_workflow(agent: Mapping[str, Any], registry: NodeRegistry) -> WorkflowDefinition:
    definition = agent_definition(agent)
    problems = validate(definition, registry)
    if problems:
        moved = [
            Problem(p.pointer.replace("/nodes/1/params", "/target/agent", 1), p.code, p.message)
            for p in problems
        ]
        raise_for_problems(moved)
    return parse_definition(definition)


# -- runs


def _run_out(row: EvalRun) -> EvalRunOut:
    return EvalRunOut(
        id=row.id,
        dataset_id=row.dataset_id,
        target=dict(row.target),
        note=row.note,
        status=row.status,
        summary=row.summary,
        results=list(row.results),
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


async def start_run(
    resources: Resources,
    workspace_id: uuid.UUID,
    body: EvalRunIn,
    registry: NodeRegistry,
    *,
    user_id: uuid.UUID | None,
) -> EvalRunOut:
    """Store a queued evaluation run and queue its job (after the commit).

    Raises:
        NotFoundError: no such dataset or workflow (version) in the workspace.
        ValidationFailed: the agent configuration is invalid (pointers under /target/agent).
    """
    target = body.target.model_dump(mode="json", exclude_none=True)
    async with transaction(resources.sessions) as session:
        await _dataset(session, workspace_id, body.dataset_id)
        if body.target.workflow_id is not None:
            _, version = await load_version(
                session, workspace_id, body.target.workflow_id, body.target.version
            )
            target["version"] = version.number
        else:
            assert body.target.agent is not None
            _agent_workflow(body.target.agent, registry)
        row = EvalRun(
            workspace_id=workspace_id,
            dataset_id=body.dataset_id,
            target=target,
            note=body.note,
            status="queued",
            cancel_requested=False,
            results=[],
            created_by=user_id,
        )
        session.add(row)
        await session.flush()
        await session.refresh(row)
        out = _run_out(row)
    await resources.arq.enqueue_job(JOB_NAME, str(out.id), _job_id=f"eval-run:{out.id}")
    await wake_workers(resources.arq, resources.settings.queue_name)
    return out


async def _run(session: AsyncSession, workspace_id: uuid.UUID, run_id: uuid.UUID) -> EvalRun:
    row = await session.scalar(
        select(EvalRun).where(EvalRun.id == run_id, EvalRun.workspace_id == workspace_id)
    )
    if row is None:
        raise NotFoundError(f"evaluation run {run_id} does not exist in this workspace")
    return row


async def get_run(session: AsyncSession, workspace_id: uuid.UUID, run_id: uuid.UUID) -> EvalRunOut:
    return _run_out(await _run(session, workspace_id, run_id))


async def list_runs(
    session: AsyncSession, workspace_id: uuid.UUID, dataset_id: uuid.UUID | None = None
) -> list[EvalRunOut]:
    query = select(EvalRun).where(EvalRun.workspace_id == workspace_id)
    if dataset_id is not None:
        query = query.where(EvalRun.dataset_id == dataset_id)
    rows = await session.scalars(query.order_by(EvalRun.created_at.desc(), EvalRun.id).limit(200))
    return [_run_out(r) for r in rows]


async def cancel_run(
    session: AsyncSession, workspace_id: uuid.UUID, run_id: uuid.UUID
) -> EvalRunOut:
    """Ask a run to stop: a queued one is cancelled at once, a running one stops its case in
    flight and keeps the results of the cases that ended.

    Raises:
        ConflictError: the run has ended already.
    """
    row = await _run(session, workspace_id, run_id)
    if row.status not in ACTIVE:
        raise ConflictError(f"evaluation run {run_id} has ended ({row.status})")
    row.cancel_requested = True
    if row.status == "queued":
        row.status = "cancelled"
        row.finished_at = datetime.now(UTC)
    await session.flush()
    return _run_out(row)


async def wait_for_run(
    resources: Resources, workspace_id: uuid.UUID, run_id: uuid.UUID, timeout: float
) -> EvalRunOut:
    """The run once it ended, or as it stands after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        async with resources.sessions() as session:
            out = await get_run(session, workspace_id, run_id)
        if out.status not in ACTIVE or time.monotonic() >= deadline:
            return out
        await asyncio.sleep(0.2)


def _scores(results: Sequence[Mapping[str, Any]]) -> dict[int, float]:
    return {int(r["index"]): float(r["score"]) for r in results if r.get("score") is not None}


async def compare_runs(
    session: AsyncSession, workspace_id: uuid.UUID, a_id: uuid.UUID, b_id: uuid.UUID
) -> Comparison:
    """Which cases got better or worse from run ``a`` to run ``b`` (same dataset).

    Raises:
        ValidationFailed: the runs are of different datasets.
    """
    a = await _run(session, workspace_id, a_id)
    b = await _run(session, workspace_id, b_id)
    if a.dataset_id != b.dataset_id:
        raise ValidationFailed(
            "only runs of the same dataset compare; these ran different datasets",
            [Problem("/other_id", "different_datasets", "another dataset's run")],
        )
    sa, sb = _scores(a.results), _scores(b.results)
    names = {int(r["index"]): r.get("name") for r in [*a.results, *b.results]}
    cases, counts = [], {"better": 0, "worse": 0, "same": 0}
    for index in sorted(set(sa) | set(sb)):
        x, y = sa.get(index), sb.get(index)
        change = "same"
        if x is not None and y is not None and abs(x - y) > 1e-9:
            change = "better" if y > x else "worse"
        counts[change] += 1
        cases.append(
            {"index": index, "name": names.get(index), "score_a": x, "score_b": y, "change": change}
        )
    return Comparison(
        a=a.id,
        b=b.id,
        better=counts["better"],
        worse=counts["worse"],
        same=counts["same"],
        mean_score_a=(a.summary or {}).get("mean_score"),
        mean_score_b=(b.summary or {}).get("mean_score"),
        cases=cases,
    )


# -- the worker's side


class _UsageHooks(NullHooks):
    """Adds up the ``usage`` events of one run."""

    def __init__(self) -> None:
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost = Decimal(0)

    async def publish(self, event: str, data: Mapping[str, Any]) -> None:
        if event != "usage":
            return
        with contextlib.suppress(ValueError, ArithmeticError, TypeError):
            self.tokens_in += int(data.get("tokens_in") or 0)
            self.tokens_out += int(data.get("tokens_out") or 0)
            self.cost += Decimal(str(data.get("cost_usd") or 0))


def _trigger(
    compiled: CompiledWorkflow, value: str | dict[str, Any], thread: str
) -> dict[str, Any]:
    """The trigger item of a case: an object input as it is; a message as a chat turn for a
    chat-triggered workflow (a thread of its own per case, no history), else ``{message}``."""
    if isinstance(value, dict):
        return dict(value)
    types = {compiled.nodes[nid].spec.type for nid in compiled.triggers}
    if "trigger.chat" in types:
        return {"message": value, "thread_id": thread, "user": None, "history": []}
    return {"message": value}


async def _claim(resources: Resources, run_id: uuid.UUID) -> EvalRun | None:
    async with transaction(resources.sessions) as session:
        row: EvalRun | None = await session.scalar(
            update(EvalRun)
            .where(
                EvalRun.id == run_id,
                EvalRun.status.in_(ACTIVE),
                EvalRun.cancel_requested.is_(False),
            )
            .values(status="running", started_at=datetime.now(UTC))
            .returning(EvalRun)
        )
        return row


async def _save(
    resources: Resources,
    run_id: uuid.UUID,
    results: list[dict[str, Any]],
    summary: dict[str, Any],
    status: str | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    values: dict[str, Any] = {"results": results, "summary": summary}
    if status is not None:
        values.update(status=status, finished_at=datetime.now(UTC), error=error)
    async with transaction(resources.sessions) as session:
        await session.execute(update(EvalRun).where(EvalRun.id == run_id).values(**values))


async def _cancelled(resources: Resources, run_id: uuid.UUID) -> bool:
    async with resources.sessions() as session:
        flag = await session.scalar(select(EvalRun.cancel_requested).where(EvalRun.id == run_id))
    return flag is None or bool(flag)


async def _watch(resources: Resources, run_id: uuid.UUID, event: asyncio.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(CANCEL_POLL_SECONDS)
        try:
            if await _cancelled(resources, run_id):
                event.set()
        except Exception:  # a database hiccup: look again next time
            log.debug("could not read the cancel flag of %s", run_id, exc_info=True)


def _embed(model: str) -> Embed:
    async def embed(texts: Sequence[str]) -> list[list[float]]:
        return await embedder_for(model).embed(list(texts))

    return embed


async def _target(
    resources: Resources, row: EvalRun, registry: NodeRegistry
) -> tuple[CompiledWorkflow, dict[str, Any]]:
    async with transaction(resources.sessions) as session:
        target = row.target
        if target.get("workflow_id"):
            _, version = await load_version(
                session, row.workspace_id, uuid.UUID(target["workflow_id"]), target.get("version")
            )
            definition = parse_definition(version.definition)
        else:
            definition = _agent_workflow(target.get("agent") or {}, registry)
        compiled = compile_workflow(definition, registry)
        credentials = await resolve_for_run(session, resources, row.workspace_id, row.id, compiled)
    return compiled, credentials


def _case_answer(
    resources: Resources,
    row: EvalRun,
    compiled: CompiledWorkflow,
    services: Mapping[str, Any],
    credentials: Mapping[str, Any],
) -> AnswerFn:
    """Runs the compiled target on a case (no checkpointer), stopped by a cancel."""

    async def answer(index: int, case: Mapping[str, Any]) -> Answer:
        hooks = _UsageHooks()
        case_id = f"eval-{row.id}-{index}"
        cancel = asyncio.Event()
        watcher = asyncio.create_task(_watch(resources, row.id, cancel))
        try:
            outcome = await run_execution(
                compiled,
                execution_id=case_id,
                workspace_id=str(row.workspace_id),
                trigger=_trigger(compiled, case["input"], case_id),
                checkpointer=None,
                hooks=hooks,
                services=services,
                credentials=credentials,
                cancel_event=cancel,
                max_output_bytes=resources.settings.max_output_bytes,
                max_seconds=resources.settings.execution_timeout_seconds,
            )
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        made = Answer(
            outcome.status,
            error=outcome.error,
            tokens_in=hooks.tokens_in,
            tokens_out=hooks.tokens_out,
            cost_usd=float(hooks.cost),
        )
        if outcome.status == "succeeded":
            items: list[Item] = outcome.final_items or [{}]
            last = items[-1] if isinstance(items[-1], dict) else {"text": str(items[-1])}
            made.text = answer_text(last)
            structured = last.get("output")
            made.value = structured if isinstance(structured, dict | list) else made.text
        return made

    return answer


async def execute_run(
    resources: Resources,
    run_id: uuid.UUID,
    registry: NodeRegistry,
    providers: Sequence[ServiceProvider],
) -> str:
    """Run an evaluation's cases one after the other, saving each result as it ends (the
    worker's job). A run picked up again after its worker died goes on after the last saved
    case; a cancelled one stops its case in flight and keeps what ended."""
    row = await _claim(resources, run_id)
    if row is None:
        return "gone"
    async with resources.sessions() as session:
        dataset = await session.get(EvalDataset, row.dataset_id)
    if dataset is None:
        return "gone"
    cases = list(dataset.cases)
    defaults = [Scorer.model_validate(s) for s in dataset.scorers]
    results: list[dict[str, Any]] = list(row.results)
    try:
        compiled, credentials = await _target(resources, row, registry)
    except ReporunnerError as err:
        error = {"code": err.code, "message": err.detail}
        await _save(resources, run_id, results, summary(len(cases), results), "failed", error)
        return "failed"
    info = RunInfo(row.id, uuid.uuid4(), 0, compiled, None, registry, "manual")
    services = build_services(resources, row.workspace_id, info, providers)

    async def stop() -> bool:
        return await _cancelled(resources, run_id)

    async def save(so_far: list[dict[str, Any]]) -> None:
        await _save(resources, run_id, so_far, summary(len(cases), so_far))

    results = await evaluate_cases(
        cases,
        defaults,
        _case_answer(resources, row, compiled, services, credentials),
        judge=llm_judge(resources.settings.llm_model),
        embed=_embed(resources.settings.embedding_model),
        done=results,
        stop=stop,
        on_result=save,
    )
    status = "cancelled" if await _cancelled(resources, run_id) else "succeeded"
    await _save(resources, run_id, results, summary(len(cases), results), status)
    log.info("evaluation run %s: %s, %d of %d cases", run_id, status, len(results), len(cases))
    return status
