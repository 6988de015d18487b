// Ports of a node as the engine sees them (catalog ports, or the ones its params declare).
import type { NodeType } from "../api";

export function inputPorts(t: NodeType | undefined, params: Record<string, unknown>): string[] {
  if (!t) return ["main"];
  if (t.dynamic_inputs && typeof params.inputs === "number" && params.inputs > 0) {
    return Array.from({ length: Math.min(params.inputs, 32) }, (_, i) => `input_${i + 1}`);
  }
  return t.inputs.map((p) => p.name);
}

export function outputPorts(t: NodeType | undefined, params: Record<string, unknown>): string[] {
  if (!t) return ["main"];
  if (t.dynamic_outputs && Array.isArray(params.routes)) {
    const names = params.routes
      .map((r) => (r && typeof r === "object" ? (r as { name?: unknown }).name : undefined))
      .filter((n): n is string => typeof n === "string" && n.length > 0);
    return [...names, "fallback"];
  }
  return t.outputs.map((p) => p.name);
}

export function isTrigger(t: NodeType | undefined): boolean {
  return !!t && (t.category === "trigger" || t.inputs.length === 0);
}
