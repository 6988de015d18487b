import type { JsonSchema } from "./settingsApi";

export type FormValues = Record<string, string | boolean>;

interface Field {
  name: string;
  label: string;
  description: string;
  kind: "text" | "secret" | "number" | "select" | "checkbox";
  options: string[];
  required: boolean;
  placeholder: string;
}

/** The non-null branch of ``X | None`` (pydantic's ``anyOf: [X, {type: null}]``). */
function unwrap(schema: JsonSchema): JsonSchema {
  const branch = schema.anyOf?.find((s) => s.type !== "null");
  return branch ? { ...branch, ...schema, anyOf: undefined, type: branch.type } : schema;
}

/** The fields of a credential type's JSON Schema, secrets (``writeOnly``) marked. */
export function fieldsOf(schema: JsonSchema): Field[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, raw]) => {
    const s = unwrap(raw);
    const type = Array.isArray(s.type) ? s.type[0] : s.type;
    let kind: Field["kind"] = "text";
    if (raw.writeOnly || s.writeOnly || s.format === "password") kind = "secret";
    else if (s.enum) kind = "select";
    else if (type === "integer" || type === "number") kind = "number";
    else if (type === "boolean") kind = "checkbox";
    const fallback = s.default === undefined || s.default === null ? "" : String(s.default);
    return {
      name,
      label: s.title || name,
      description: s.description ?? "",
      kind,
      options: (s.enum ?? []).map(String),
      required: required.has(name),
      placeholder: fallback,
    };
  });
}

/** The body's ``data``: only the fields given a value (the server fills defaults, and an edit
 * keeps what was left blank). Numbers are sent as numbers. */
export function dataOf(schema: JsonSchema, values: FormValues): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const f of fieldsOf(schema)) {
    const v = values[f.name];
    if (v === undefined || v === "") continue;
    if (f.kind === "number" && typeof v === "string") data[f.name] = Number(v);
    else data[f.name] = v;
  }
  return data;
}

interface Props {
  schema: JsonSchema;
  values: FormValues;
  onChange: (values: FormValues) => void;
  /** Fields that hold a value already (editing): shown as set, never with their value. */
  fieldsSet?: string[];
  /** Problems by field name, from the API's answer. */
  problems?: Record<string, string>;
}

/** A form for one credential type; secrets are password inputs that never show a stored value. */
export function SchemaForm({ schema, values, onChange, fieldsSet, problems = {} }: Props) {
  const editing = fieldsSet !== undefined;
  const set = new Set(fieldsSet ?? []);
  return (
    <>
      {fieldsOf(schema).map((f) => {
        const id = `cred-field-${f.name}`;
        const value = values[f.name];
        const keep = editing && set.has(f.name);
        const hint = keep
          ? "set (leave blank to keep)"
          : f.placeholder
            ? `default: ${f.placeholder}`
            : "";
        const change = (v: string | boolean) => onChange({ ...values, [f.name]: v });
        return (
          <div key={f.name} className="field">
            {f.kind === "checkbox" ? (
              <label className="inline" htmlFor={id}>
                <input id={id} type="checkbox" checked={value === true}
                  onChange={(e) => change(e.target.checked)} />
                {f.label}
              </label>
            ) : (
              <label htmlFor={id}>
                {f.label}
                {f.required && !keep && <span aria-hidden="true"> *</span>}
                {keep && <span className="is-set" aria-label={`${f.name} is set`}>set</span>}
                {f.kind === "select" ? (
                  <select id={id} aria-label={f.label} value={typeof value === "string" ? value : ""}
                    onChange={(e) => change(e.target.value)}>
                    <option value="">{keep ? "(keep)" : f.placeholder ? `(default: ${f.placeholder})` : "(none)"}</option>
                    {f.options.map((o) => (
                      <option key={o} value={o}>{o}</option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={id}
                    aria-label={f.label}
                    aria-describedby={`${id}-note`}
                    type={f.kind === "secret" ? "password" : f.kind === "number" ? "number" : "text"}
                    autoComplete={f.kind === "secret" ? "new-password" : "off"}
                    placeholder={hint}
                    required={f.required && !keep}
                    value={typeof value === "string" ? value : ""}
                    onChange={(e) => change(e.target.value)}
                  />
                )}
              </label>
            )}
            {f.description && <div className="field-note" id={`${id}-note`}>{f.description}{f.kind === "secret" && " (write-only)"}</div>}
            {problems[f.name] && <div role="alert" className="error small">{problems[f.name]}</div>}
          </div>
        );
      })}
    </>
  );
}
