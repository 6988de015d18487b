// Preview of `{{ expression }}`s against a run's data: plain paths (item.a.b, nodes.x.output.y,
// trigger.body.name, vars.k, items[0]) are resolved here; anything else is left to the server's
// engine, which is the only one that renders expressions for real.
import type { ExecutionOut, NodeRunOut } from "../api";

const EXPR = /\{\{\s*(.*?)\s*\}\}/g;
const PATH = /^[A-Za-z_]\w*(?:\.\w+|\[\d+\])*$/;

export interface PreviewLine {
  field: string;
  text: string;
  value: string;
}

function firstItem(ports: Record<string, unknown> | null | undefined): unknown {
  const main = ports?.main;
  return Array.isArray(main) ? main[0] : undefined;
}

export function previewContext(
  execution: ExecutionOut | null,
  runs: Record<string, NodeRunOut>,
  nodeId: string,
): Record<string, unknown> | null {
  if (!execution) return null;
  const nodes: Record<string, unknown> = {};
  for (const [id, r] of Object.entries(runs)) {
    const main = Array.isArray(r.output?.main) ? (r.output?.main as unknown[]) : [];
    nodes[id] = { output: main[0] ?? {}, items: main, ports: r.output ?? {} };
  }
  return { nodes, trigger: execution.trigger, item: firstItem(runs[nodeId]?.input), vars: {} };
}

function resolve(path: string, ctx: Record<string, unknown>): unknown {
  let cur: unknown = ctx;
  for (const part of path.replace(/\[(\d+)\]/g, ".$1").split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function show(v: unknown): string {
  if (v === undefined) return "(nothing there in the last run)";
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** One line per string param (at any depth) that holds an expression. */
export function previewParams(
  params: unknown,
  ctx: Record<string, unknown>,
  field = "",
  out: PreviewLine[] = [],
): PreviewLine[] {
  if (typeof params === "string" && params.includes("{{")) {
    const parts = [...params.matchAll(EXPR)];
    if (!parts.length) return out;
    const simple = parts.every((m) => PATH.test(m[1]));
    if (!simple) {
      out.push({ field, text: params, value: "(rendered by the engine when it runs)" });
    } else if (parts.length === 1 && parts[0][0] === params.trim()) {
      out.push({ field, text: params, value: show(resolve(parts[0][1], ctx)) });
    } else {
      const value = params.replace(EXPR, (_, p: string) => {
        const v = resolve(p, ctx);
        return v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v);
      });
      out.push({ field, text: params, value: show(value) });
    }
  } else if (Array.isArray(params)) {
    params.forEach((v, i) => previewParams(v, ctx, `${field}/${i}`, out));
  } else if (params && typeof params === "object") {
    for (const [k, v] of Object.entries(params)) previewParams(v, ctx, `${field}/${k}`, out);
  }
  return out;
}
