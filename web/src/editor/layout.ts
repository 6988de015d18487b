// "Tidy up": a layered left-to-right layout computed by elkjs.
import type { Edge } from "@xyflow/react";
import type { FlowNode } from "./store";

// elkjs is large: loaded on the first "Tidy up", not with the app.
let elk: { layout: (g: ElkGraph) => Promise<ElkGraph> } | null = null;

interface ElkGraph {
  id: string;
  layoutOptions?: Record<string, string>;
  children?: { id: string; width?: number; height?: number; x?: number; y?: number }[];
  edges?: { id: string; sources: string[]; targets: string[] }[];
}

export async function tidy(
  nodes: FlowNode[],
  edges: Edge[],
): Promise<Record<string, { x: number; y: number }>> {
  const graph: ElkGraph = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.spacing.nodeNode": "40",
      "elk.layered.spacing.nodeNodeBetweenLayers": "80",
    },
    children: nodes.map((n) => ({
      id: n.id,
      width: n.measured?.width ?? 200,
      height: n.measured?.height ?? 80,
    })),
    edges: edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
  if (!elk) {
    const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
    elk = new ELK() as unknown as { layout: (g: ElkGraph) => Promise<ElkGraph> };
  }
  const out = await elk.layout(graph);
  const positions: Record<string, { x: number; y: number }> = {};
  for (const child of out.children ?? []) {
    positions[child.id] = { x: child.x ?? 0, y: child.y ?? 0 };
  }
  return positions;
}
