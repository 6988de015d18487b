import { useCallback, useEffect, useMemo, useState, type ChangeEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { ApiError, api, type WorkflowOut } from "../api";
import { preloadEditor } from "../shell/lazyPages";
import { atLeast, useAuth } from "../auth";
import { DescribeWorkflow } from "../copilot/DescribeWorkflow";

const BLANK = {
  name: "New workflow",
  nodes: [{ id: "start", type: "trigger.manual", params: {}, position: { x: 0, y: 0 } }],
  edges: [],
};

function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const first = err.problems.slice(0, 3).map((p) => `${p.pointer || "/"}: ${p.message}`);
    return [err.message, ...first].join("\n");
  }
  return String(err);
}

/** JSON or YAML? The API takes both; YAML goes with its own content type. */
function contentTypeOf(text: string): string {
  const t = text.trimStart();
  return t.startsWith("{") ? "application/json" : "application/yaml";
}

export function WorkflowsPage() {
  const { me } = useAuth();
  const canEdit = atLeast(me, "editor");
  const navigate = useNavigate();
  const [items, setItems] = useState<WorkflowOut[]>([]);
  const [query, setQuery] = useState("");
  const [showArchived, setShowArchived] = useState(false);
  const [error, setError] = useState("");
  const [importOpen, setImportOpen] = useState(false);
  const [paste, setPaste] = useState("");
  const [describeOpen, setDescribeOpen] = useState(false);

  const load = useCallback(() => {
    api.workflows(showArchived).then(setItems, (e) => setError(describe(e)));
  }, [showArchived]);
  useEffect(load, [load]);
  useEffect(() => {
    void api.nodes().catch(() => undefined); // warm the editor's catalog while the list shows
    preloadEditor(); // and its code
  }, []);

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return items.filter(
      (w) => !q || w.name.toLowerCase().includes(q) || w.description.toLowerCase().includes(q),
    );
  }, [items, query]);

  async function create(text: string, contentType = "application/json") {
    setError("");
    try {
      const out = await api.createWorkflow(text, contentType);
      navigate(`/editor/${out.workflow.id}`);
    } catch (err) {
      setError(describe(err));
    }
  }

  async function duplicate(w: WorkflowOut) {
    setError("");
    try {
      if (w.latest_version == null) return;
      const v = await api.version(w.id, w.latest_version);
      const def = { ...v.definition, name: `${v.definition.name} (copy)`.slice(0, 200) };
      await api.createWorkflow(JSON.stringify(def));
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  async function toggleArchive(w: WorkflowOut) {
    setError("");
    try {
      await (w.archived ? api.unarchive(w.id) : api.archive(w.id));
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  async function onFile(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    const text = await file.text();
    const yaml = /\.ya?ml$/i.test(file.name);
    await create(text, yaml ? "application/yaml" : contentTypeOf(text));
  }

  return (
    <section className="page">
      <div className="page-head">
        <h1>Workflows</h1>
        <input
          type="search"
          placeholder="Search workflows"
          aria-label="Search workflows"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <label className="inline">
          <input type="checkbox" checked={showArchived} aria-label="Show archived"
            onChange={(e) => setShowArchived(e.target.checked)} />
          Show archived
        </label>
        {canEdit && (
          <>
            <button type="button" aria-label="New workflow" onClick={() => void create(JSON.stringify(BLANK))}>
              New workflow
            </button>
            <button type="button" aria-label="Import workflow" onClick={() => setImportOpen((o) => !o)}>
              Import
            </button>
            <button type="button" onClick={() => setDescribeOpen((o) => !o)}>
              Describe a workflow
            </button>
          </>
        )}
        <Link to="/chat">Chat</Link>
      </div>
      {describeOpen && <DescribeWorkflow onClose={() => setDescribeOpen(false)} />}
      {importOpen && (
        <div className="import-box" role="region" aria-label="Import a definition">
          <label>
            Definition file (JSON or YAML)
            <input type="file" accept=".json,.yaml,.yml,application/json" aria-label="Definition file"
              onChange={(e) => void onFile(e)} />
          </label>
          <label>
            …or paste it
            <textarea rows={8} value={paste} aria-label="Paste definition"
              onChange={(e) => setPaste(e.target.value)} placeholder="name: My workflow&#10;nodes: …" />
          </label>
          <button type="button" aria-label="Import pasted definition" disabled={!paste.trim()}
            onClick={() => void create(paste, contentTypeOf(paste))}>
            Import pasted
          </button>
        </div>
      )}
      {error && <pre role="alert" className="error">{error}</pre>}
      <table className="list" aria-label="Workflows">
        <thead>
          <tr>
            <th>Name</th>
            <th>Versions</th>
            <th>Published</th>
            <th>Updated</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {shown.map((w) => (
            <tr key={w.id} className={w.archived ? "archived" : ""}>
              <td>
                <Link to={`/editor/${w.id}`} state={{ latest: w.latest_version }}>{w.name}</Link>
                {w.archived && <span className="tag">archived</span>}
                {w.description && <div className="muted">{w.description}</div>}
              </td>
              <td>{w.latest_version ?? "–"}</td>
              <td>{w.published_version ? `v${w.published_version}` : "–"}</td>
              <td>{new Date(w.updated_at).toLocaleString()}</td>
              <td className="actions">
                <Link to={`/runs?workflow=${w.id}`} aria-label={`Executions of ${w.name}`}>Runs</Link>
                {canEdit && (
                  <>
                    <button type="button" aria-label={`Duplicate ${w.name}`} onClick={() => void duplicate(w)}>
                      Duplicate
                    </button>
                    <button type="button" aria-label={`${w.archived ? "Unarchive" : "Archive"} ${w.name}`}
                      onClick={() => void toggleArchive(w)}>
                      {w.archived ? "Unarchive" : "Archive"}
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
          {shown.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                {items.length ? "No workflow matches the search." : "No workflows yet."}
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
