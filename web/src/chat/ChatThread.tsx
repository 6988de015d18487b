// /chat/:threadId: the conversation; an answer streams token by token (the API's SSE), its
// tool steps and citations appear as they come and stay after a reload (they are stored).
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { atLeast, useAuth } from "../auth";
import { chats, sendMessage, type ChatEvent, type ChatOut, type Citation, type MessageOut, type ToolStep } from "./api";
import { MessageView, type KnowledgeIds } from "./Message";
import { ChatLayout } from "./Threads";

interface Live {
  text: string;
  steps: ToolStep[];
  citations: Citation[];
  error: string;
  executionId: string | null;
}

const EMPTY: Live = { text: "", steps: [], citations: [], error: "", executionId: null };

function apply(live: Live, { event, data }: ChatEvent): Live {
  switch (event) {
    case "token":
      return { ...live, text: live.text + String(data.text ?? "") };
    case "tool_call":
      return {
        ...live,
        steps: [...live.steps, { call_id: String(data.call_id ?? ""), tool: String(data.tool ?? ""), arguments: data.arguments }],
      };
    case "tool_result":
      return {
        ...live,
        steps: live.steps.map((s) =>
          s.call_id === data.call_id
            ? {
                ...s,
                ok: Boolean(data.ok),
                output: data.output,
                error: (data.error as string | null) ?? null,
                citations: (data.citations as Citation[]) ?? [],
                duration_ms: data.duration_ms as number | undefined,
              }
            : s,
        ),
      };
    case "citations":
      return { ...live, citations: (data.citations as Citation[]) ?? [] };
    case "execution":
      return { ...live, executionId: String(data.execution_id ?? "") || null };
    case "error":
      return { ...live, error: `${String(data.detail ?? "the answer failed")}${data.code ? ` (${String(data.code)})` : ""}` };
    default:
      return live;
  }
}

export function ChatThreadPage() {
  const { threadId = "" } = useParams();
  const { me } = useAuth();
  const canSend = atLeast(me, "editor");
  const [chat, setChat] = useState<ChatOut | null>(null);
  const [messages, setMessages] = useState<MessageOut[]>([]);
  const [live, setLive] = useState<Live | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [bases, setBases] = useState<KnowledgeIds>({});
  const [refresh, setRefresh] = useState(0);
  const [streamed, setStreamed] = useState(0);
  const [failed, setFailed] = useState<Live | null>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    setError("");
    setLive(null);
    setChat(null);
    setMessages([]);
    Promise.all([chats.get(threadId), chats.messages(threadId)]).then(
      ([c, m]) => {
        setChat(c);
        // a message sent before the thread loaded is not in the loaded list: keep it
        setMessages((ms) => {
          const loaded = new Set(m.items.map((x) => x.id));
          return [...m.items, ...ms.filter((x) => !loaded.has(x.id))];
        });
      },
      (e) => setError(String(e instanceof Error ? e.message : e)),
    );
    chats.bases().then(
      (bs) => setBases(Object.fromEntries(bs.flatMap((b) => [[b.name, b.id], [b.id, b.id]]))),
      () => undefined,
    );
    return () => abort.current?.abort();
  }, [threadId]);

  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: "end" });
  }, [messages, live]);

  const send = useCallback(async () => {
    const content = text.trim();
    if (!content) return;
    setError("");
    setText("");
    let current: Live = { ...EMPTY };
    let tokens = 0;
    let finished = false;
    setFailed(null);
    setLive(current);
    const controller = new AbortController();
    abort.current = controller;
    try {
      await sendMessage(threadId, content, me?.csrf_token ?? null, (e) => {
        if (e.event === "message") {
          setMessages((ms) => [...ms, e.data.message as MessageOut]);
          return;
        }
        if (e.event === "token") tokens += 1;
        if (e.event === "final") {
          setMessages((ms) => [...ms, e.data.message as MessageOut]);
          setStreamed(tokens);
          finished = true;
          current = { ...EMPTY };
          setLive(null);
          setRefresh((r) => r + 1);
          return;
        }
        current = apply(current, e);
        setLive(current);
      }, controller.signal);
      if (!finished) {
        // the turn failed after streaming began (an "error" event) or the stream was cut
        setFailed({ ...current, error: current.error || "the answer ended before it was complete" });
        setLive(null);
      }
    } catch (err) {
      if (!controller.signal.aborted) setError(err instanceof Error ? err.message : String(err));
      setLive(null);
      setText(content);
    }
  }, [text, threadId, me]);

  return (
    <ChatLayout refreshKey={refresh}>
      <div className="chat-head">
        <h1>{chat?.title || "Chat"}</h1>
        {chat && (
          <span className="muted small" data-testid="chat-target">
            {chat.workflow_id ? (
              <>workflow <Link to={`/editor/${chat.workflow_id}`}>{chat.workflow_id.slice(0, 8)}</Link></>
            ) : (
              <>agent <b>{chat.agent_id}</b>{chat.agent?.model ? ` · ${String(chat.agent.model)}` : ""}</>
            )}
          </span>
        )}
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <ol className="messages" aria-label="Messages" data-streamed-tokens={streamed}>
        {messages.map((m) => (
          <MessageView key={m.id} role={m.role} content={m.content} steps={m.tool_calls}
            citations={m.citations} bases={bases} />
        ))}
        {live && (
          <MessageView role="assistant" content={live.text} steps={live.steps} citations={live.citations}
            bases={bases} live error={live.error} />
        )}
        {failed && (
          <MessageView role="assistant" content={failed.text} steps={failed.steps} citations={failed.citations}
            bases={bases} error={failed.error} />
        )}
        {live?.executionId && (
          <li className="muted small">
            Running as execution <Link to={`/runs/${live.executionId}`}>{live.executionId.slice(0, 8)}</Link>
          </li>
        )}
      </ol>
      <div ref={bottom} />
      <div className="composer">
        <textarea aria-label="Message" rows={2} value={text} disabled={!canSend || chat === null || live !== null}
          placeholder={canSend ? "Ask something… (Enter sends, Shift+Enter for a new line)" : "Your role cannot send messages"}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              if (chat !== null) void send();
            }
          }} />
        <button type="button" className="primary" disabled={!canSend || chat === null || live !== null || !text.trim()}
          onClick={() => void send()}>
          Send
        </button>
      </div>
    </ChatLayout>
  );
}
