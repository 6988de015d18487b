// The public widget API as the embedded script calls it. Every request is a CORS "simple
// request" (GET, or POST with a text/plain JSON body), so browsers send no preflight.

import { SseParser } from "./sse";

export type Colors = { accent?: string | null; background?: string | null; text?: string | null };
export type WidgetConfig = { public_id: string; name: string; greeting: string; colors: Colors };
export type Message = { role: "user" | "assistant"; content: string };

export class WidgetError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class WidgetClient {
  private readonly root: string;

  constructor(base: string, publicId: string) {
    this.root = `${base}/public/widgets/${encodeURIComponent(publicId)}`;
  }

  private async post(path: string, body: unknown): Promise<Response> {
    const response = await fetch(`${this.root}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
      body: JSON.stringify(body),
      credentials: "omit",
    });
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try {
        detail = ((await response.json()) as { detail?: string }).detail ?? detail;
      } catch {
        // not JSON: keep the status
      }
      throw new WidgetError(response.status, detail);
    }
    return response;
  }

  async config(): Promise<WidgetConfig | null> {
    try {
      const response = await fetch(`${this.root}/config`, { credentials: "omit" });
      return response.ok ? ((await response.json()) as WidgetConfig) : null;
    } catch {
      return null; // an origin not allowed: the browser hides the answer; show nothing
    }
  }

  async visitor(): Promise<string> {
    const response = await this.post("visitors", {});
    return ((await response.json()) as { token: string }).token;
  }

  async history(token: string): Promise<Message[]> {
    const response = await this.post("history", { token });
    return ((await response.json()) as { items: Message[] }).items;
  }

  /** Send a message; `onToken` gets the answer as it streams; resolves to the stored answer. */
  async send(token: string, content: string, onToken: (text: string) => void): Promise<string> {
    const response = await this.post("messages", { token, content });
    const reader = response.body?.getReader();
    if (!reader) throw new WidgetError(0, "the answer did not stream");
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let answer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const { event, data } of parser.push(decoder.decode(value, { stream: true }))) {
        const parsed = JSON.parse(data) as {
          text?: string;
          detail?: string;
          message?: { content?: string };
        };
        if (event === "token" && parsed.text) {
          answer += parsed.text;
          onToken(answer);
        } else if (event === "final") {
          answer = parsed.message?.content ?? answer;
        } else if (event === "error") {
          throw new WidgetError(500, parsed.detail ?? "the assistant could not answer");
        }
      }
    }
    return answer;
  }
}
