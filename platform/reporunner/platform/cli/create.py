"""``reporunner create "description" [-o FILE]``: generate a valid workflow definition.

Runs the copilot locally against the installed node types and the configured model
(``REPORUNNER_LLM_MODEL`` or ``--model``); no database is needed. The definition goes to
stdout (or FILE: JSON, or YAML for ``.yaml``/``.yml``); explanations and the credentials still
to supply go to stderr, so ``reporunner create ... > wf.json`` keeps the file clean.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from reporunner.agents.copilot import CopilotFailed, GenerationResult
from reporunner.nodes.registry import default_registry
from reporunner.platform.copilot import build_copilot
from reporunner.platform.settings import load_settings

__all__ = ["add_parser", "cmd_create"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "create", help="generate a workflow definition from a description (needs an LLM)"
    )
    p.add_argument("description", help="what the workflow should do, in plain language")
    p.add_argument("-o", "--output", type=Path, help="write the definition to this file")
    p.add_argument("--model", help="litellm model (default REPORUNNER_LLM_MODEL)")
    p.add_argument(
        "--max-repairs", type=int, default=3, help="validation repair rounds (default 3)"
    )
    p.set_defaults(handler=cmd_create)


def _render(definition: dict[str, Any], path: Path | None) -> str:
    if path is not None and path.suffix.lower() in (".yaml", ".yml"):
        return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True)
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def _report(result: GenerationResult) -> None:
    err = sys.stderr
    if result.summary:
        print(result.summary, file=err)
    for item in result.explanations:
        print(f"  {item.node_id} ({item.node_type}): {item.explanation}", file=err)
    if result.missing_credentials:
        print("credentials to supply (bind them in the nodes' 'credentials'):", file=err)
        for missing in result.missing_credentials:
            print(f"  {missing.node_id}: {missing.credential_type}", file=err)
    print(f"valid after {len(result.attempts)} answer(s) from the model", file=err)


def cmd_create(args: argparse.Namespace) -> int:
    """Generate, print the notes to stderr and the definition to stdout or ``--output``."""
    settings = load_settings()
    copilot = build_copilot(
        settings, default_registry(), model=args.model, max_repairs=max(args.max_repairs, 0)
    )
    try:
        # stdout carries the definition only: litellm logs below WARNING to sys.stdout
        with contextlib.redirect_stdout(sys.stderr):
            result = asyncio.run(copilot.generate(args.description))
    except CopilotFailed as err:
        for problem in err.problems:
            print(f"  {problem.get('pointer') or '(root)'}: {problem['message']}", file=sys.stderr)
        raise
    text = _render(result.definition, args.output)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    _report(result)
    return 0
