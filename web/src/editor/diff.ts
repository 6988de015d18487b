// A readable diff of two workflow definitions: nodes by id, edges as set members.
import type { Definition } from "../api";

export interface DiffLine {
  kind: "+" | "-" | "~";
  path: string;
  text: string;
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? "undefined" : s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function walk(a: unknown, b: unknown, path: string, out: DiffLine[]): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const objA = a && typeof a === "object" && !Array.isArray(a);
  const objB = b && typeof b === "object" && !Array.isArray(b);
  if (objA && objB) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      if (!(k in rb)) out.push({ kind: "-", path: `${path}/${k}`, text: short(ra[k]) });
      else if (!(k in ra)) out.push({ kind: "+", path: `${path}/${k}`, text: short(rb[k]) });
      else walk(ra[k], rb[k], `${path}/${k}`, out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= b.length) out.push({ kind: "-", path: `${path}/${i}`, text: short(a[i]) });
      else if (i >= a.length) out.push({ kind: "+", path: `${path}/${i}`, text: short(b[i]) });
      else walk(a[i], b[i], `${path}/${i}`, out);
    }
    return;
  }
  out.push({ kind: "~", path, text: `${short(a)} → ${short(b)}` });
}

export function diffDefinitions(a: Definition, b: Definition): DiffLine[] {
  const out: DiffLine[] = [];
  const rest = (d: Definition) => ({ name: d.name, description: d.description, settings: d.settings });
  walk(rest(a), rest(b), "", out);
  const na = new Map(a.nodes.map((n) => [n.id, n]));
  const nb = new Map(b.nodes.map((n) => [n.id, n]));
  for (const [id, n] of na) {
    if (!nb.has(id)) out.push({ kind: "-", path: `/nodes/${id}`, text: n.type });
  }
  for (const [id, n] of nb) {
    const old = na.get(id);
    if (!old) out.push({ kind: "+", path: `/nodes/${id}`, text: n.type });
    else walk(old, n, `/nodes/${id}`, out);
  }
  const key = (e: Definition["edges"][number]) =>
    `${e.source}.${e.source_port ?? "main"} → ${e.target}.${e.target_port ?? "main"}`;
  const ea = new Set(a.edges.map(key));
  const eb = new Set(b.edges.map(key));
  for (const e of ea) if (!eb.has(e)) out.push({ kind: "-", path: "/edges", text: e });
  for (const e of eb) if (!ea.has(e)) out.push({ kind: "+", path: "/edges", text: e });
  return out;
}
