// Node params JSON Schemas (pydantic output) made friendly for @rjsf/core: $refs inlined,
// "X or null" collapsed to X, untyped values edited as text (so `{{ expression }}`s fit).
type Schema = Record<string, unknown>;

const KEEP = ["title", "description", "default", "examples"];

function isNullSchema(s: unknown): boolean {
  return !!s && typeof s === "object" && (s as Schema).type === "null";
}

export function friendlySchema(root: Schema): Schema {
  const defs = ((root.$defs ?? root.definitions ?? {}) as Record<string, Schema>) || {};

  function walk(node: unknown, depth: number): unknown {
    if (!node || typeof node !== "object" || Array.isArray(node)) return node;
    if (depth > 12) return { type: "string" };
    let s = { ...(node as Schema) };
    if (typeof s.$ref === "string") {
      const name = s.$ref.split("/").pop() ?? "";
      const target = defs[name] ?? {};
      const rest = { ...s };
      delete rest.$ref;
      s = { ...target, ...rest };
    }
    delete s.$defs;
    delete s.definitions;
    for (const key of ["anyOf", "oneOf"] as const) {
      const options = s[key];
      if (Array.isArray(options)) {
        const real = options.filter((o) => !isNullSchema(o));
        if (real.length === 1) {
          const merged: Schema = { ...(real[0] as Schema) };
          for (const k of KEEP) if (s[k] !== undefined && k !== "default") merged[k] = s[k];
          if (s.default !== undefined && s.default !== null) merged.default = s.default;
          delete s[key];
          s = { ...s, ...merged };
        }
      }
    }
    if (s.default === null) delete s.default;
    const typed = "type" in s || "enum" in s || "anyOf" in s || "oneOf" in s || "const" in s;
    if (!typed) {
      // Any JSON value (e.g. data.set's value): a text field; expressions render to any type.
      const out: Schema = { type: "string" };
      for (const k of KEEP) if (s[k] !== undefined) out[k] = s[k];
      if (out.default !== undefined && typeof out.default !== "string") {
        out.default = JSON.stringify(out.default);
      }
      return out;
    }
    if (s.properties && typeof s.properties === "object") {
      s.properties = Object.fromEntries(
        Object.entries(s.properties as Schema).map(([k, v]) => [k, walk(v, depth + 1)]),
      );
    }
    if (s.items) s.items = walk(s.items, depth + 1);
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      s.additionalProperties = walk(s.additionalProperties, depth + 1);
    }
    for (const key of ["anyOf", "oneOf", "allOf"] as const) {
      if (Array.isArray(s[key])) s[key] = (s[key] as unknown[]).map((o) => walk(o, depth + 1));
    }
    return s;
  }

  return walk(root, 0) as Schema;
}

/** rjsf `extraErrors` from API problems whose pointer is under /nodes/<i>/params. */
export function errorSchemaOf(pointers: { pointer: string; message: string }[]): Schema {
  const out: Schema = {};
  for (const p of pointers) {
    const m = /^\/nodes\/\d+\/params(\/.*)?$/.exec(p.pointer);
    if (!m) continue;
    const parts = (m[1] ?? "").split("/").filter(Boolean).map(decodePointer);
    let cur = out;
    for (const part of parts) {
      cur = (cur[part] ??= {}) as Schema;
    }
    ((cur.__errors ??= []) as string[]).push(p.message);
  }
  return out;
}

function decodePointer(s: string): string {
  return s.replace(/~1/g, "/").replace(/~0/g, "~");
}
