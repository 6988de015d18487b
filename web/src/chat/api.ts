// The chat API (platform/reporunner/platform/chats/schemas.py): threads, messages, the streamed
// turn (Server-Sent Events over a POST), memories; and the knowledge bases an agent may search.
import { request, type WorkflowOut } from "../api";

export interface Citation {
  knowledge_base: string;
  document_id: string;
  document_name: string;
  page: number | null;
  heading_path: string[];
  chunk_id: string;
  score?: number | null;
}

/** A tool step of an answer: the stored record, or built from the streamed events. */
export interface ToolStep {
  call_id: string;
  tool: string;
  arguments: unknown;
  ok?: boolean;
  output?: unknown;
  error?: string | null;
  citations?: Citation[];
  duration_ms?: number;
}

export interface ChatOut {
  id: string;
  title: string;
  agent_id: string | null;
  agent: Record<string, unknown> | null;
  workflow_id: string | null;
  end_user_id: string;
  created_at: string;
  updated_at: string;
}

export interface MessageOut {
  id: string;
  role: "user" | "assistant" | "tool" | "system";
  content: string;
  tool_calls: ToolStep[] | null;
  citations: Citation[] | null;
  execution_id: string | null;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  created_at: string;
}

export interface MemoryOut {
  id: string;
  agent_id: string;
  end_user_id: string;
  text: string;
  created_at: string | null;
}

export interface KnowledgeBase {
  id: string;
  name: string;
  description: string;
  embedding_model: string;
}

export interface ChatCreate {
  title: string;
  agent_id?: string;
  agent?: Record<string, unknown>;
  workflow_id?: string;
}

export const chats = {
  list: () => request<{ items: ChatOut[] }>("/chats", { query: { limit: 100 } }),
  create: (body: ChatCreate) => request<ChatOut>("/chats", { method: "POST", json: body }),
  get: (id: string) => request<ChatOut>(`/chats/${id}`),
  messages: (id: string) => request<{ items: MessageOut[] }>(`/chats/${id}/messages`),
  memories: () => request<{ items: MemoryOut[] }>("/memories", { query: { limit: 500 } }),
  forget: (id: string) => request<void>(`/memories/${id}`, { method: "DELETE" }),
  bases: () => request<KnowledgeBase[]>("/knowledge-bases"),
  workflows: () => request<WorkflowOut[]>("/workflows"),
};

export type ChatEvent = { event: string; data: Record<string, unknown> };

type TurnProgress = { turnId: string; lastId: string; ended: boolean };

/** Hand each Server-Sent Event of ``body`` to ``onEvent``, noting the turn id, the last event
 * id and whether the turn ended (``final``/``error``) in ``progress``. */
async function readEvents(
  body: NonNullable<Response["body"]>,
  onEvent: (e: ChatEvent) => void,
  progress: TurnProgress,
): Promise<void> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let cut: number;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message";
      let id = "";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("id:")) id = line.slice(3).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (!data.length) continue;
      if (id) progress.lastId = id;
      if (event === "final" || event === "error") progress.ended = true;
      try {
        const parsed = JSON.parse(data.join("\n")) as Record<string, unknown>;
        if (event === "message" && typeof parsed.turn_id === "string") progress.turnId = parsed.turn_id;
        onEvent({ event, data: parsed });
      } catch {
        onEvent({ event: "error", data: { detail: "the server sent an unreadable event" } });
      }
    }
  }
}

const RECONNECTS = 5;

/** Send a message and call ``onEvent`` for each Server-Sent Event of the answer, in order.
 * A refusal before the stream starts (404, 409, 503...) rejects with the problem's detail.
 * The answer is written on a worker: when the connection drops before the turn ends (the API
 * process restarted, the network blinked), it follows the rest of the turn again with
 * ``Last-Event-ID`` (a few tries), so no event is shown twice or lost. */
export async function sendMessage(
  chatId: string,
  content: string,
  csrfToken: string | null,
  onEvent: (e: ChatEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "text/event-stream",
  };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const res = await fetch(`/chats/${chatId}/messages`, {
    method: "POST",
    headers,
    body: JSON.stringify({ content }),
    credentials: "same-origin",
    signal,
  });
  if (!res.ok || !res.body) {
    let detail = `request failed (${res.status})`;
    try {
      const body = (await res.json()) as { detail?: string };
      if (body.detail) detail = body.detail;
    } catch {
      /* not JSON */
    }
    throw new Error(detail);
  }
  const progress: TurnProgress = { turnId: "", lastId: "", ended: false };
  try {
    await readEvents(res.body, onEvent, progress);
  } catch (err) {
    if (signal?.aborted || !progress.turnId) throw err;
  }
  for (let attempt = 1; !progress.ended && progress.turnId && attempt <= RECONNECTS; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    if (signal?.aborted) return;
    const again: Record<string, string> = { Accept: "text/event-stream" };
    if (progress.lastId) again["Last-Event-ID"] = progress.lastId;
    try {
      const more = await fetch(`/chats/${chatId}/turns/${progress.turnId}/events`, {
        headers: again,
        credentials: "same-origin",
        signal,
      });
      if (more.ok && more.body) await readEvents(more.body, onEvent, progress);
    } catch (err) {
      if (signal?.aborted) throw err;
    }
  }
  if (!progress.ended && progress.turnId && !signal?.aborted) {
    onEvent({
      event: "error",
      data: { detail: "lost the connection to the server; reload the chat to see the answer" },
    });
  }
}
