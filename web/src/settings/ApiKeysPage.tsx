import { useCallback, useEffect, useState, type FormEvent } from "react";
import { atLeast, useAuth } from "../auth";
import { when } from "./RequireRole";
import { describe, settingsApi, type ApiKey, type ApiKeyCreated, type Member } from "./settingsApi";

function toIso(local: string): string | null {
  if (!local) return null;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** /settings/api-keys: personal keys (every key for admins); a new key is shown once. */
export function ApiKeysPage() {
  const { me } = useAuth();
  const isAdmin = atLeast(me, "admin");
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [members, setMembers] = useState<Member[]>([]);
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState("");

  const load = useCallback(() => {
    settingsApi.apiKeys().then(setKeys, (e) => setError(describe(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    settingsApi.members().then(setMembers, () => undefined);
  }, []);
  const holder = (id: string) => members.find((m) => m.user_id === id);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError("");
    try {
      setCreated(await settingsApi.createApiKey(name, toIso(expires)));
      setName("");
      setExpires("");
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  async function revoke(k: ApiKey) {
    if (!window.confirm(`Revoke the key ${k.name} (${k.prefix}…)? Programs using it stop working.`)) return;
    setError("");
    try {
      await settingsApi.revokeApiKey(k.id);
    } catch (err) {
      setError(describe(err));
    }
    load();
  }

  /** Own keys always; an admin those of members of its rank or lower, never an owner's. */
  function mayRevoke(k: ApiKey): boolean {
    if (k.user_id === me?.user.id) return true;
    const h = holder(k.user_id);
    return isAdmin && (!h || atLeast(me, h.role));
  }

  return (
    <section className="page">
      <div className="page-head">
        <h1>API keys</h1>
        <span className="muted small">{isAdmin ? "Every key of the workspace." : "Your keys."}</span>
      </div>
      {error && <pre role="alert" className="error">{error}</pre>}
      <form className="settings-form" aria-label="New API key" onSubmit={(e) => void create(e)}>
        <label>
          Name (what the key is for)
          <input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Expires (optional)
          <input type="datetime-local" aria-label="Expires" value={expires}
            onChange={(e) => setExpires(e.target.value)} />
        </label>
        <button type="submit" className="primary">Create key</button>
      </form>
      {created && (
        <div className="once" role="region" aria-label="New key">
          <strong>Copy the key {created.name} now:</strong> it is shown only this once.
          <code aria-label="Full API key">{created.key}</code>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(created.key)}>Copy</button>{" "}
          <button type="button" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <table className="list" aria-label="API keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Member</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            <th>State</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td><code>{k.prefix}…</code></td>
              <td>{holder(k.user_id)?.email ?? k.user_id}</td>
              <td>{when(k.created_at)}</td>
              <td>{when(k.expires_at)}</td>
              <td>{when(k.last_used_at)}</td>
              <td>{k.revoked_at ? `revoked ${when(k.revoked_at)}` : "active"}</td>
              <td className="actions">
                <button type="button" aria-label={`Revoke ${k.name}`}
                  disabled={!!k.revoked_at || !mayRevoke(k)} onClick={() => void revoke(k)}>
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
