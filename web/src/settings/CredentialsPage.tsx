import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { ApiError } from "../api";
import { atLeast, useAuth } from "../auth";
import { when } from "./RequireRole";
import { SchemaForm, dataOf, type FormValues } from "./SchemaForm";
import { describe, settingsApi, type Credential, type CredentialType } from "./settingsApi";

interface Draft {
  /** The credential being edited; null: a new one. */
  editing: Credential | null;
  name: string;
  type: string;
  values: FormValues;
}

function fieldProblems(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiError) {
    for (const p of err.problems) {
      const m = /^\/data\/([^/]+)/.exec(p.pointer);
      if (m) out[m[1]] = p.message;
    }
  }
  return out;
}

/** /settings/credentials: list, create and edit; values are write-only. */
export function CredentialsPage() {
  const { me } = useAuth();
  const canManage = atLeast(me, "admin");
  const [types, setTypes] = useState<CredentialType[]>([]);
  const [items, setItems] = useState<Credential[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState("");
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState("");

  const load = useCallback(() => {
    settingsApi.credentials().then(setItems, (e) => setError(describe(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    settingsApi.credentialTypes().then(setTypes, (e) => setError(describe(e)));
  }, []);
  const byType = useMemo(() => new Map(types.map((t) => [t.type, t])), [types]);
  const draftType = draft ? byType.get(draft.type) : undefined;

  function open(editing: Credential | null) {
    setError("");
    setProblems({});
    setNotice("");
    setDraft({
      editing,
      name: editing?.name ?? "",
      type: editing?.type ?? types[0]?.type ?? "",
      values: {},
    });
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!draft || !draftType) return;
    setError("");
    setProblems({});
    const data = dataOf(draftType.schema, draft.values);
    try {
      if (draft.editing) {
        const body: { name?: string; data?: Record<string, unknown> } = {};
        if (draft.name !== draft.editing.name) body.name = draft.name;
        if (Object.keys(data).length) body.data = data;
        await settingsApi.updateCredential(draft.editing.id, body);
        setNotice(`Saved ${draft.name}.`);
      } else {
        await settingsApi.createCredential(draft.name, draft.type, data);
        setNotice(`Created ${draft.name}.`);
      }
      setDraft(null);
      load();
    } catch (err) {
      setError(describe(err));
      setProblems(fieldProblems(err));
    }
  }

  async function remove(c: Credential) {
    if (!window.confirm(`Delete the credential ${c.name}? Nodes that use it will fail.`)) return;
    setError("");
    try {
      await settingsApi.deleteCredential(c.id);
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  return (
    <section className="page">
      <div className="page-head">
        <h1>Credentials</h1>
        <button type="button" className="primary" disabled={!canManage || types.length === 0}
          title={canManage ? undefined : "needs the admin role"} onClick={() => open(null)}>
          New credential
        </button>
      </div>
      <p className="muted small">
        Values are write-only: they are encrypted at rest, and neither this page nor the API ever
        shows them again; the list says which fields are set.
      </p>
      {notice && <p role="status">{notice}</p>}
      {error && <pre role="alert" className="error">{error}</pre>}
      {draft && (
        <form className="settings-form" aria-label={draft.editing ? "Edit credential" : "New credential"}
          onSubmit={(e) => void save(e)} autoComplete="off">
          <label>
            Credential name
            <input value={draft.name} required maxLength={200}
              onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
          </label>
          <label>
            Credential type
            <select value={draft.type} disabled={!!draft.editing}
              onChange={(e) => setDraft({ ...draft, type: e.target.value, values: {} })}>
              {types.map((t) => (
                <option key={t.type} value={t.type}>{t.display_name}</option>
              ))}
            </select>
          </label>
          {draftType && (
            <SchemaForm schema={draftType.schema} values={draft.values} problems={problems}
              fieldsSet={draft.editing ? draft.editing.fields_set : undefined}
              onChange={(values) => setDraft({ ...draft, values })} />
          )}
          <div className="actions">
            <button type="submit" className="primary">{draft.editing ? "Save" : "Create"}</button>
            <button type="button" onClick={() => setDraft(null)}>Cancel</button>
          </div>
        </form>
      )}
      <table className="list" aria-label="Credentials">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Fields set</th>
            <th>Created</th>
            <th>Last used</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr key={c.id}>
              <td>{c.name}</td>
              <td>{byType.get(c.type)?.display_name ?? c.type}</td>
              <td>{c.fields_set.map((f) => <span key={f} className="tag">{f}</span>)}</td>
              <td>{when(c.created_at)}</td>
              <td>{when(c.last_used_at)}</td>
              <td className="actions">
                <button type="button" disabled={!canManage} aria-label={`Edit ${c.name}`}
                  onClick={() => open(c)}>Edit</button>
                <button type="button" disabled={!canManage} aria-label={`Delete ${c.name}`}
                  onClick={() => void remove(c)}>Delete</button>
              </td>
            </tr>
          ))}
          {items.length === 0 && (
            <tr><td colSpan={6} className="muted">No credentials yet.</td></tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
