// One message of a chat: the text (always plain text, never HTML), its tool steps as
// collapsible blocks with arguments and results, and its citations opening the cited place.
import { Link } from "react-router-dom";
import { kbApi } from "../knowledge/api";
import type { Citation, ToolStep } from "./api";

export type KnowledgeIds = Record<string, string>;

function pretty(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where a citation opens: a PDF's original in the browser's viewer at the cited page (the
 * server serves only a real PDF inline), any other document in the app's document view with
 * the cited chunk highlighted (its text as text: an HTML original never renders). */
export function citationTarget(c: Citation, bases: KnowledgeIds): { href: string; pdf: boolean } | null {
  const kb = UUID.test(c.knowledge_base) ? c.knowledge_base : bases[c.knowledge_base];
  if (!kb || !UUID.test(c.document_id)) return null;
  if (c.page != null && /\.pdf$/i.test(c.document_name)) {
    return { href: kbApi.pdfUrl(kb, c.document_id, c.page), pdf: true };
  }
  const chunk = UUID.test(c.chunk_id) ? c.chunk_id : null;
  return { href: kbApi.viewPath(kb, c.document_id, chunk), pdf: false };
}

export function Citations({ items, bases }: { items: Citation[]; bases: KnowledgeIds }) {
  if (!items.length) return null;
  return (
    <ol className="citations" aria-label="Sources">
      {items.map((c, i) => {
        const target = citationTarget(c, bases);
        const where = [
          c.page != null ? `page ${c.page}` : "",
          c.heading_path?.length ? c.heading_path.join(" › ") : "",
        ]
          .filter(Boolean)
          .join(", ");
        const title = `Open ${c.document_name}${where ? ` at ${where}` : ""}`;
        return (
          <li key={`${c.chunk_id}:${i}`} data-testid="citation">
            {target?.pdf ? (
              <a href={target.href} title={title} target="_blank" rel="noopener noreferrer">
                {c.document_name}
              </a>
            ) : target ? (
              <Link to={target.href} title={title}>{c.document_name}</Link>
            ) : (
              <span>{c.document_name}</span>
            )}
            {where && <span className="muted small"> — {where}</span>}
          </li>
        );
      })}
    </ol>
  );
}

export function Steps({ steps }: { steps: ToolStep[] }) {
  if (!steps.length) return null;
  return (
    <div className="steps" aria-label="Tool steps">
      {steps.map((s, i) => (
        <details key={`${s.call_id}:${i}`} className={`step ${s.ok === false ? "failed" : ""}`}
          data-testid="tool-step">
          <summary>
            Tool <code>{s.tool}</code>{" "}
            {s.ok === undefined ? "running…" : s.ok ? "✓" : "✗ failed"}
            {s.duration_ms != null && <span className="muted small"> {Math.round(s.duration_ms)} ms</span>}
          </summary>
          <div className="step-body">
            <h5>Arguments</h5>
            <pre aria-label="Arguments">{pretty(s.arguments)}</pre>
            {s.ok !== undefined && (
              <>
                <h5>{s.ok ? "Result" : "Error"}</h5>
                <pre aria-label="Result">{s.ok ? pretty(s.output ?? null) : (s.error ?? "")}</pre>
              </>
            )}
          </div>
        </details>
      ))}
    </div>
  );
}

export function MessageView(props: {
  role: string;
  content: string;
  steps?: ToolStep[] | null;
  citations?: Citation[] | null;
  bases: KnowledgeIds;
  live?: boolean;
  error?: string;
}) {
  return (
    <li className={`msg from-${props.role}`} data-testid={props.live ? "answer-live" : `message-${props.role}`}>
      <div className="msg-who">{props.role === "user" ? "You" : "Assistant"}</div>
      {props.steps && <Steps steps={props.steps} />}
      <div className="msg-text">{props.content}</div>
      {props.error && <p role="alert" className="error">{props.error}</p>}
      {props.citations && <Citations items={props.citations} bases={props.bases} />}
    </li>
  );
}
