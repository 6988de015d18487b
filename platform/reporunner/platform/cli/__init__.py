"""The ``reporunner`` command line.

Each command group lives in its own module of this package and registers itself on the parser
with ``add_parser`` (modules are discovered, so adding a command means adding a module);
errors we raise on purpose (``ReporunnerError``) print as one line on stderr with exit status 2,
never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reporunner.nodes.errors import ReporunnerError
from reporunner.nodes.registry import import_submodules

__all__ = ["main"]


def _command_modules() -> list[object]:
    """Every module of this package with an ``add_parser(subparsers)`` (one per command group)."""
    return [m for m in import_submodules(__name__) if hasattr(m, "add_parser")]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reporunner", description="Self-hostable AI-agent workflow platform."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        module.add_parser(sub)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``reporunner`` script."""
    args = build_parser().parse_args(argv)
    try:
        code = args.handler(args)
    except ReporunnerError as err:
        print(f"reporunner: {err.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
