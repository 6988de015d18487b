import { useCallback, useEffect, useState } from "react";
import { ApiError, api, type WorkflowOut } from "../api";
import { atLeast, useAuth } from "../auth";
import { widgetsApi, type WidgetFields, type WidgetOut } from "./api";
import "./widgets.css";

const DEFAULT_COLORS = { accent: "#2563eb", background: "#ffffff", text: "#111827" };

function blank(workflowId = ""): WidgetFields {
  return {
    name: "",
    workflow_id: workflowId,
    allowed_origins: [],
    greeting: "",
    colors: {},
    messages_per_minute: 10,
    visitors_per_minute: 10,
    enabled: true,
  };
}

function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const first = err.problems.slice(0, 5).map((p) => `${p.pointer || "/"}: ${p.message}`);
    return [err.message, ...first].join("\n");
  }
  return String(err);
}

function Snippet({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      setCopied(false); // no clipboard permission: the code stays selectable
    }
  }
  return (
    <div className="snippet">
      <code aria-label="Snippet">{text}</code>
      <button type="button" onClick={() => void copy()}>
        {copied ? "Copied" : "Copy snippet"}
      </button>
    </div>
  );
}

function WidgetForm({
  initial,
  workflows,
  onSave,
  onCancel,
}: {
  initial: WidgetFields;
  workflows: WorkflowOut[];
  onSave: (fields: WidgetFields) => Promise<void>;
  onCancel: () => void;
}) {
  const [fields, setFields] = useState(initial);
  const [origins, setOrigins] = useState(initial.allowed_origins.join("\n"));
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof WidgetFields>(key: K, value: WidgetFields[K]) =>
    setFields((f) => ({ ...f, [key]: value }));
  const color = (key: keyof typeof DEFAULT_COLORS) => fields.colors[key] ?? DEFAULT_COLORS[key];

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    const allowed = origins.split(/\s+/).filter(Boolean);
    try {
      await onSave({ ...fields, allowed_origins: allowed });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="widget-form" aria-label="Widget" onSubmit={(e) => void submit(e)}>
      <label htmlFor="wg-name">Name</label>
      <input id="wg-name" value={fields.name} onChange={(e) => set("name", e.target.value)} />
      <label htmlFor="wg-workflow">Chat workflow</label>
      <select
        id="wg-workflow"
        value={fields.workflow_id}
        onChange={(e) => set("workflow_id", e.target.value)}
      >
        <option value="">Choose a published workflow…</option>
        {workflows.map((w) => (
          <option key={w.id} value={w.id}>
            {w.name} (v{w.published_version})
          </option>
        ))}
      </select>
      <label htmlFor="wg-origins">Allowed origins (one a line)</label>
      <textarea
        id="wg-origins"
        placeholder="https://www.example.com"
        value={origins}
        onChange={(e) => setOrigins(e.target.value)}
      />
      <label htmlFor="wg-greeting">Greeting</label>
      <input
        id="wg-greeting"
        value={fields.greeting}
        onChange={(e) => set("greeting", e.target.value)}
      />
      <span>Colours</span>
      <div className="colors">
        {(Object.keys(DEFAULT_COLORS) as (keyof typeof DEFAULT_COLORS)[]).map((key) => (
          <label key={key}>
            {key}{" "}
            <input
              type="color"
              aria-label={`${key} colour`}
              value={color(key)}
              onChange={(e) => set("colors", { ...fields.colors, [key]: e.target.value })}
            />
          </label>
        ))}
      </div>
      <label htmlFor="wg-messages">Messages per visitor a minute</label>
      <input
        id="wg-messages"
        type="number"
        min={1}
        max={600}
        value={fields.messages_per_minute}
        onChange={(e) => set("messages_per_minute", Number(e.target.value))}
      />
      <label htmlFor="wg-visitors">New visitors per address a minute</label>
      <input
        id="wg-visitors"
        type="number"
        min={1}
        max={600}
        value={fields.visitors_per_minute}
        onChange={(e) => set("visitors_per_minute", Number(e.target.value))}
      />
      <label htmlFor="wg-enabled">Enabled</label>
      <input
        id="wg-enabled"
        type="checkbox"
        checked={fields.enabled}
        onChange={(e) => set("enabled", e.target.checked)}
      />
      <div className="form-actions">
        <button type="submit" disabled={busy}>
          Save widget
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function fieldsOf(w: WidgetOut): WidgetFields {
  const colors = Object.fromEntries(Object.entries(w.colors).filter(([, v]) => v));
  return {
    name: w.name,
    workflow_id: w.workflow_id,
    allowed_origins: w.allowed_origins,
    greeting: w.greeting,
    colors,
    messages_per_minute: w.messages_per_minute,
    visitors_per_minute: w.visitors_per_minute,
    enabled: w.enabled,
  };
}

export function WidgetsPage() {
  const { me } = useAuth();
  const isAdmin = atLeast(me, "admin");
  const [items, setItems] = useState<WidgetOut[]>([]);
  const [workflows, setWorkflows] = useState<WorkflowOut[]>([]);
  const [editing, setEditing] = useState<WidgetOut | "new" | null>(null);
  const [error, setError] = useState("");

  const load = useCallback(() => {
    widgetsApi.list().then(setItems, (e) => setError(describe(e)));
    api
      .workflows()
      .then((all) => setWorkflows(all.filter((w) => w.published_version !== null)))
      .catch((e) => setError(describe(e)));
  }, []);
  useEffect(() => {
    if (isAdmin) load();
  }, [isAdmin, load]);

  if (!isAdmin) {
    return (
      <section className="page">
        <h1>Chat widgets</h1>
        <p role="alert">Only admins and owners manage chat widgets.</p>
      </section>
    );
  }

  async function save(fields: WidgetFields) {
    setError("");
    try {
      if (editing === "new") await widgetsApi.create(fields);
      else if (editing) await widgetsApi.update(editing.id, fields);
      setEditing(null);
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  async function remove(w: WidgetOut) {
    if (!window.confirm(`Delete the widget "${w.name}"? Sites using it stop showing it.`)) return;
    try {
      await widgetsApi.remove(w.id);
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  const names = new Map(workflows.map((w) => [w.id, w.name]));
  return (
    <section className="page">
      <div className="page-head">
        <h1>Chat widgets</h1>
        <button type="button" onClick={() => setEditing("new")} disabled={editing !== null}>
          New widget
        </button>
      </div>
      <p className="muted">
        Put one script tag on a site whose origin you allow: visitors chat with a published
        workflow that starts with a Chat trigger.
      </p>
      {error && (
        <pre role="alert" className="error">
          {error}
        </pre>
      )}
      {editing !== null && (
        <WidgetForm
          key={editing === "new" ? "new" : editing.id}
          initial={editing === "new" ? blank(workflows[0]?.id ?? "") : fieldsOf(editing)}
          workflows={workflows}
          onSave={save}
          onCancel={() => setEditing(null)}
        />
      )}
      <table className="list" aria-label="Widgets">
        <thead>
          <tr>
            <th>Name</th>
            <th>Workflow</th>
            <th>Allowed origins</th>
            <th>Snippet</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((w) => (
            <tr key={w.id}>
              <td>
                {w.name}
                {!w.enabled && <span className="tag">disabled</span>}
              </td>
              <td>{names.get(w.workflow_id) ?? w.workflow_id}</td>
              <td>{w.allowed_origins.join(", ")}</td>
              <td>
                <Snippet text={w.snippet} />
              </td>
              <td className="actions">
                <button type="button" onClick={() => setEditing(w)} disabled={editing !== null}>
                  Edit
                </button>
                <button type="button" onClick={() => void remove(w)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {items.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No widgets yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
