import { useState } from "react";

function Leaf({ value }: { value: unknown }) {
  if (value === null) return <span className="j-null">null</span>;
  if (typeof value === "string") return <span className="j-str">"{value}"</span>;
  if (typeof value === "number") return <span className="j-num">{value}</span>;
  if (typeof value === "boolean") return <span className="j-bool">{String(value)}</span>;
  return <span>{String(value)}</span>;
}

export function JsonTree({ value, name, depth = 0 }: { value: unknown; name?: string; depth?: number }) {
  if (value === null || typeof value !== "object") {
    return (
      <div className="j-row">
        {name !== undefined && <span className="j-key">{name}: </span>}
        <Leaf value={value} />
      </div>
    );
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <details open={depth < 3} className="j-node">
      <summary>
        {name !== undefined && <span className="j-key">{name} </span>}
        <span className="muted">{summary}</span>
      </summary>
      <div className="j-children">
        {entries.map(([k, v]) => (
          <JsonTree key={k} name={k} value={v} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}

function cell(v: unknown): string {
  if (v === undefined) return "";
  if (v === null || typeof v !== "object") return String(v);
  return JSON.stringify(v);
}

/** Items (a list of objects) as a table, one column per top-level key. */
export function ItemsTable({ items }: { items: unknown[] }) {
  const rows = items.map((it) => (it && typeof it === "object" && !Array.isArray(it) ? it : { value: it }) as Record<string, unknown>);
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, 30);
  if (!rows.length) return <p className="muted">No items.</p>;
  return (
    <table className="items">
      <thead>
        <tr>
          <th>#</th>
          {cols.map((c) => <th key={c}>{c}</th>)}
        </tr>
      </thead>
      <tbody>
        {rows.slice(0, 200).map((r, i) => (
          <tr key={i}>
            <td>{i}</td>
            {cols.map((c) => <td key={c}>{cell(r[c])}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Ports → items, shown as a JSON tree or as tables. */
export function PortsView({ label, ports }: { label: string; ports: Record<string, unknown> | null | undefined }) {
  const [mode, setMode] = useState<"tree" | "table">("tree");
  return (
    <section className="ports-view" aria-label={label}>
      <div className="pv-head">
        <h4>{label}</h4>
        <div role="group" aria-label={`${label} view`}>
          <button type="button" aria-pressed={mode === "tree"} onClick={() => setMode("tree")}
            aria-label={`${label} as JSON tree`}>JSON</button>
          <button type="button" aria-pressed={mode === "table"} onClick={() => setMode("table")}
            aria-label={`${label} as table`}>Table</button>
        </div>
      </div>
      {!ports ? (
        <p className="muted">Nothing recorded.</p>
      ) : mode === "tree" ? (
        <JsonTree value={ports} />
      ) : (
        Object.entries(ports).map(([port, items]) => (
          <div key={port}>
            <div className="muted">port {port}</div>
            <ItemsTable items={Array.isArray(items) ? items : [items]} />
          </div>
        ))
      )}
    </section>
  );
}
