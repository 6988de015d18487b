// The chat threads list beside every chat page (most recently active first).
import { useEffect, useState, type ReactNode } from "react";
import { Link, NavLink } from "react-router-dom";
import { chats, type ChatOut } from "./api";
import "./chat.css";

export function ChatLayout({ children, refreshKey = 0 }: { children: ReactNode; refreshKey?: number }) {
  const [threads, setThreads] = useState<ChatOut[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    chats.list().then(
      (page) => setThreads(page.items),
      (e) => setError(String(e)),
    );
  }, [refreshKey]);
  return (
    <div className="chat-layout">
      <nav className="chat-threads" aria-label="Chat threads">
        <Link to="/chat" className="new-chat">+ New chat</Link>
        <Link to="/chat/memories">Memories</Link>
        {error && <p role="alert" className="error">{error}</p>}
        <ul>
          {threads.map((t) => (
            <li key={t.id}>
              <NavLink to={`/chat/${t.id}`}>{t.title || (t.workflow_id ? "Workflow chat" : t.agent_id) || t.id.slice(0, 8)}</NavLink>
              <div className="muted small">
                {t.workflow_id ? "workflow" : `agent ${t.agent_id ?? ""}`} · {new Date(t.updated_at).toLocaleString()}
              </div>
            </li>
          ))}
          {!threads.length && !error && <li className="muted small">No chats yet.</li>}
        </ul>
      </nav>
      <section className="chat-main">{children}</section>
    </div>
  );
}
