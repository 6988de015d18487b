import { Suspense, type ReactNode } from "react";
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { AuthProvider, useAuth } from "./auth";
import { ErrorBoundary } from "./shell/ErrorBoundary";
import { WorkspaceSwitcher } from "./shell/WorkspaceSwitcher";
import {
  AccountPage,
  BasePage,
  DocumentView,
  ChatHome,
  ChatThreadPage,
  EditorPage,
  ExecutionPage,
  ExecutionsPage,
  InvitePage,
  KnowledgePage,
  LoginPage,
  MemoriesPage,
  SettingsPage,
  SetupPage,
  WorkflowsPage,
} from "./shell/lazyPages";

/** A page's chunk loading, or a page that crashed: never a blank screen. */
function Page({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return (
    <ErrorBoundary key={pathname}>
      <Suspense fallback={<p className="loading" role="status">Loading…</p>}>{children}</Suspense>
    </ErrorBoundary>
  );
}

function Shell({ children }: { children: ReactNode }) {
  const { me, signOut } = useAuth();
  const navigate = useNavigate();
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/" className="brand" aria-label="reporunner home">
          reporunner
        </Link>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Workflows
          </NavLink>
          <NavLink to="/runs">Executions</NavLink>
          <NavLink to="/chat">Chat</NavLink>
          <NavLink to="/knowledge">Knowledge</NavLink>
          <NavLink to="/settings">Settings</NavLink>
        </nav>
        <div className="spacer" />
        {me && (
          <span className="who" aria-label="Signed in as">
            {me.user.email || "API key"} · {me.workspace.name} · <b>{me.role}</b>
          </span>
        )}
        {me && <WorkspaceSwitcher me={me} />}
        <NavLink to="/account" aria-label="Account">
          Account
        </NavLink>
        <button
          type="button"
          aria-label="Sign out"
          onClick={() => void signOut().finally(() => navigate("/login"))}
        >
          Sign out
        </button>
      </header>
      <main className="content">
        <Page>{children}</Page>
      </main>
    </div>
  );
}

function Private({ children }: { children: ReactNode }) {
  const { me, loading } = useAuth();
  const location = useLocation();
  if (loading) return <p className="loading">Loading…</p>;
  if (!me) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  if (me.must_enrol_second_factor && location.pathname !== "/account") {
    return <Navigate to="/account" replace />;
  }
  return <Shell>{children}</Shell>;
}

export function App() {
  return (
    <AuthProvider>
      <Routes>
        <Route path="/login" element={<Page><LoginPage /></Page>} />
        <Route path="/setup" element={<Page><SetupPage /></Page>} />
        <Route path="/invite" element={<Page><InvitePage /></Page>} />
        <Route path="/" element={<Private><WorkflowsPage /></Private>} />
        <Route path="/editor/:workflowId" element={<Private><EditorPage /></Private>} />
        <Route path="/runs" element={<Private><ExecutionsPage /></Private>} />
        <Route path="/runs/:executionId" element={<Private><ExecutionPage /></Private>} />
        <Route path="/knowledge" element={<Private><KnowledgePage /></Private>} />
        <Route path="/knowledge/:baseId" element={<Private><BasePage /></Private>} />
        <Route path="/knowledge/:baseId/documents/:documentId" element={<Private><DocumentView /></Private>} />
        <Route path="/settings/*" element={<Private><SettingsPage /></Private>} />
        <Route path="/account" element={<Private><AccountPage /></Private>} />
        <Route path="/chat" element={<Private><ChatHome /></Private>} />
        <Route path="/chat/memories" element={<Private><MemoriesPage /></Private>} />
        <Route path="/chat/:threadId" element={<Private><ChatThreadPage /></Private>} />
        <Route path="*" element={<p role="alert">Page not found. <Link to="/">Workflows</Link></p>} />
      </Routes>
    </AuthProvider>
  );
}
