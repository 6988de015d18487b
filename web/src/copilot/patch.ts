// RFC 6902 JSON Patch applied to a copy (the copilot's edits, to mark exactly what they change).
import type { JsonPatchOp } from "./api";

type Json = unknown;

function unescape(token: string): string {
  return token.replace(/~1/g, "/").replace(/~0/g, "~");
}

function parent(doc: Json, path: string): [Record<string, Json> | Json[], string] {
  const tokens = path.split("/").slice(1).map(unescape);
  const last = tokens.pop();
  if (last === undefined) throw new Error(`patch path '${path}' names the whole document`);
  let at: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(at)) at = at[Number(t)];
    else if (at && typeof at === "object") at = (at as Record<string, Json>)[t];
    else throw new Error(`patch path '${path}' does not exist`);
  }
  if (!at || typeof at !== "object") throw new Error(`patch path '${path}' does not exist`);
  return [at as Record<string, Json> | Json[], last];
}

function get(doc: Json, path: string): Json {
  const [container, key] = parent(doc, path);
  return Array.isArray(container) ? container[Number(key)] : container[key];
}

function remove(doc: Json, path: string): Json {
  const [container, key] = parent(doc, path);
  if (Array.isArray(container)) return container.splice(Number(key), 1)[0];
  const old = container[key];
  delete container[key];
  return old;
}

function add(doc: Json, path: string, value: Json): void {
  const [container, key] = parent(doc, path);
  if (Array.isArray(container)) {
    if (key === "-") container.push(value);
    else container.splice(Number(key), 0, value);
  } else container[key] = value;
}

export function applyPatch<T>(doc: T, ops: JsonPatchOp[]): T {
  const out = structuredClone(doc) as Json;
  for (const op of ops) {
    const value = structuredClone(op.value);
    switch (op.op) {
      case "add":
        add(out, op.path, value);
        break;
      case "remove":
        remove(out, op.path);
        break;
      case "replace":
        remove(out, op.path);
        add(out, op.path, value);
        break;
      case "move":
        add(out, op.path, remove(out, op.from ?? ""));
        break;
      case "copy":
        add(out, op.path, structuredClone(get(out, op.from ?? "")));
        break;
      case "test":
        break;
    }
  }
  return out as T;
}
