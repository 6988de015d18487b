"""Copilot evaluation: descriptions → workflows, how often valid, and how close to expected.

Runs every case of ``bench/data/copilot_cases.jsonl`` (a description and the node types a
sensible workflow for it uses) through the copilot with the engine's validator, as an
evaluation (the loop, scorers and totals of ``reporunner.platform.evaluations``, with the
copilot as the target and a ``json_schema`` scorer for the expected node types), and reports:

* ``valid_first_try`` — the model's first answer passed validation;
* ``valid_after_repair`` — a valid workflow came out within the repair rounds (the ``ratio``);
* ``structural_match`` — the workflow uses every expected node type (types that are not
  registered in this installation are left out, and listed);
* ``retrieval_recall`` — share of expected (registered) types the retrieval offered the model.

Without a model configured (or with ``REPORUNNER_LLM_MODEL=scripted/...``) a scripted model
answers: it builds a chain from the expected types that were offered (so retrieval misses
show), and every other case its first answer is broken (unknown type, bad param, dangling
edge in turn) so the repair path is exercised. That tests the pipeline, not a model. With a
real ``REPORUNNER_LLM_MODEL`` (and its key) it measures that model.

Usage::

    python bench/copilot_eval.py [--quick] [--cases FILE] [--max-repairs N]

The last line printed is one JSON object with ``"ratio"`` (valid after repair / cases).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reporunner.agents.copilot import Copilot, CopilotFailed
from reporunner.agents.copilot.prompt import GENERATE_TOOL
from reporunner.agents.llm import LLMClient, LLMConfig, resolve_llm_config
from reporunner.agents.testing import Reply, ScriptedRequest, scripted_llm, tool_call
from reporunner.nodes.registry import NodeRegistry, default_registry
from reporunner.platform.copilot import registry_catalog
from reporunner.platform.engine import WorkflowDefinition, parse_definition, validate
from reporunner.platform.engine.validate import required_credentials
from reporunner.platform.evaluations import Answer, Scorer, evaluate_cases, summary

CASES = Path(__file__).parent / "data" / "copilot_cases.jsonl"
QUICK_CASES = 8
_OFFERED = re.compile(r'"type":"([a-z0-9_.]+)"')
_BREAKAGES = ("unknown_type", "bad_param", "dangling_edge")


def load_cases(path: Path) -> list[dict[str, Any]]:
    """The cases, one JSON object per line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class ScriptedDesigner:
    """Plays the model: chains the expected types it was offered, with catalog examples."""

    def __init__(self, cases: list[dict[str, Any]], registry: NodeRegistry) -> None:
        self.cases = {c["description"]: (i, c) for i, c in enumerate(cases)}
        self.registry = registry
        self.entries = {e["type"]: e for e in registry_catalog(registry)}

    def _node(self, type_: str, index: int) -> dict[str, Any]:
        entry = self.entries[type_]
        params = copy.deepcopy(entry["example"])
        node: dict[str, Any] = {"id": f"n{index}_{type_.replace('.', '_')}", "type": type_}
        node["params"] = params
        needed = required_credentials(self.registry.get(type_), params)
        if needed:
            node["credentials"] = {sorted(needed)[0]: "x"}
        return node

    def design(self, case: dict[str, Any], offered: set[str]) -> dict[str, Any]:
        """A linear workflow: a trigger, then the other expected types, sinks last."""
        usable = [t for t in case["expected"] if t in offered and t in self.entries]
        triggers = [t for t in usable if self.entries[t]["category"] == "trigger"]
        rest = [t for t in usable if self.entries[t]["category"] != "trigger"]
        rest.sort(key=lambda t: not self.entries[t]["outputs"])  # stable: sinks go last
        types = [triggers[0] if triggers else "trigger.manual", *rest]
        nodes = [self._node(t, i) for i, t in enumerate(types)]
        edges = []
        for before, after in itertools.pairwise(nodes):
            outputs = self.entries[before["type"]]["outputs"]
            inputs = self.entries[after["type"]]["inputs"]
            if outputs and inputs:
                edges.append(
                    {"source": before["id"], "target": after["id"],
                     "source_port": outputs[0]["name"], "target_port": inputs[0]["name"]}
                )  # fmt: skip
        return {"name": case["id"], "nodes": nodes, "edges": edges}

    @staticmethod
    def _break(definition: dict[str, Any], how: str) -> dict[str, Any]:
        broken = copy.deepcopy(definition)
        if how == "unknown_type":
            broken["nodes"][-1]["type"] += "x"
        elif how == "bad_param":
            broken["nodes"][-1]["params"]["no_such_param"] = 1
        else:
            broken["edges"].append({"source": broken["nodes"][0]["id"], "target": "ghost"})
        return broken

    def __call__(self, request: ScriptedRequest) -> Reply:
        system = str(request.messages[0]["content"])
        user = str(request.messages[1]["content"]).split("\n", 1)[-1].strip()
        index, case = self.cases[user]
        definition = self.design(case, set(_OFFERED.findall(system)))
        first = not any(m.get("role") == "assistant" for m in request.messages)
        if first and index % 2 == 0:
            definition = self._break(definition, _BREAKAGES[(index // 2) % len(_BREAKAGES)])
        args = {"definition": definition, "explanations": {}, "summary": case["description"]}
        return Reply(tool_calls=[tool_call(GENERATE_TOOL, args)], prompt_tokens=len(system) // 4)


def _copilot(registry: NodeRegistry, config: LLMConfig, max_repairs: int) -> Copilot:
    def check(raw: Mapping[str, Any]) -> Any:
        return validate(raw, registry)

    return Copilot(
        LLMClient(config),
        check,
        registry_catalog(registry),
        max_repairs=max_repairs,
        definition_schema=WorkflowDefinition.model_json_schema(),
        normalize=lambda d: parse_definition(d).model_dump(mode="json"),
    )


def structure_schema(types: set[str]) -> dict[str, Any]:
    """JSON Schema of a workflow that uses every one of ``types`` (the structural check)."""
    has = [
        {"contains": {"type": "object", "properties": {"type": {"const": t}}, "required": ["type"]}}
        for t in sorted(types)
    ]
    return {"type": "object", "properties": {"nodes": {"type": "array", "allOf": has}}}


async def evaluate(
    cases: list[dict[str, Any]], copilot: Copilot, registry: NodeRegistry
) -> dict[str, Any]:
    """Run the cases through the evaluation loop the platform's evaluation runs use
    (``reporunner.platform.evaluations.evaluate_cases``): the copilot is the target, its
    generated workflow the answer, and a ``json_schema`` scorer checks it holds every expected
    (registered) node type. Per-case lines on stderr, totals returned."""
    known = set(registry.types())
    unavailable = {t for case in cases for t in case["expected"]} - known
    dataset = [
        {
            "name": case["id"],
            "input": case["description"],
            "expected": structure_schema({t for t in case["expected"] if t in known}),
        }
        for case in cases
    ]

    async def answer(index: int, case: Mapping[str, Any]) -> Answer:
        expected = {t for t in cases[index]["expected"] if t in known}
        offered = {c.type for c in await copilot.index.candidates(case["input"])}
        recall = {"recall_hits": len(expected & offered), "recall_total": len(expected)}
        try:
            result = await copilot.generate(case["input"])
        except CopilotFailed as err:
            print(f"{case['name']}: invalid after {err.attempts} answers", file=sys.stderr)
            error = {"code": "copilot_failed", "message": str(err)}
            return Answer("failed", error=error, extra={**recall, "answers": err.attempts})
        used = {n["type"] for n in result.definition["nodes"]}
        print(
            f"{case['name']}: valid after {len(result.attempts)} answer(s); "
            f"missing types {sorted(expected - used)}",
            file=sys.stderr,
        )
        return Answer(
            "succeeded",
            value=result.definition,
            text=result.summary,
            tokens_in=result.usage.prompt_tokens,
            tokens_out=result.usage.completion_tokens,
            cost_usd=result.usage.cost_usd,
            extra={**recall, "answers": len(result.attempts), "first_try": result.repairs == 0},
        )

    results = await evaluate_cases(dataset, [Scorer(type="json_schema")], answer)
    totals = summary(len(dataset), results)
    n = len(cases)
    valid = sum(r["status"] == "succeeded" for r in results)
    return {
        "cases": n,
        "valid_first_try": round(sum(bool(r.get("first_try")) for r in results) / n, 3),
        "valid_after_repair": round(valid / n, 3),
        "structural_match": round(totals["passed"] / n, 3),
        "retrieval_recall": round(
            sum(r["recall_hits"] for r in results)
            / max(sum(r["recall_total"] for r in results), 1),
            3,
        ),
        "avg_answers": round(sum(r["answers"] for r in results) / n, 2),
        "tokens": totals["tokens_in"] + totals["tokens_out"],
        "unregistered_expected_types": sorted(unavailable),
        "ratio": round(valid / n, 3),
    }


async def _run(
    cases: list[dict[str, Any]], registry: NodeRegistry, model: str, max_repairs: int
) -> dict[str, Any]:
    if model and not model.startswith("scripted/"):
        copilot = _copilot(registry, resolve_llm_config(model), max_repairs)
        return {**await evaluate(cases, copilot, registry), "mode": model}
    with scripted_llm() as llm:
        llm.plan(*(ScriptedDesigner(cases, registry) for _ in range(len(cases) * 4)))
        copilot = _copilot(registry, LLMConfig("scripted/designer"), max_repairs)
        return {**await evaluate(cases, copilot, registry), "mode": "scripted"}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"first {QUICK_CASES} cases only")
    parser.add_argument("--cases", type=Path, default=CASES, help="JSONL file of cases")
    parser.add_argument("--max-repairs", type=int, default=3, help="repair rounds per case")
    args = parser.parse_args()
    cases = load_cases(args.cases)[: QUICK_CASES if args.quick else None]
    registry = default_registry()
    model = os.environ.get("REPORUNNER_LLM_MODEL", "").strip()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # litellm logs INFO records to stdout
        report = await _run(cases, registry, model, args.max_repairs)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
