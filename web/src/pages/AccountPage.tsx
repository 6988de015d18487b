import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError, api, type SessionOut, type TotpEnrolment, type TotpStatus } from "../api";
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

function TwoFactor() {
  const { refresh } = useAuth();
  const [status, setStatus] = useState<TotpStatus | null>(null);
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState<string[] | null>(null);
  const [error, setError] = useState("");
  const load = useCallback(() => {
    api.totpStatus().then(setStatus, (err: unknown) => setError(message(err)));
  }, []);
  useEffect(load, [load]);

  async function start() {
    setError("");
    setRecovery(null);
    try {
      setEnrolment(await api.totpEnrol());
    } catch (err) {
      setError(message(err));
    }
  }

  async function confirm(e: FormEvent) {
    e.preventDefault();
    try {
      const done = await api.totpConfirm(code.trim());
      setRecovery(done.recovery_codes);
      setEnrolment(null);
      setCode("");
      setError("");
      load();
      await refresh();
    } catch (err) {
      setError(message(err));
    }
  }

  async function disable(e: FormEvent) {
    e.preventDefault();
    try {
      await api.totpDisable(code.trim());
      setCode("");
      setError("");
      setRecovery(null);
      load();
    } catch (err) {
      setError(message(err));
    }
  }

  async function renew() {
    try {
      const done = await api.totpRecoveryCodes(code.trim());
      setRecovery(done.recovery_codes);
      setCode("");
      setError("");
      load();
    } catch (err) {
      setError(message(err));
    }
  }

  return (
    <section aria-label="Two-factor authentication" className="account-form">
      <h2>Two-factor authentication</h2>
      {status?.required && !status.enabled && (
        <p role="status">This instance requires two-factor authentication: set it up to go on.</p>
      )}
      {status && !status.enabled && !enrolment && (
        <>
          <p className="muted small">Off. Sign-in will also ask for a code from an authenticator app.</p>
          <button type="button" onClick={() => void start()}>Set up two-factor authentication</button>
        </>
      )}
      {enrolment && (
        <form aria-label="Confirm two-factor authentication" onSubmit={(e) => void confirm(e)}>
          <p>Scan this QR code with your authenticator app, or type the key by hand.</p>
          <img alt="QR code of the authenticator key" width={200} height={200}
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qr_svg)}`} />
          <p>Key: <code aria-label="Authenticator key">{enrolment.secret}</code></p>
          <label>
            Code from the app
            <input autoComplete="one-time-code" inputMode="numeric" pattern="[0-9]{6}" required
              value={code} onChange={(e) => setCode(e.target.value)} aria-label="Code from the app" />
          </label>
          <button type="submit">Turn on</button>
        </form>
      )}
      {recovery && (
        <div role="status" aria-label="Recovery codes">
          <p>Two-factor authentication is on. Keep these recovery codes somewhere safe: each signs
            in once when the phone is lost, and they are not shown again (earlier ones no longer
            work).</p>
          <ul className="recovery-codes">
            {recovery.map((c) => <li key={c}><code>{c}</code></li>)}
          </ul>
        </div>
      )}
      {status?.enabled && (
        <form aria-label="Turn off two-factor authentication" onSubmit={(e) => void disable(e)}>
          <p>On since {status.enabled_at ? new Date(status.enabled_at).toLocaleString() : "–"};
            {" "}{status.recovery_codes_left} recovery codes left.</p>
          <label>
            Code or recovery code
            <input autoComplete="one-time-code" required value={code}
              onChange={(e) => setCode(e.target.value)} aria-label="Code to turn off" />
          </label>
          <button type="submit">Turn off</button>
          <button type="button" onClick={() => void renew()}>New recovery codes</button>
        </form>
      )}
      {error && <p role="alert" className="error">{error}</p>}
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
      <TwoFactor />
      {!me?.must_enrol_second_factor && <Sessions />}
    </section>
  );
}
