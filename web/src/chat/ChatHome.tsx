// /chat: start a chat with an agent configuration or a published chat-triggered workflow.
import { useEffect, useState } from "react";
import { useNavigate } from "react-router-dom";
import { ApiError, api, type WorkflowOut } from "../api";
import { atLeast, useAuth } from "../auth";
import { chats, type ChatOut, type KnowledgeBase } from "./api";
import { ChatLayout } from "./Threads";

function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const problems = err.problems.slice(0, 5).map((p) => `${p.pointer || "/"}: ${p.message}`);
    return [err.message, ...problems].join("\n");
  }
  return String(err);
}

/** Published workflows whose published version starts with a Chat trigger. */
async function chatWorkflows(): Promise<WorkflowOut[]> {
  const all = await chats.workflows();
  const published = all.filter((w) => w.published_version != null);
  const checked = await Promise.all(
    published.map(async (w) => {
      const v = await api.version(w.id, w.published_version!);
      return v.definition.nodes.some((n) => n.type === "trigger.chat") ? w : null;
    }),
  );
  return checked.filter((w): w is WorkflowOut => w !== null);
}

export function ChatHome() {
  const { me } = useAuth();
  const canChat = atLeast(me, "editor");
  const navigate = useNavigate();
  const [kind, setKind] = useState<"agent" | "workflow">("agent");
  const [title, setTitle] = useState("");
  const [agentId, setAgentId] = useState("assistant");
  const [model, setModel] = useState("");
  const [prompt, setPrompt] = useState("");
  const [bases, setBases] = useState<KnowledgeBase[]>([]);
  const [picked, setPicked] = useState<string[]>([]);
  const [memory, setMemory] = useState(true);
  const [advanced, setAdvanced] = useState("");
  const [workflows, setWorkflows] = useState<WorkflowOut[] | null>(null);
  const [workflowId, setWorkflowId] = useState("");
  const [previous, setPrevious] = useState<ChatOut[]>([]);
  const [error, setError] = useState("");

  useEffect(() => {
    chats.bases().then(setBases, () => setBases([]));
    chats.list().then((p) => setPrevious(p.items.filter((c) => c.agent)), () => undefined);
    chatWorkflows().then(
      (ws) => {
        setWorkflows(ws);
        if (ws[0]) setWorkflowId(ws[0].id);
      },
      () => setWorkflows([]),
    );
  }, []);

  function agentConfig(): Record<string, unknown> {
    if (advanced.trim()) {
      const parsed: unknown = JSON.parse(advanced);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error("the configuration JSON must be an object");
      }
      return parsed as Record<string, unknown>;
    }
    const config: Record<string, unknown> = { stream: true, memory: { enabled: memory } };
    if (model.trim()) config.model = model.trim();
    if (prompt.trim()) config.system_prompt = prompt;
    if (picked.length) config.tools = [{ kind: "knowledge", knowledge_bases: picked }];
    return config;
  }

  async function start() {
    setError("");
    try {
      const chat =
        kind === "agent"
          ? await chats.create({ title, agent_id: agentId.trim() || "assistant", agent: agentConfig() })
          : await chats.create({ title, workflow_id: workflowId });
      navigate(`/chat/${chat.id}`);
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <ChatLayout>
      <h1>New chat</h1>
      <div className="chat-form" role="form" aria-label="New chat">
        <div role="radiogroup" aria-label="Chat with">
          <label className="inline">
            <input type="radio" name="kind" checked={kind === "agent"} onChange={() => setKind("agent")} />
            an agent configuration
          </label>
          <label className="inline">
            <input type="radio" name="kind" checked={kind === "workflow"} onChange={() => setKind("workflow")} />
            a published chat workflow
          </label>
        </div>
        <label>
          Title
          <input value={title} maxLength={300} onChange={(e) => setTitle(e.target.value)} />
        </label>
        {kind === "agent" ? (
          <fieldset>
            <legend>Agent</legend>
            <label>
              Agent name (its memories are kept under it)
              <input value={agentId} onChange={(e) => setAgentId(e.target.value)} />
            </label>
            <label>
              Model
              <input value={model} placeholder="server default (REPORUNNER_LLM_MODEL)"
                onChange={(e) => setModel(e.target.value)} />
            </label>
            <label>
              Instructions
              <textarea rows={3} value={prompt} placeholder="You are a helpful assistant…"
                onChange={(e) => setPrompt(e.target.value)} />
            </label>
            <div role="group" aria-label="Knowledge bases">
              <span className="small">Knowledge bases it may search:</span>
              {bases.map((b) => (
                <label key={b.id} className="inline">
                  <input type="checkbox" checked={picked.includes(b.id)}
                    onChange={(e) => setPicked((p) => (e.target.checked ? [...p, b.id] : p.filter((x) => x !== b.id)))} />
                  {b.name} <span className="muted small">({b.embedding_model})</span>
                </label>
              ))}
              {!bases.length && <span className="muted small"> none yet</span>}
            </div>
            <label className="inline">
              <input type="checkbox" checked={memory} onChange={(e) => setMemory(e.target.checked)} />
              long-term memory
            </label>
            {previous.length > 0 && (
              <label>
                Reuse the configuration of a previous chat
                <select aria-label="Previous configuration" value=""
                  onChange={(e) => {
                    const c = previous.find((p) => p.id === e.target.value);
                    if (c?.agent) {
                      setAdvanced(JSON.stringify(c.agent, null, 2));
                      if (c.agent_id) setAgentId(c.agent_id);
                    }
                  }}>
                  <option value="">—</option>
                  {previous.map((c) => (
                    <option key={c.id} value={c.id}>{c.title || c.agent_id || c.id.slice(0, 8)}</option>
                  ))}
                </select>
              </label>
            )}
            <label>
              Configuration JSON (optional; replaces the fields above)
              <textarea rows={4} value={advanced} aria-label="Configuration JSON"
                placeholder='{"model": "openai/gpt-4o-mini", "tools": [...]}'
                onChange={(e) => setAdvanced(e.target.value)} />
            </label>
          </fieldset>
        ) : (
          <label>
            Workflow
            <select aria-label="Workflow" value={workflowId} onChange={(e) => setWorkflowId(e.target.value)}>
              {(workflows ?? []).map((w) => (
                <option key={w.id} value={w.id}>{w.name} (v{w.published_version})</option>
              ))}
            </select>
            {workflows && !workflows.length && (
              <span className="muted small">No published workflow starts with a Chat trigger.</span>
            )}
          </label>
        )}
        {error && <pre role="alert" className="error">{error}</pre>}
        <div>
          <button type="button" className="primary" disabled={!canChat || (kind === "workflow" && !workflowId)}
            onClick={() => void start()}>
            Start chat
          </button>
          {!canChat && <span className="muted small"> Your role can read chats but not start them.</span>}
        </div>
      </div>
    </ChatLayout>
  );
}
