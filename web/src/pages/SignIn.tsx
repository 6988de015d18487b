import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { ApiError, api, problemCode, type Me, type SsoInfo } from "../api";
import { useAuth } from "../auth";

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="signin">
      <div className="card">
        <div className="brand">reporunner</div>
        <h1>{title}</h1>
        {children}
      </div>
    </div>
  );
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return "The server cannot be reached; try again.";
}

function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

function useFinish() {
  const { signedIn } = useAuth();
  const navigate = useNavigate();
  return (me: Me, next = "/") => {
    signedIn(me);
    navigate(next, { replace: true });
  };
}

export function LoginPage() {
  const [params] = useSearchParams();
  const finish = useFinish();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  // after a right password: the account's second factor (a code, or a recovery code)
  const [step, setStep] = useState<"password" | "code">("password");
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState<SsoInfo | null>(null);

  useEffect(() => {
    // a server without SSO (or an older one) answers 404: the password form alone
    api.sso().then(setSso, () => setSso({ providers: [], password_signin: true }));
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError("");
    const second =
      step === "code" ? (useRecovery ? { recovery_code: code.trim() } : { totp_code: code.trim() }) : {};
    try {
      const me = await api.login(email, password, second);
      finish(me, me.must_enrol_second_factor ? "/account" : safeNext(params.get("next")));
    } catch (err) {
      if (problemCode(err) === "second_factor_required") {
        setStep("code");
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  if (step === "code") {
    return (
      <Card title="Two-factor authentication">
        <form onSubmit={submit} aria-label="Second factor">
          <label>
            {useRecovery ? "Recovery code" : "Authentication code"}
            <input autoComplete="one-time-code" required value={code} autoFocus
              inputMode={useRecovery ? "text" : "numeric"}
              pattern={useRecovery ? undefined : "[0-9]{6}"}
              onChange={(e) => setCode(e.target.value)}
              aria-label={useRecovery ? "Recovery code" : "Authentication code"} />
          </label>
          {error && <p role="alert" className="error">{error}</p>}
          <button type="submit" disabled={busy} aria-label="Verify">Verify</button>
          <button type="button" className="link"
            onClick={() => { setUseRecovery(!useRecovery); setCode(""); setError(""); }}>
            {useRecovery ? "Use the authenticator app" : "Use a recovery code"}
          </button>
        </form>
      </Card>
    );
  }

  const next = safeNext(params.get("next"));
  return (
    <Card title="Sign in">
      {sso && sso.providers.length > 0 && (
        <nav aria-label="Single sign-on" className="sso">
          {sso.providers.map((p) => (
            <a key={p.slug} className="button" href={`${p.start_url}?next=${encodeURIComponent(next)}`}>
              Sign in with {p.name}
            </a>
          ))}
        </nav>
      )}
      {sso && !sso.password_signin ? null : (
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Email
          <input type="email" autoComplete="username" required value={email}
            onChange={(e) => setEmail(e.target.value)} aria-label="Email" autoFocus />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password}
            onChange={(e) => setPassword(e.target.value)} aria-label="Password" />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" disabled={busy} aria-label="Sign in">Sign in</button>
      </form>
      )}
    </Card>
  );
}

function PasswordFields(props: {
  password: string;
  setPassword: (v: string) => void;
  confirm: string;
  setConfirm: (v: string) => void;
}) {
  return (
    <>
      <label>
        Password (at least 10 characters)
        <input type="password" autoComplete="new-password" required minLength={10}
          value={props.password} onChange={(e) => props.setPassword(e.target.value)}
          aria-label="Password" />
      </label>
      <label>
        Repeat password
        <input type="password" autoComplete="new-password" required minLength={10}
          value={props.confirm} onChange={(e) => props.setConfirm(e.target.value)}
          aria-label="Repeat password" />
      </label>
    </>
  );
}

export function SetupPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const finish = useFinish();
  const [info, setInfo] = useState<string>("");
  const [linkError, setLinkError] = useState("");
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    if (!token) {
      setLinkError("This page needs the set-up link printed by `reporunner serve`.");
      return;
    }
    api.setupInfo(token).then(
      (r) => setInfo(r.workspace?.name ?? r.workspace?.slug ?? ""),
      (err) =>
        setLinkError(
          err instanceof ApiError && err.status === 410
            ? "This set-up link has expired; restart `reporunner serve` for a new one."
            : err instanceof ApiError && err.status === 404
              ? "This set-up link is unknown or was already used; sign in instead."
              : errorText(err),
        ),
    );
  }, [token]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (password !== confirm) {
      setError("The two passwords differ.");
      return;
    }
    setError("");
    try {
      finish(await api.setup(token, email, password, name));
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <Card title="Set up the owner account">
      {linkError ? (
        <p role="alert" className="error">{linkError}</p>
      ) : (
        <form onSubmit={submit} aria-label="Set up owner">
          {info && <p>Workspace: <b>{info}</b></p>}
          <label>
            Email
            <input type="email" autoComplete="username" required value={email}
              onChange={(e) => setEmail(e.target.value)} aria-label="Email" autoFocus />
          </label>
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Name" />
          </label>
          <PasswordFields password={password} setPassword={setPassword}
            confirm={confirm} setConfirm={setConfirm} />
          {error && <p role="alert" className="error">{error}</p>}
          <button type="submit" aria-label="Create owner account">Create account</button>
        </form>
      )}
    </Card>
  );
}

export function InvitePage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const finish = useFinish();
  const [invite, setInvite] = useState<{
    email: string;
    role: string;
    ws: string;
    existing: boolean;
  } | null>(null);
  const [linkError, setLinkError] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    if (!token) {
      setLinkError("This page needs an invitation link.");
      return;
    }
    api.invitation(token).then(
      (r) =>
        setInvite({
          email: r.email,
          role: r.role,
          ws: r.workspace?.name ?? "",
          existing: r.existing_account === true,
        }),
      (err) => setLinkError(errorText(err)),
    );
  }, [token]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!invite?.existing && password !== confirm) {
      setError("The two passwords differ.");
      return;
    }
    setError("");
    try {
      finish(await api.acceptInvitation(token, password, name));
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <Card title="Accept invitation">
      {linkError && <p role="alert" className="error">{linkError}</p>}
      {invite && (
        <form onSubmit={submit} aria-label="Accept invitation">
          <p>
            <b>{invite.email}</b> joins <b>{invite.ws}</b> as <b>{invite.role}</b>.
          </p>
          {invite.existing ? (
            <label>
              Your current password (it is not changed)
              <input type="password" value={password} autoComplete="current-password" autoFocus
                onChange={(e) => setPassword(e.target.value)} aria-label="Current password" />
            </label>
          ) : (
            <>
              <label>
                Name
                <input value={name} onChange={(e) => setName(e.target.value)} aria-label="Name" autoFocus />
              </label>
              <PasswordFields password={password} setPassword={setPassword}
                confirm={confirm} setConfirm={setConfirm} />
            </>
          )}
          {error && <p role="alert" className="error">{error}</p>}
          <button type="submit" aria-label="Join workspace">Join</button>
        </form>
      )}
    </Card>
  );
}
