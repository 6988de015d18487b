"""The ``reporunner`` command line.

Each command lives in its own module and registers itself on the parser with ``add_parser``;
errors we raise on purpose (``ReporunnerError``) print as one line on stderr with exit status 2,
never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reporunner.nodes.errors import ReporunnerError
from reporunner.platform.cli import serve

__all__ = ["main"]

COMMANDS = (serve,)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reporunner", description="Self-hostable AI-agent workflow platform."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
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
