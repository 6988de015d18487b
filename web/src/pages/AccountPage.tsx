import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError, api, type SessionOut } from "../api";
import { useAuth } from "../auth";

function message(err: unknown): string {
  return err instanceof ApiError ? err.message : String(err);
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState("");
  const [done, setDone] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setDone("");
    if (next !== again) {
      setError("the new passwords differ");
      return;
    }
    setBusy(true);
    try {
      await api.changePassword(current, next);
      setError("");
      setDone("Password changed. Your other sessions were signed out.");
      setCurrent("");
      setNext("");
      setAgain("");
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="account-form" aria-label="Change password" onSubmit={(e) => void submit(e)}>
      <h2>Change password</h2>
      <label>
        Current password
        <input type="password" autoComplete="current-password" value={current} required
          onChange={(e) => setCurrent(e.target.value)} />
      </label>
      <label>
        New password
        <input type="password" autoComplete="new-password" value={next} required
          onChange={(e) => setNext(e.target.value)} />
      </label>
      <label>
        New password again
        <input type="password" autoComplete="new-password" value={again} required
          onChange={(e) => setAgain(e.target.value)} />
      </label>
      <button type="submit" disabled={busy}>Change password</button>
      {error && <p role="alert" className="error">{error}</p>}
      {done && <p role="status">{done}</p>}
    </form>
  );
}

function Sessions() {
  const [items, setItems] = useState<SessionOut[] | null>(null);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    api.sessions().then(
      (list) => {
        setItems(list);
        setError("");
      },
      (err: unknown) => setError(message(err)),
    );
  }, []);
  useEffect(load, [load]);

  async function revoke(id: string) {
    try {
      await api.revokeSession(id);
      load();
    } catch (err) {
      setError(message(err));
    }
  }

  return (
    <section aria-label="Browser sessions">
      <h2>Browser sessions</h2>
      <p className="muted small">Where you are signed in. Revoking one signs that browser out.</p>
      {error && <p role="alert" className="error">{error}</p>}
      <table className="list" aria-label="Sessions">
        <thead>
          <tr><th>Browser</th><th>Address</th><th>Signed in</th><th>Last seen</th><th /></tr>
        </thead>
        <tbody>
          {(items ?? []).map((s) => (
            <tr key={s.id} data-session={s.id}>
              <td>{s.user_agent || "unknown"}{s.current && <b> (this browser)</b>}</td>
              <td>{s.ip || "–"}</td>
              <td>{new Date(s.created_at).toLocaleString()}</td>
              <td>{new Date(s.last_seen_at).toLocaleString()}</td>
              <td>
                {!s.current && (
                  <button type="button" aria-label={`Revoke session ${s.id}`}
                    onClick={() => void revoke(s.id)}>Revoke</button>
                )}
              </td>
            </tr>
          ))}
          {items && !items.length && (
            <tr><td colSpan={5} className="muted">No browser sessions (you are using an API key).</td></tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

export function AccountPage() {
  const { me } = useAuth();
  return (
    <section className="page account">
      <div className="page-head">
        <h1>Account</h1>
      </div>
      {me && (
        <p>
          {me.user.email || "API key"} · <b>{me.role}</b> in {me.workspace.name}
        </p>
      )}
      <PasswordForm />
      <Sessions />
    </section>
  );
}
