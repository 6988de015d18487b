// /widget.js: `<script src="https://HOST/widget.js" data-chat="PUBLIC_ID" defer></script>`
// draws a chat bubble in a shadow root and chats with the widget's workflow. A page whose
// origin the widget does not allow gets no bubble (its config request is refused).

import { type Message, WidgetClient, type WidgetConfig, WidgetError } from "./client";
import { STYLES } from "./styles";

const ICON =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16v12H7l-3 3z"/></svg>';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text = "",
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

class ChatWidget {
  private token: string | null;
  private readonly log: HTMLDivElement;
  private readonly input: HTMLTextAreaElement;
  private readonly send: HTMLButtonElement;
  private readonly panel: HTMLDivElement;
  private loaded = false;

  constructor(
    private readonly client: WidgetClient,
    private readonly config: WidgetConfig,
    private readonly storageKey: string,
    framed: boolean,
  ) {
    this.token = this.stored();
    // its own tag, placed by an inline style: the page's selectors (div, *...) and their
    // specificity do not reach it, and nothing inside inherits the page's fonts or colours
    const host = document.createElement("reporunner-chat");
    host.setAttribute("data-reporunner-chat", config.public_id);
    host.setAttribute(
      "style",
      framed
        ? "all:initial;position:fixed;inset:0;display:block"
        : "all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;display:block",
    );
    const root = host.attachShadow({ mode: "open" });
    const colors = config.colors;
    host.style.setProperty("--rr-accent", colors.accent ?? "#2563eb");
    host.style.setProperty("--rr-bg", colors.background ?? "#ffffff");
    host.style.setProperty("--rr-text", colors.text ?? "#111827");
    const style = el("style");
    style.textContent = STYLES;
    this.panel = el("div", { class: "panel", role: "dialog", "aria-label": config.name });
    this.panel.hidden = true;
    const header = el("header");
    const close = el("button", { type: "button", "aria-label": "Close chat" }, "×");
    header.append(el("span", {}, config.name), close);
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite" });
    const form = el("form");
    this.input = el("textarea", { "aria-label": "Message", placeholder: "Type a message…" });
    this.send = el("button", { type: "submit" }, "Send");
    form.append(this.input, this.send);
    this.panel.append(header, this.log, form);
    const bubble = el("button", { class: "bubble", type: "button", "aria-label": "Open chat" });
    bubble.innerHTML = ICON;
    root.append(style, this.panel);
    if (framed) {
      // the frame page (/public/widgets/{id}/frame): the panel fills the frame, always open
      this.panel.classList.add("framed");
      close.hidden = true;
    } else {
      root.append(bubble);
    }
    bubble.addEventListener("click", () => void this.toggle());
    close.addEventListener("click", () => void this.toggle());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        void this.submit();
      }
    });
    document.body.append(host);
    if (framed) void this.toggle();
  }

  private stored(): string | null {
    try {
      return localStorage.getItem(this.storageKey);
    } catch {
      return null; // storage blocked: the visitor lasts as long as the page
    }
  }

  private remember(token: string | null): void {
    this.token = token;
    try {
      if (token) localStorage.setItem(this.storageKey, token);
      else localStorage.removeItem(this.storageKey);
    } catch {
      // storage blocked
    }
  }

  private add(kind: "user" | "assistant" | "note", text: string): HTMLDivElement {
    const node = el("div", { class: `msg ${kind}` }, text);
    this.log.append(node);
    this.log.scrollTop = this.log.scrollHeight;
    return node;
  }

  private async toggle(): Promise<void> {
    this.panel.hidden = !this.panel.hidden;
    if (this.panel.hidden) return;
    this.input.focus();
    if (this.loaded) return;
    this.loaded = true;
    if (this.config.greeting) this.add("assistant", this.config.greeting);
    if (!this.token) return;
    try {
      const history: Message[] = await this.client.history(this.token);
      for (const message of history) this.add(message.role, message.content);
    } catch (err) {
      if (err instanceof WidgetError && err.status === 401) this.remember(null);
    }
  }

  private async visitor(): Promise<string> {
    if (this.token) return this.token;
    const token = await this.client.visitor();
    this.remember(token);
    return token;
  }

  private async submit(): Promise<void> {
    const content = this.input.value.trim();
    if (!content || this.send.disabled) return;
    this.input.value = "";
    this.send.disabled = true;
    this.add("user", content);
    const answer = this.add("assistant", "…");
    try {
      const stream = (token: string) =>
        this.client.send(token, content, (text) => {
          answer.textContent = text;
          this.log.scrollTop = this.log.scrollHeight;
        });
      let text: string;
      try {
        text = await stream(await this.visitor());
      } catch (err) {
        if (!(err instanceof WidgetError) || err.status !== 401) throw err;
        this.remember(null); // expired: start again as a new visitor
        text = await stream(await this.visitor());
      }
      answer.textContent = text;
    } catch (err) {
      answer.remove();
      const slow = err instanceof WidgetError && err.status === 429;
      this.add("note", slow ? "Too many messages; wait a minute." : "Could not answer; try again.");
    } finally {
      this.send.disabled = false;
    }
  }
}

async function start(script: HTMLScriptElement): Promise<void> {
  const publicId = script.dataset.chat;
  if (!publicId) return;
  const base = new URL(script.src, document.baseURI).origin;
  const client = new WidgetClient(base, publicId);
  const config = await client.config();
  if (!config) return;
  const framed = script.dataset.frame === "open";
  new ChatWidget(client, config, `reporunner-chat:${base}:${publicId}`, framed);
}

const current = document.currentScript;
const scripts =
  current instanceof HTMLScriptElement && current.dataset.chat
    ? [current]
    : Array.from(document.querySelectorAll<HTMLScriptElement>("script[data-chat]"));
for (const script of scripts) void start(script);
