import { useCallback, useEffect, useState, type FormEvent } from "react";
import { atLeast, useAuth } from "../auth";
import { when } from "./RequireRole";
import {
  describe,
  settingsApi,
  type Credential,
  type McpServer,
  type McpServerCreate,
  type McpTool,
} from "./settingsApi";

const AUTH_TYPES = new Set(["bearer_token", "api_key", "basic_auth"]);
const EMPTY: McpServerCreate = { name: "", description: "", transport: "streamable_http", url: "" };

/** /settings/mcp-servers: outside MCP servers whose tools agents may use. */
export function McpServersPage() {
  const { me } = useAuth();
  const isAdmin = atLeast(me, "admin");
  const canRefresh = atLeast(me, "editor");
  const [items, setItems] = useState<McpServer[]>([]);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [draft, setDraft] = useState<McpServerCreate>(EMPTY);
  const [tools, setTools] = useState<Record<string, McpTool[] | string>>({});
  const [error, setError] = useState("");

  const load = useCallback(() => {
    settingsApi.mcpServers().then(setItems, (e) => setError(describe(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    settingsApi.credentials().then(
      (all) => setCredentials(all.filter((c) => AUTH_TYPES.has(c.type))),
      () => undefined,
    );
  }, []);

  async function register(e: FormEvent) {
    e.preventDefault();
    setError("");
    const stdio = draft.transport === "stdio";
    try {
      await settingsApi.createMcpServer({
        ...draft,
        url: stdio ? null : draft.url || null,
        command: stdio ? draft.command || null : null,
        credential_id: draft.credential_id || null,
      });
      setDraft(EMPTY);
      load();
    } catch (err) {
      setError(describe(err));
    }
  }

  async function showTools(s: McpServer, refresh: boolean) {
    setError("");
    try {
      const list = refresh ? (await settingsApi.refreshMcpServer(s.id)).tools : await settingsApi.mcpTools(s.id);
      setTools((t) => ({ ...t, [s.id]: list }));
      if (refresh) load();
    } catch (err) {
      setTools((t) => ({ ...t, [s.id]: describe(err) }));
    }
  }

  async function remove(s: McpServer) {
    if (!window.confirm(`Remove the MCP server ${s.name}? Agents lose its tools.`)) return;
    setError("");
    try {
      await settingsApi.deleteMcpServer(s.id);
    } catch (err) {
      setError(describe(err));
    }
    load();
  }

  return (
    <section className="page">
      <div className="page-head">
        <h1>MCP servers</h1>
        <span className="muted small">Agents use their tools as <code>&lt;server&gt;__&lt;tool&gt;</code>.</span>
      </div>
      {error && <pre role="alert" className="error">{error}</pre>}
      <form className="settings-form" aria-label="Register an MCP server" onSubmit={(e) => void register(e)}>
        <fieldset disabled={!isAdmin} style={{ border: 0, padding: 0, margin: 0 }}>
          <label>
            Name (letters, digits, _ and -)
            <input value={draft.name} required pattern="[a-zA-Z0-9_\-]{1,40}"
              onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
          </label>
          <label>
            Description
            <input value={draft.description ?? ""}
              onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
          </label>
          <label>
            Transport
            <select value={draft.transport}
              onChange={(e) => setDraft({ ...draft, transport: e.target.value as McpServerCreate["transport"] })}>
              <option value="streamable_http">streamable HTTP</option>
              <option value="sse">SSE</option>
              <option value="stdio">stdio (allow-listed command)</option>
            </select>
          </label>
          {draft.transport === "stdio" ? (
            <label>
              Command name (from REPORUNNER_MCP_STDIO_COMMANDS)
              <input value={draft.command ?? ""} onChange={(e) => setDraft({ ...draft, command: e.target.value })} />
            </label>
          ) : (
            <label>
              URL
              <input type="url" value={draft.url ?? ""} placeholder="https://mcp.example.com/mcp"
                onChange={(e) => setDraft({ ...draft, url: e.target.value })} />
            </label>
          )}
          <label>
            Credential (sent as auth)
            <select value={draft.credential_id ?? ""}
              onChange={(e) => setDraft({ ...draft, credential_id: e.target.value })}>
              <option value="">none</option>
              {credentials.map((c) => (
                <option key={c.id} value={c.id}>{c.name} ({c.type})</option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary" title={isAdmin ? undefined : "needs the admin role"}>
            Register
          </button>
        </fieldset>
      </form>
      <table className="list" aria-label="MCP servers">
        <thead>
          <tr>
            <th>Name</th>
            <th>Endpoint</th>
            <th>Tools</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => {
            const shown = tools[s.id];
            return (
              <tr key={s.id}>
                <td>
                  {s.name}{!s.enabled && <span className="tag">off</span>}
                  <div className="muted small">{s.description}</div>
                </td>
                <td>{s.transport} <span className="muted small">{s.url ?? s.command}</span></td>
                <td>
                  {s.tools.length} cached <span className="muted small">(listed {when(s.tools_refreshed_at)})</span>
                  {typeof shown === "string" && <div role="alert" className="error small">{shown}</div>}
                  {Array.isArray(shown) && (
                    <ul className="tools" aria-label={`Tools of ${s.name}`}>
                      {shown.map((t) => (
                        <li key={t.name}><code>{t.name}</code> <span className="muted">{t.description}</span></li>
                      ))}
                      {shown.length === 0 && <li className="muted">no tools</li>}
                    </ul>
                  )}
                </td>
                <td className="actions">
                  <button type="button" aria-label={`Show tools of ${s.name}`} onClick={() => void showTools(s, false)}>
                    Tools
                  </button>
                  <button type="button" aria-label={`Refresh tools of ${s.name}`} disabled={!canRefresh}
                    onClick={() => void showTools(s, true)}>Refresh</button>
                  <button type="button" aria-label={`Remove ${s.name}`} disabled={!isAdmin}
                    onClick={() => void remove(s)}>Remove</button>
                </td>
              </tr>
            );
          })}
          {items.length === 0 && (
            <tr><td colSpan={4} className="muted">No MCP servers registered.</td></tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
