"""Validate a workflow definition against the node registry, reporting every problem at once.

Each problem carries a JSON pointer into the definition and a sentence that says what to fix,
so the editor can mark the exact field and the API can answer 422 with the whole list.
Validation is pure: no I/O, no side effects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import re2  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]
from pydantic import ValidationError

from reporunner.nodes import expressions
from reporunner.nodes.base import Category, Node
from reporunner.nodes.errors import Problem, UnknownNodeType, ValidationFailed
from reporunner.nodes.registry import NodeRegistry
from reporunner.platform.engine.definition import (
    NodeSpec,
    WorkflowDefinition,
    load_raw,
    pydantic_problems,
)
from reporunner.platform.engine.topology import (
    Topology,
    build_topology,
    forward_closure,
    strongly_connected,
)

__all__ = [
    "LOOP_NODE_TYPE",
    "Problem",
    "raise_for_problems",
    "required_credentials",
    "resolve_nodes",
    "validate",
]

LOOP_NODE_TYPE = "logic.loop"
ERROR_PORT = "error"


def raise_for_problems(problems: Sequence[Problem]) -> None:
    """Raise :class:`ValidationFailed` (422) listing ``problems`` if there are any."""
    if problems:
        first = problems[0].message
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ValidationFailed(f"the workflow is invalid: {first}{more}", problems)


def resolve_nodes(defn: WorkflowDefinition, registry: NodeRegistry) -> dict[str, type[Node[Any]]]:
    """Node classes by node id, for the nodes whose type and version the registry holds."""
    found: dict[str, type[Node[Any]]] = {}
    for spec in defn.nodes:
        if registry.has(spec.type, spec.version):
            found[spec.id] = registry.get(spec.type, spec.version)
    return found


def validate(
    defn_or_raw: WorkflowDefinition | str | bytes | Mapping[str, Any], registry: NodeRegistry
) -> list[Problem]:
    """Every problem of a definition, each with a JSON pointer and what to fix.

    Args:
        defn_or_raw: A parsed definition, or JSON/YAML text, or a decoded mapping.
        registry: Node types the workflow may use.

    Returns:
        All problems found (empty when the workflow can be compiled and run).
    """
    if isinstance(defn_or_raw, WorkflowDefinition):
        defn = defn_or_raw
    else:
        try:
            defn = WorkflowDefinition.model_validate(load_raw(defn_or_raw))
        except ValidationFailed as err:
            return [Problem(**p) for p in err.problems]
        except ValidationError as err:
            return pydantic_problems(err)
    classes: dict[str, type[Node[Any]]] = {}
    problems: list[Problem] = []
    problems += _check_nodes(defn, registry, classes)
    problems += _check_edges(defn, classes)
    problems += _check_graph(defn, classes)
    problems += _check_tests(defn, classes)
    return problems


def _check_nodes(
    defn: WorkflowDefinition, registry: NodeRegistry, classes: dict[str, type[Node[Any]]]
) -> Iterator[Problem]:
    ids = {n.id for n in defn.nodes}
    seen: set[str] = set()
    for i, spec in enumerate(defn.nodes):
        at = f"/nodes/{i}"
        if spec.id in seen:
            yield Problem(
                f"{at}/id",
                "duplicate_node_id",
                f"node id '{spec.id}' is used more than once; give every node a unique id",
            )
            continue
        seen.add(spec.id)
        try:
            node_cls = registry.get(spec.type, spec.version)
        except UnknownNodeType as err:
            code = "unknown_node_version" if registry.has(spec.type) else "unknown_node_type"
            field = "version" if code == "unknown_node_version" else "type"
            yield Problem(f"{at}/{field}", code, f"node '{spec.id}': {err.detail}")
            continue
        classes[spec.id] = node_cls
        yield from _check_params(spec, node_cls, at)
        yield from _check_credentials(spec, node_cls, at)
        yield from _check_expressions(spec, node_cls, at, ids)


def _value_at(value: Any, loc: tuple[int | str, ...]) -> Iterator[Any]:
    """Yield the values along ``loc`` inside ``value`` (stops where the path ends)."""
    for key in loc:
        if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value = value[key]
        elif not isinstance(value, Mapping) or key not in value:
            return
        else:
            value = value[key]
        yield value


def _check_params(spec: NodeSpec, node_cls: type[Node[Any]], at: str) -> Iterator[Problem]:
    for name in sorted(node_cls.literal_params):
        if name in spec.params and expressions.has_expressions(spec.params[name]):
            yield Problem(
                f"{at}/params/{name}",
                "literal_param_expression",
                f"node '{spec.id}': param '{name}' is never rendered, so it must not hold "
                "'{{ }}'; pass values through the node's bound parameters instead",
            )
    try:
        node_cls.Params.model_validate(spec.params)
    except ValidationError as err:
        for e in err.errors(include_url=False):
            loc = tuple(e["loc"])
            if any(isinstance(v, str) and "{{" in v for v in _value_at(spec.params, loc)):
                continue  # rendered at run time; its syntax is checked instead
            path = "".join(f"/{p}" for p in loc)
            yield Problem(
                f"{at}/params{path}",
                "invalid_params",
                f"node '{spec.id}' ({spec.type}): param '{'.'.join(map(str, loc)) or '(root)'}'"
                f": {e['msg']}; fix the value to match the node's parameters",
            )


def required_credentials(node_cls: type[Node[Any]], params: Mapping[str, Any]) -> set[str]:
    """Credential types a node needs with these params (any one of them must be bound).

    A node says so by a ``required_credentials(params)`` classmethod or a
    ``credentials_required = True`` class attribute; otherwise a top-level string param that
    names one of its credential types (``"auth": "bearer_token"``) requires that type. Without
    any of these a credential is optional (http.request without auth, data.crypto hashing).
    """
    accepted = set(node_cls.credential_types)
    hook = getattr(node_cls, "required_credentials", None)
    if callable(hook):
        return set(hook(params)) & accepted
    if getattr(node_cls, "credentials_required", False):
        return accepted
    return {v for v in params.values() if isinstance(v, str) and v in accepted}


def _check_credentials(spec: NodeSpec, node_cls: type[Node[Any]], at: str) -> Iterator[Problem]:
    accepted = node_cls.credential_types
    for name in spec.credentials:
        if name not in accepted:
            hint = f"it accepts {', '.join(accepted)}" if accepted else "it takes no credentials"
            yield Problem(
                f"{at}/credentials/{name}",
                "unknown_credential_type",
                f"node '{spec.id}' ({spec.type}) cannot use a '{name}' credential; {hint}",
            )
    try:
        needed = required_credentials(node_cls, spec.params)
    except Exception:  # a node hook choking on invalid params; those are reported already
        needed = set()
    if needed and not needed & set(spec.credentials):
        yield Problem(
            f"{at}/credentials",
            "missing_credential",
            f"node '{spec.id}' ({spec.type}) needs a credential of type "
            f"{' or '.join(repr(a) for a in sorted(needed))}; bind one in its 'credentials'",
        )


def _check_expressions(
    spec: NodeSpec, node_cls: type[Node[Any]], at: str, ids: set[str]
) -> Iterator[Problem]:
    rendered = {k: v for k, v in spec.params.items() if k not in node_cls.literal_params}
    if not expressions.has_expressions(rendered):
        return
    syntax = expressions.check(rendered)
    for problem in syntax:
        yield Problem(
            f"{at}/params{problem.pointer}",
            "expression_syntax",
            f"node '{spec.id}': expression does not parse: {problem.message}",
        )
    if syntax:
        return
    for ref in sorted(expressions.referenced_nodes(rendered) - ids):
        yield Problem(
            f"{at}/params",
            "unknown_node_reference",
            f"node '{spec.id}' refers to nodes.{ref}, but the workflow has no node '{ref}'; "
            "fix the id in the expression",
        )


def _ports(spec: NodeSpec, node_cls: type[Node[Any]], output: bool) -> set[str]:
    try:
        ports = node_cls.output_ports(spec.params) if output else node_cls.input_ports(spec.params)
    except Exception:  # params the port hook cannot read are reported as invalid params
        ports = node_cls.outputs if output else node_cls.inputs
    names = {p.name for p in ports}
    if output and spec.error_policy.on_error == "error_port":
        names.add(ERROR_PORT)
    return names


def _check_edges(
    defn: WorkflowDefinition, classes: Mapping[str, type[Node[Any]]]
) -> Iterator[Problem]:
    specs = {n.id: n for n in defn.nodes}
    seen: set[tuple[str, str, str, str]] = set()
    for i, edge in enumerate(defn.edges):
        at = f"/edges/{i}"
        key = (edge.source, edge.source_port, edge.target, edge.target_port)
        if key in seen:
            yield Problem(
                at,
                "duplicate_edge",
                f"edge {edge.source}.{edge.source_port} -> {edge.target}.{edge.target_port} "
                "appears twice; remove the copy",
            )
        seen.add(key)
        for end, port, output in (
            ("source", edge.source_port, True),
            ("target", edge.target_port, False),
        ):
            node_id = getattr(edge, end)
            if node_id not in specs:
                yield Problem(
                    f"{at}/{end}",
                    "dangling_edge",
                    f"edge {i} points to node '{node_id}', which does not exist; fix the id "
                    "or remove the edge",
                )
                continue
            if node_id not in classes:
                continue
            ports = _ports(specs[node_id], classes[node_id], output)
            if port not in ports:
                kind = "output" if output else "input"
                listed = ", ".join(sorted(ports)) or "none"
                yield Problem(
                    f"{at}/{end}_port",
                    "unknown_port",
                    f"node '{node_id}' has no {kind} port '{port}' (its {kind} ports: {listed})",
                )


def _check_graph(
    defn: WorkflowDefinition, classes: Mapping[str, type[Node[Any]]]
) -> Iterator[Problem]:
    index = {n.id: i for i, n in reversed(list(enumerate(defn.nodes)))}
    topo = build_topology(defn)
    triggers = [nid for nid, cls in classes.items() if cls.category == Category.TRIGGER]
    if not triggers and len(classes) == len(index):
        yield Problem(
            "/nodes",
            "no_trigger",
            "the workflow has no trigger node; add one (e.g. 'trigger.manual') to start it",
        )
    if triggers:
        reached = forward_closure(topo.successors, triggers)
        for nid, i in index.items():
            if nid not in reached:
                yield Problem(
                    f"/nodes/{i}",
                    "unreachable_node",
                    f"node '{nid}' can never run: no path leads to it from a trigger; connect "
                    "it or remove it",
                )
    for cycle in strongly_connected(topo.successors):
        if not any(getattr(classes.get(nid), "type", None) == LOOP_NODE_TYPE for nid in cycle):
            yield Problem(
                f"/nodes/{index[cycle[0]]}",
                "unclosed_cycle",
                f"nodes {', '.join(cycle)} form a cycle without a '{LOOP_NODE_TYPE}' node; "
                "route the back edge through a loop node (it bounds the iterations)",
            )
    yield from _check_loops(topo, classes, index)


def _check_loops(
    topo: Topology, classes: Mapping[str, type[Node[Any]]], index: Mapping[str, int]
) -> Iterator[Problem]:
    """A loop node's body must lead back to its ``continue`` input, or no batch after the
    first is ever sent and ``done`` never fires (the run would end without the results)."""
    for nid, i in index.items():
        cls = classes.get(nid)
        if getattr(cls, "type", None) != LOOP_NODE_TYPE:
            continue
        body_starts = [e.target for e in topo.out_edges.get(nid, {}).get("loop", ())]
        body = forward_closure(topo.successors, body_starts, stop=nid)
        ins = topo.in_sources.get(nid, {})
        if "continue" in {port.name for port in getattr(cls, "inputs", ())}:
            returning = ins.get("continue", frozenset())
        else:  # a loop node without that port takes its body's items on any input
            returning = frozenset().union(*ins.values()) if ins else frozenset()
        if not body_starts or not (returning & body):
            yield Problem(
                f"/nodes/{i}",
                "loop_without_continue",
                f"loop node '{nid}': its loop body never sends items back to its 'continue' "
                "input, so only the first batch would run and 'done' would never fire; "
                "connect the last node of the body (reached from the 'loop' output) to "
                f"'{nid}' with target_port 'continue'",
            )


def _check_tests(
    defn: WorkflowDefinition, classes: Mapping[str, type[Node[Any]]]
) -> Iterator[Problem]:
    """Test cases must name nodes, triggers and ports that exist, with patterns and schemas
    that compile, so a test run fails only on what the workflow does."""
    specs = {n.id: n for n in defn.nodes}
    names: set[str] = set()
    for c, case in enumerate(defn.tests):
        at = f"/tests/{c}"
        if case.name in names:
            yield Problem(
                f"{at}/name", "duplicate_test_name", f"test name '{case.name}' is used twice"
            )
        names.add(case.name)
        if case.trigger_node is not None and (
            case.trigger_node not in classes
            or classes[case.trigger_node].category != Category.TRIGGER
        ):
            yield Problem(
                f"{at}/trigger_node",
                "unknown_trigger",
                f"test '{case.name}': '{case.trigger_node}' is not a trigger node of this workflow",
            )
        for node_id, ports in case.pinned.items():
            if node_id not in specs:
                yield Problem(
                    f"{at}/pinned/{node_id}",
                    "unknown_node_reference",
                    f"test '{case.name}' pins node '{node_id}', which does not exist",
                )
            elif node_id in classes:
                known = _ports(specs[node_id], classes[node_id], output=True)
                for port in sorted(set(ports) - known):
                    yield Problem(
                        f"{at}/pinned/{node_id}/{port}",
                        "unknown_port",
                        f"test '{case.name}': node '{node_id}' has no output port '{port}' "
                        f"(its output ports: {', '.join(sorted(known)) or 'none'})",
                    )
        for a, check in enumerate(case.assertions):
            yield from _check_assertion(check, f"{at}/assertions/{a}", case.name, specs)


def _check_assertion(
    check: Any, at: str, case: str, specs: Mapping[str, NodeSpec]
) -> Iterator[Problem]:
    if check.node is not None and check.node not in specs:
        yield Problem(
            f"{at}/node",
            "unknown_node_reference",
            f"test '{case}' checks node '{check.node}', which does not exist",
        )
    if check.check == "regex":
        if not isinstance(check.expected, str):
            yield Problem(f"{at}/expected", "invalid_test", f"test '{case}': a regex is a string")
        else:
            try:
                re2.compile(check.expected)
            except re2.error as err:
                yield Problem(
                    f"{at}/expected", "invalid_test", f"test '{case}': the regex fails: {err}"
                )
    elif check.check == "json_schema":
        try:
            if not isinstance(check.expected, dict):
                raise SchemaError("a JSON Schema is an object")
            Draft202012Validator.check_schema(check.expected)
        except SchemaError as err:
            yield Problem(
                f"{at}/expected",
                "invalid_test",
                f"test '{case}': 'expected' is not a valid JSON Schema: {err.message}",
            )
    elif check.check == "judge" and not (isinstance(check.expected, str) and check.expected):
        yield Problem(
            f"{at}/expected",
            "invalid_test",
            f"test '{case}': a judge check needs its criteria in words in 'expected'",
        )
