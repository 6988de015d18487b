"""Agent evaluations: datasets of inputs with expectations and scorers, run over an agent or a
workflow on workers, with per-case results, token and cost totals, and run comparisons."""

from reporunner.platform.evaluations.cases import (
    Answer,
    AnswerFn,
    evaluate_cases,
    score_answer,
    summary,
)
from reporunner.platform.evaluations.schemas import (
    Comparison,
    DatasetIn,
    DatasetOut,
    EvalCase,
    EvalRunIn,
    EvalRunOut,
    Scorer,
    Target,
)
from reporunner.platform.evaluations.scorers import answer_text, score
from reporunner.platform.evaluations.service import (
    agent_definition,
    cancel_run,
    compare_runs,
    create_dataset,
    delete_dataset,
    execute_run,
    get_dataset,
    get_run,
    list_datasets,
    list_runs,
    start_run,
    wait_for_run,
)

__all__ = [
    "Answer",
    "AnswerFn",
    "Comparison",
    "DatasetIn",
    "DatasetOut",
    "EvalCase",
    "EvalRunIn",
    "EvalRunOut",
    "Scorer",
    "Target",
    "agent_definition",
    "answer_text",
    "cancel_run",
    "compare_runs",
    "create_dataset",
    "delete_dataset",
    "evaluate_cases",
    "execute_run",
    "get_dataset",
    "get_run",
    "list_datasets",
    "list_runs",
    "score",
    "score_answer",
    "start_run",
    "summary",
    "wait_for_run",
]
