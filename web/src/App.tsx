import type { ReactNode } from "react";
import { Link, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { AuthProvider, useAuth } from "./auth";
import { ChatHome } from "./chat/ChatHome";
import { ChatThreadPage } from "./chat/ChatThread";
import { MemoriesPage } from "./chat/Memories";
import { EditorPage } from "./pages/EditorPage";
import { ExecutionPage } from "./pages/ExecutionPage";
import { ExecutionsPage } from "./pages/ExecutionsPage";
import { InvitePage, LoginPage, SetupPage } from "./pages/SignIn";
import { WorkflowsPage } from "./pages/WorkflowsPage";

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
        </nav>
        <div className="spacer" />
        {me && (
          <span className="who" aria-label="Signed in as">
            {me.user.email || "API key"} · {me.workspace.name} · <b>{me.role}</b>
          </span>
        )}
        <button
          type="button"
          aria-label="Sign out"
          onClick={() => void signOut().finally(() => navigate("/login"))}
        >
          Sign out
        </button>
      </header>
      <main className="content">{children}</main>
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
  return <Shell>{children}</Shell>;
}

export function App() {
  return (
    <AuthProvider>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/setup" element={<SetupPage />} />
        <Route path="/invite" element={<InvitePage />} />
        <Route path="/" element={<Private><WorkflowsPage /></Private>} />
        <Route path="/editor/:workflowId" element={<Private><EditorPage /></Private>} />
        <Route path="/runs" element={<Private><ExecutionsPage /></Private>} />
        <Route path="/runs/:executionId" element={<Private><ExecutionPage /></Private>} />
        <Route path="/chat" element={<Private><ChatHome /></Private>} />
        <Route path="/chat/memories" element={<Private><MemoriesPage /></Private>} />
        <Route path="/chat/:threadId" element={<Private><ChatThreadPage /></Private>} />
        <Route path="*" element={<p role="alert">Page not found. <Link to="/">Workflows</Link></p>} />
      </Routes>
    </AuthProvider>
  );
}
