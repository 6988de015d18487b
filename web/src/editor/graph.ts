// Pure helpers of the editor's graph: definition ⇄ React Flow shapes, fresh ids, the cycle
// rule, and parsing a pasted definition fragment.
import type { Edge, Node } from "@xyflow/react";
import type { EdgeSpec, NodeSpec } from "../api";

export interface NodeData extends Record<string, unknown> {
  spec: NodeSpec;
}

export type FlowNode = Node<NodeData, "rr">;

export const ID_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function toFlowNode(spec: NodeSpec, index: number): FlowNode {
  return {
    id: spec.id,
    type: "rr",
    position: spec.position ?? { x: (index % 6) * 260, y: Math.floor(index / 6) * 160 },
    data: { spec: { ...spec, params: spec.params ?? {}, credentials: spec.credentials ?? {} } },
  };
}

function edgeId(e: EdgeSpec): string {
  return `${e.source}:${e.source_port ?? "main"}->${e.target}:${e.target_port ?? "main"}`;
}

export function toFlowEdge(e: EdgeSpec): Edge {
  const sp = e.source_port ?? "main";
  const tp = e.target_port ?? "main";
  return {
    id: edgeId(e),
    source: e.source,
    target: e.target,
    sourceHandle: sp,
    targetHandle: tp,
    label: sp !== "main" ? sp : undefined,
  };
}

export function freshId(base: string, taken: Set<string>): string {
  let stem = base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^[^A-Za-z_]/, "_").slice(0, 56) || "node";
  if (!ID_RE.test(stem)) stem = "node";
  if (!taken.has(stem)) return stem;
  stem = stem.replace(/_\d+$/, "") || stem; // a copy of tag_2 becomes tag_3, not tag_2_1
  for (let i = 1; ; i++) {
    const id = `${stem}_${i}`;
    if (!taken.has(id)) return id;
  }
}

export function stemOf(type: string): string {
  const last = type.split(".").pop() ?? type;
  return last === "webhook" && type.startsWith("trigger") ? "webhook" : last;
}

/** Would an edge source → target close a cycle without a loop node on it? */
export function closesPlainCycle(
  edges: Edge[],
  nodes: FlowNode[],
  source: string,
  target: string,
): boolean {
  const types = new Map(nodes.map((n) => [n.id, n.data.spec.type]));
  const out = new Map<string, string[]>();
  for (const e of edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  // path target → … → source; find one avoiding loops? any path with a loop node is fine.
  const stack: [string, boolean][] = [[target, types.get(target) === "logic.loop"]];
  const seen = new Set<string>();
  while (stack.length) {
    const [id, hasLoop] = stack.pop()!;
    if (id === source) {
      if (!hasLoop && types.get(source) !== "logic.loop") return true;
      continue;
    }
    const key = `${id}:${hasLoop}`;
    if (seen.has(key)) continue;
    seen.add(key);
    for (const next of out.get(id) ?? []) {
      stack.push([next, hasLoop || types.get(next) === "logic.loop"]);
    }
  }
  return false;
}

export interface Fragment {
  nodes?: NodeSpec[];
  edges?: EdgeSpec[];
}

export function parseFragment(text: string): Fragment | null {
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value)) return { nodes: value as NodeSpec[], edges: [] };
    if (value && typeof value === "object" && Array.isArray((value as Fragment).nodes)) {
      return value as Fragment;
    }
    if (value && typeof value === "object" && typeof (value as NodeSpec).type === "string") {
      return { nodes: [value as NodeSpec], edges: [] };
    }
  } catch {
    return null;
  }
  return null;
}
