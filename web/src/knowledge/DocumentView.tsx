// A knowledge document's extracted text, chunk by chunk in reading order, opened at the chunk a
// citation points at (?chunk=<id>: scrolled into view and highlighted). The text is rendered as
// text, never as HTML, whatever the original was; a PDF also links to its original in the
// browser's own viewer at the page.
import { useEffect, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { ApiError } from "../api";
import { kbApi, type DocChunk, type KbDocument } from "./api";
import "./knowledge.css";

const MAX_PAGES = 20; // 20 x 500 chunks: past that the view says the rest is not shown

export function DocumentView() {
  const { baseId = "", documentId = "" } = useParams();
  const [params] = useSearchParams();
  const cited = params.get("chunk");
  const [doc, setDoc] = useState<KbDocument | null>(null);
  const [chunks, setChunks] = useState<DocChunk[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState("");
  const citedRef = useRef<HTMLElement | null>(null);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const all: DocChunk[] = [];
      let offset: number | null = 0;
      for (let i = 0; offset != null && i < MAX_PAGES; i++) {
        const page = await kbApi.chunks(baseId, documentId, offset);
        if (cancelled) return;
        all.push(...page.chunks);
        setDoc(page.document);
        setTotal(page.total);
        offset = page.next_offset;
      }
      setChunks(all);
    })().catch((err: unknown) => {
      if (!cancelled) setError(err instanceof ApiError ? err.message : String(err));
    });
    return () => {
      cancelled = true;
    };
  }, [baseId, documentId]);

  useEffect(() => {
    citedRef.current?.scrollIntoView({ block: "center" });
    citedRef.current?.focus({ preventScroll: true });
  }, [chunks, cited]);

  const citedChunk = chunks.find((c) => c.id === cited) ?? null;
  const isPdf = doc?.mime_type === "application/pdf";
  let lastHeading = "";
  return (
    <div className="page doc-view">
      <p>
        <Link to={`/knowledge/${baseId}`}>← Knowledge base</Link>
      </p>
      <h1>{doc?.name ?? "Document"}</h1>
      {error && <p role="alert">{error}</p>}
      {doc && (
        <p className="muted small" data-testid="doc-meta">
          {doc.mime_type} · {total} chunk{total === 1 ? "" : "s"} ·{" "}
          <a href={kbApi.originalUrl(baseId, doc.id)} download={doc.name}>Download the original</a>
          {isPdf && (
            <>
              {" · "}
              <a href={kbApi.pdfUrl(baseId, doc.id, citedChunk?.page)} target="_blank" rel="noopener noreferrer">
                Open the PDF{citedChunk?.page != null ? ` at page ${citedChunk.page}` : ""}
              </a>
            </>
          )}
        </p>
      )}
      {cited && chunks.length > 0 && !citedChunk && (
        <p role="status">The cited passage is no longer in this document (it was edited or re-ingested).</p>
      )}
      {chunks.length < total && <p role="status">Showing the first {chunks.length} of {total} chunks.</p>}
      <article aria-label={`Text of ${doc?.name ?? "the document"}`}>
        {chunks.map((c) => {
          const heading = c.heading_path.join(" › ");
          const showHeading = heading !== lastHeading && heading !== "";
          lastHeading = heading;
          const isCited = c.id === cited;
          return (
            <section key={c.id} id={`chunk-${c.id}`} data-chunk-id={c.id}
              className={`doc-chunk${isCited ? " cited" : ""}`}
              aria-current={isCited ? "location" : undefined}
              aria-label={isCited ? "Cited passage" : undefined}
              tabIndex={isCited ? -1 : undefined}
              ref={isCited ? (el) => { citedRef.current = el; } : undefined}>
              {showHeading && <h2 className="doc-heading">{heading}</h2>}
              {c.page != null && <span className="muted small doc-page">page {c.page}</span>}
              <p className="doc-text">{c.text}</p>
            </section>
          );
        })}
      </article>
    </div>
  );
}
