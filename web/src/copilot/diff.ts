// A copilot change shown on the canvas: the base and the proposed definition merged into one
// graph, each node and edge marked added, removed or changed (with the changed params).
import type { Definition, EdgeSpec, NodeSpec } from "../api";

export type MarkKind = "added" | "removed" | "changed";

export interface Mark {
  kind: MarkKind;
  /** Changed params (and other fields, e.g. "name", "type") of a changed node. */
  fields: string[];
}

export interface DiffView {
  merged: Definition;
  marks: Record<string, Mark>;
  edgeMarks: Record<string, "added" | "removed">;
}

export function edgeKey(e: EdgeSpec): string {
  return `${e.source}:${e.source_port ?? "main"}->${e.target}:${e.target_port ?? "main"}`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function changedFields(a: NodeSpec, b: NodeSpec): string[] {
  const out: string[] = [];
  const pa = a.params ?? {};
  const pb = b.params ?? {};
  for (const k of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    if (!same(pa[k], pb[k])) out.push(k);
  }
  // error_policy is left out: the server fills in its defaults, which is no change of the user's
  for (const k of ["type", "name", "credentials"] as const) {
    if (!same(a[k], b[k])) out.push(k);
  }
  return out;
}

/** Where a new node without a position goes: right of the node feeding it, else below all. */
function placeNew(spec: NodeSpec, at: Map<string, { x: number; y: number }>, edges: EdgeSpec[]) {
  const from = edges.find((e) => e.target === spec.id && at.has(e.source));
  if (from) {
    const p = at.get(from.source)!;
    return { x: p.x + 260, y: p.y + 40 };
  }
  const ys = [...at.values()].map((p) => p.y);
  return { x: 0, y: (ys.length ? Math.max(...ys) : 0) + 160 };
}

export function diffView(base: Definition, result: Definition): DiffView {
  const marks: Record<string, Mark> = {};
  const edgeMarks: Record<string, "added" | "removed"> = {};
  const before = new Map(base.nodes.map((n) => [n.id, n]));
  const after = new Map(result.nodes.map((n) => [n.id, n]));
  const at = new Map<string, { x: number; y: number }>();
  for (const n of base.nodes) if (n.position) at.set(n.id, n.position);
  const nodes: NodeSpec[] = [];
  for (const n of result.nodes) {
    const old = before.get(n.id);
    if (!old) marks[n.id] = { kind: "added", fields: [] };
    else {
      const fields = changedFields(old, n);
      if (fields.length) marks[n.id] = { kind: "changed", fields };
    }
    const position = old?.position ?? n.position;
    if (position) at.set(n.id, position);
    nodes.push({ ...n, position });
  }
  for (const n of base.nodes) {
    if (!after.has(n.id)) {
      marks[n.id] = { kind: "removed", fields: [] };
      nodes.push(n);
    }
  }
  for (const n of nodes) {
    if (!n.position) {
      n.position = placeNew(n, at, result.edges);
      at.set(n.id, n.position);
    }
  }
  const oldEdges = new Set(base.edges.map(edgeKey));
  const newEdges = new Set(result.edges.map(edgeKey));
  const edges = [...result.edges];
  for (const e of result.edges) if (!oldEdges.has(edgeKey(e))) edgeMarks[edgeKey(e)] = "added";
  for (const e of base.edges) {
    if (!newEdges.has(edgeKey(e))) {
      edgeMarks[edgeKey(e)] = "removed";
      edges.push(e);
    }
  }
  return { merged: { ...result, nodes, edges }, marks, edgeMarks };
}

/** The accepted definition keeps the positions the preview showed. */
export function withPreviewPositions(def: Definition, view: DiffView): Definition {
  const at = new Map(view.merged.nodes.map((n) => [n.id, n.position]));
  return { ...def, nodes: def.nodes.map((n) => ({ ...n, position: n.position ?? at.get(n.id) })) };
}
