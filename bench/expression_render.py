"""Expression rendering: our sandboxed engine vs plain Jinja2 on the same params.

The baseline is Jinja2's own ``ImmutableSandboxedEnvironment`` with pre-compiled templates and
no bounds, so the ratio shows what path tracking, size/time bounds and native-value handling
cost per render of a typical node's params.

Usage::

    python bench/expression_render.py [--runs N] [--quick]

The last line printed is one JSON object with ``"ratio"`` (ours / baseline, per render).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from jinja2.sandbox import ImmutableSandboxedEnvironment

from reporunner.nodes.expressions import render

PARAMS: dict[str, Any] = {
    "url": "{{ vars.base_url }}/orders/{{ item.id }}",
    "headers": {"X-Customer": "{{ nodes.fetch.output.body.customer.email }}"},
    "body": "{{ nodes.fetch.output.body }}",
    "note": "Total {{ item.total * 1.2 }} for {{ item.tags | join(', ') }}",
    "limit": 10,
}
CONTEXT: dict[str, Any] = {
    "nodes": {
        "fetch": {
            "output": {"body": {"customer": {"email": "a@example.com"}, "lines": list(range(20))}}
        }
    },
    "trigger": {},
    "item": {"id": 7, "total": 12.5, "tags": ["a", "b", "c"]},
    "vars": {"base_url": "https://api.example.com"},
}


def _baseline() -> Callable[[], Any]:
    env = ImmutableSandboxedEnvironment()
    compiled = {
        "url": env.from_string(PARAMS["url"]),
        "x": env.from_string(PARAMS["headers"]["X-Customer"]),
        "body": env.compile_expression("nodes.fetch.output.body"),
        "note": env.from_string(PARAMS["note"]),
    }

    def run() -> Any:
        return {
            "url": compiled["url"].render(CONTEXT),
            "headers": {"X-Customer": compiled["x"].render(CONTEXT)},
            "body": compiled["body"](**CONTEXT),
            "note": compiled["note"].render(CONTEXT),
            "limit": 10,
        }

    return run


def _time(fn: Callable[[], Any], runs: int) -> float:
    fn()
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(runs):
            fn()
        samples.append((time.perf_counter() - start) / runs)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="renders per sample")
    parser.add_argument("--quick", action="store_true", help="fewer renders (a few seconds)")
    args = parser.parse_args()
    if args.quick:
        args.runs = min(args.runs, 500)
    ours = _time(lambda: render(PARAMS, CONTEXT), args.runs)
    base = _time(_baseline(), args.runs)
    print(f"ours:     {ours * 1e6:8.1f} us/render")
    print(f"baseline: {base * 1e6:8.1f} us/render (plain Jinja2 sandbox, no bounds)")
    print(json.dumps({"ours_us": ours * 1e6, "baseline_us": base * 1e6, "ratio": ours / base}))


if __name__ == "__main__":
    main()
