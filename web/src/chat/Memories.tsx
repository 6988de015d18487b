// /chat/memories: what agents remember about the people they chat with; forget one.
import { useCallback, useEffect, useMemo, useState } from "react";
import { atLeast, useAuth } from "../auth";
import { chats, type MemoryOut } from "./api";
import { ChatLayout } from "./Threads";

export function MemoriesPage() {
  const { me } = useAuth();
  const canForget = atLeast(me, "editor");
  const [items, setItems] = useState<MemoryOut[]>([]);
  const [agent, setAgent] = useState("");
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");

  const load = useCallback(() => {
    chats.memories().then(
      (page) => setItems(page.items),
      (e) => setError(String(e instanceof Error ? e.message : e)),
    );
  }, []);
  useEffect(load, [load]);

  const shown = useMemo(
    () => items.filter((m) => !agent || m.agent_id.toLowerCase().includes(agent.toLowerCase())),
    [items, agent],
  );

  async function forget(m: MemoryOut) {
    setError("");
    try {
      await chats.forget(m.id);
      setItems((ms) => ms.filter((x) => x.id !== m.id));
      setStatus(`Forgot: ${m.text.slice(0, 60)}`);
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    }
  }

  return (
    <ChatLayout>
      <h1>Memories</h1>
      <p className="muted small">Long-term memories agents keep about the people they chat with.</p>
      <input type="search" aria-label="Filter by agent" placeholder="Filter by agent" value={agent}
        onChange={(e) => setAgent(e.target.value)} />
      {status && <p role="status">{status}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      <table className="memories" aria-label="Memories">
        <thead>
          <tr><th>Agent</th><th>About</th><th>Memory</th><th>Stored</th><th><span className="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {shown.map((m) => (
            <tr key={m.id}>
              <td>{m.agent_id}</td>
              <td>{m.end_user_id}</td>
              <td className="msg-text">{m.text}</td>
              <td>{m.created_at ? new Date(m.created_at).toLocaleString() : ""}</td>
              <td>
                {canForget && (
                  <button type="button" aria-label={`Forget ${m.text.slice(0, 40)}`} onClick={() => void forget(m)}>
                    Forget
                  </button>
                )}
              </td>
            </tr>
          ))}
          {!shown.length && (
            <tr><td colSpan={5} className="muted">No memories.</td></tr>
          )}
        </tbody>
      </table>
    </ChatLayout>
  );
}
