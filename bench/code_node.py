"""Code nodes: a call in the bubblewrap sandbox vs the same function called in-process.

The baseline compiles the user's code and calls ``main(items, vars)`` in this process (what an
unsafe ``exec`` node would cost). Ours sends the items over a pipe to the warm sandbox leased
to the run, which runs the same function and answers with JSON. Measured: the p50 of one call
(one item) within a run, for Python and JavaScript; the p50 of the first call of a new run
(a sandbox taken from the warm pool, or started cold when none is idle); and one call with
1,000 items.

Usage::

    python bench/code_node.py [--calls N] [--quick]

The last line printed is one JSON object with ``"ratio"`` (ours / in-process, p50 per call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from reporunner.nodes import codesandbox

PYTHON = (
    "def main(items, vars):\n"
    "    return [{**item, 'total': item['price'] * item['quantity'], 'tag': vars['tag']}\n"
    "            for item in items]\n"
)
JAVASCRIPT = (
    "function main(items, vars) {\n"
    "  return items.map((item) =>\n"
    "    ({ ...item, total: item.price * item.quantity, tag: vars.tag }));\n"
    "}\n"
)
VARS = {"tag": "bench"}


def _items(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "price": 2.5, "quantity": i % 7, "name": f"item {i}"} for i in range(n)]


def _in_process(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {}
    exec(compile(PYTHON, "<code>", "exec"), namespace)  # the unsafe baseline, on purpose
    result: list[dict[str, Any]] = namespace["main"](items, VARS)
    return result


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def _timed(language: codesandbox.Language, code: str, items: list[Any], tenant: str) -> float:
    start = time.perf_counter()
    await codesandbox.run_code(language, code, items, VARS, tenant=tenant)
    return time.perf_counter() - start


async def main(calls: int) -> dict[str, Any]:
    one = _items(1)
    thousand = _items(1000)
    baseline = []
    for _ in range(calls):
        start = time.perf_counter()
        _in_process(one)
        baseline.append(time.perf_counter() - start)
    start = time.perf_counter()
    _in_process(thousand)
    baseline_1000 = time.perf_counter() - start

    figures: dict[str, Any] = {}
    languages: list[tuple[codesandbox.Language, str]] = [
        ("python", PYTHON),
        ("javascript", JAVASCRIPT),
    ]
    for language, code in languages:
        await codesandbox.run_code(language, code, one, VARS, tenant=f"bench/{language}")
        per_call = [await _timed(language, code, one, f"bench/{language}") for _ in range(calls)]
        big = [await _timed(language, code, thousand, f"bench/{language}") for _ in range(5)]
        warm_first, cold_first = [], []
        for i in range(max(3, calls // 40)):
            await asyncio.to_thread(codesandbox.prewarm, language)
            warm_first.append(await _timed(language, code, one, f"bench/{language}-warm-{i}"))
            codesandbox.shutdown()  # no idle sandbox: the next new run starts one itself
            cold_first.append(await _timed(language, code, one, f"bench/{language}-cold-{i}"))
            codesandbox.shutdown()
        figures[language] = {
            "p50_ms": _p50_ms(per_call),
            "p95_ms": round(sorted(per_call)[int(len(per_call) * 0.95)] * 1000, 3),
            "items_1000_ms": _p50_ms(big),
            "new_run_warm_p50_ms": _p50_ms(warm_first),
            "new_run_cold_p50_ms": _p50_ms(cold_first),
        }
    codesandbox.shutdown()
    return {
        "bench": "code_node",
        "calls": calls,
        "baseline_p50_ms": _p50_ms(baseline),
        "baseline_items_1000_ms": round(baseline_1000 * 1000, 3),
        "python": figures["python"],
        "javascript": figures["javascript"],
        "ratio": round(figures["python"]["p50_ms"] / _p50_ms(baseline), 1),
        "ratio_items_1000": round(figures["python"]["items_1000_ms"] / (baseline_1000 * 1000), 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per language")
    parser.add_argument("--quick", action="store_true", help="200 calls (under a minute)")
    args = parser.parse_args()
    result = asyncio.run(main(200 if args.quick else args.calls))
    print(json.dumps(result))
