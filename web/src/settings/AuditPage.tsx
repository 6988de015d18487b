import { useEffect, useState } from "react";
import { when } from "./RequireRole";
import { describe, settingsApi, type AuditEntry, type Member } from "./settingsApi";

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** /settings/audit (admins): who changed what, filtered by actor, action and time. */
export function AuditPage() {
  const [members, setMembers] = useState<Member[]>([]);
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [cursors, setCursors] = useState<string[]>([""]);
  const [items, setItems] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState("");
  const cursor = cursors[cursors.length - 1];
  const filterKey = JSON.stringify([actor, action, since, until]);

  useEffect(() => {
    settingsApi.members().then(setMembers, () => undefined);
  }, []);
  useEffect(() => setCursors([""]), [filterKey]);
  useEffect(() => {
    let stale = false;
    const actions = action.split(",").map((a) => a.trim()).filter(Boolean);
    settingsApi
      .audit({
        action: actions.length ? actions : undefined,
        actor: actor || undefined,
        since: toIso(since),
        until: toIso(until),
        cursor: cursor || undefined,
      })
      .then(
        (page) => {
          if (stale) return;
          setItems(page.items);
          setNext(page.next_cursor);
          setError("");
        },
        (err) => {
          if (!stale) setError(describe(err));
        },
      );
    return () => {
      stale = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey, cursor]);

  const who = (id: string | null) =>
    id ? (members.find((m) => m.user_id === id)?.email ?? id) : "system";

  return (
    <section className="page">
      <div className="page-head">
        <h1>Audit log</h1>
      </div>
      <div className="filters" role="search" aria-label="Audit filters">
        <label>
          Actor
          <select aria-label="Actor" value={actor} onChange={(e) => setActor(e.target.value)}>
            <option value="">anyone</option>
            {members.map((m) => (
              <option key={m.user_id} value={m.user_id}>{m.email}</option>
            ))}
          </select>
        </label>
        <label>
          Action (comma-separated; <code>member.*</code> matches a prefix)
          <input aria-label="Action" value={action} placeholder="member.*, api_key.revoked"
            onChange={(e) => setAction(e.target.value)} />
        </label>
        <label>
          Since
          <input type="datetime-local" aria-label="Since" value={since}
            onChange={(e) => setSince(e.target.value)} />
        </label>
        <label>
          Until
          <input type="datetime-local" aria-label="Until" value={until}
            onChange={(e) => setUntil(e.target.value)} />
        </label>
      </div>
      {error && <pre role="alert" className="error">{error}</pre>}
      <table className="list" aria-label="Audit entries">
        <thead>
          <tr>
            <th>When</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Target</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td>{when(e.created_at)}</td>
              <td>{who(e.actor_user_id)}{e.actor_api_key_id && <span className="tag">key</span>}</td>
              <td><code>{e.action}</code></td>
              <td>{e.target_type} <span className="muted small">{e.target_id}</span></td>
              <td className="audit-data">{JSON.stringify(e.data)}</td>
            </tr>
          ))}
          {items.length === 0 && (
            <tr><td colSpan={5} className="muted">No entries match.</td></tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={cursors.length < 2}
          onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <button type="button" disabled={!next}
          onClick={() => next && setCursors((c) => [...c, next])}>Older</button>
      </div>
    </section>
  );
}
