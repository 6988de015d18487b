"""Show that no module of reporunner imports itself back, through any chain of imports.

``lint-imports`` checks the layers between packages; this checks every module. An import counts
wherever it stands: at the top, inside a function (a late import that dodges a circle is still
a circle) or under ``TYPE_CHECKING``. Importing ``a.b.c`` also runs ``a/__init__`` and
``a/b/__init__``, so an import counts as importing those package modules too (except the
packages the importer itself lives in, which are already being imported).

Usage: ``python scripts/import_cycles.py [package ...]`` (default: the four parts). Prints each
circle with the import lines that close it and exits 1, or prints ``no import cycles`` and
exits 0.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Sequence

import grimp

from reporunner.platform.engine.topology import strongly_connected

PARTS = ("reporunner.platform", "reporunner.agents", "reporunner.knowledge", "reporunner.nodes")


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def import_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """Module → the modules importing it runs (see the module docstring)."""
    modules = graph.modules
    edges: dict[str, set[str]] = {}
    for module in modules:
        out: set[str] = set()
        for imported in graph.find_modules_directly_imported_by(module):
            out.add(imported)
            out |= (_ancestors(imported) - _ancestors(module) - {module}) & modules
        edges[module] = out
    return edges


def shortest_cycle(edges: dict[str, set[str]], start: str, within: set[str]) -> list[str]:
    """One shortest circle from ``start`` back to itself inside ``within``."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(edges[node] & within):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    return [start]


def find_cycles(packages: Iterable[str]) -> list[list[str]]:
    """One circle (module, ..., module) per group of modules that import each other."""
    graph = grimp.build_graph(*packages, exclude_type_checking_imports=False, cache_dir=None)
    edges = import_edges(graph)
    return [shortest_cycle(edges, g[0], set(g)) for g in strongly_connected(edges)]


def main(argv: Sequence[str]) -> int:
    cycles = find_cycles(argv or PARTS)
    for cycle in cycles:
        print("import cycle: " + " -> ".join(cycle))
    if cycles:
        print(f"{len(cycles)} import cycle(s); move the shared piece down a layer or invert it")
        return 1
    print("no import cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
