import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { atLeast, useAuth } from "../auth";
import { kbApi, type DocumentStatus, type KbDocument, type KbEvent, type KnowledgeBase } from "./api";
import { Documents } from "./Documents";
import { describe } from "./format";
import { Reembed } from "./Reembed";
import { SearchPlayground } from "./SearchPlayground";
import { Uploads } from "./Uploads";
import { useBaseEvents } from "./useBaseEvents";
import "./knowledge.css";

const RANK: Record<DocumentStatus, number> = { queued: 0, parsing: 1, embedding: 2, ready: 3, failed: 3 };

/**
 * A listed row merged into what the events said: the events are newer than any list that was
 * read before they arrived, so a listed row only moves a known document forward.
 */
function merge(known: KbDocument | undefined, listed: KbDocument): KbDocument {
  if (!known || RANK[listed.status] >= RANK[known.status]) return listed;
  return { ...listed, status: known.status, chunks_done: known.chunks_done, chunks_total: known.chunks_total, error: known.error };
}

/** An event applied to a document (events carry only what changed). */
function applyEvent(doc: KbDocument, event: KbEvent): KbDocument {
  return {
    ...doc,
    status: event.status ?? doc.status,
    chunks_done: event.chunks_done ?? (event.status === "queued" ? 0 : doc.chunks_done),
    chunks_total: event.chunks_total ?? doc.chunks_total,
    error: event.status === "failed" ? (event.error ?? doc.error) : null,
  };
}

export function BasePage() {
  const { baseId = "" } = useParams();
  const { me } = useAuth();
  const canEdit = atLeast(me, "editor");
  const [base, setBase] = useState<KnowledgeBase | null>(null);
  const [docs, setDocs] = useState<Record<string, KbDocument>>({});
  const [error, setError] = useState("");
  const docsNow = useRef(docs);
  const reload = useRef({ running: false, again: false });
  const pending = useRef(new Map<string, KbEvent>()); // events of documents not listed yet

  useEffect(() => {
    docsNow.current = docs;
  }, [docs]);

  const reloadDocs = useCallback(() => {
    if (reload.current.running) {
      reload.current.again = true;
      return;
    }
    reload.current.running = true;
    kbApi
      .documents(baseId)
      .then(
        (rows) => {
          const early = new Map(pending.current);
          for (const row of rows) pending.current.delete(row.id);
          setDocs((known) =>
            Object.fromEntries(
              rows.map((row) => {
                let doc = merge(known[row.id], row);
                const event = early.get(row.id);
                if (event?.status && RANK[event.status] >= RANK[doc.status]) doc = applyEvent(doc, event);
                return [row.id, doc];
              }),
            ),
          );
        },
        (err: unknown) => setError(describe(err)),
      )
      .finally(() => {
        reload.current.running = false;
        if (reload.current.again) {
          reload.current.again = false;
          reloadDocs();
        }
      });
  }, [baseId]);

  const reloadBase = useCallback(() => {
    kbApi.base(baseId).then(setBase, (err: unknown) => setError(describe(err)));
  }, [baseId]);

  useEffect(() => {
    reloadBase();
    reloadDocs();
  }, [reloadBase, reloadDocs]);

  const onEvent = useCallback(
    (event: KbEvent) => {
      if (event.type === "knowledge_base.reembedded") {
        reloadBase();
        reloadDocs();
        return;
      }
      const id = event.document_id;
      if (!id) return;
      if (!docsNow.current[id]) {
        pending.current.set(id, event);
        reloadDocs();
        return;
      }
      setDocs((known) => (known[id] ? { ...known, [id]: applyEvent(known[id], event) } : known));
    },
    [reloadBase, reloadDocs],
  );
  useBaseEvents(baseId, onEvent);

  // the end of a re-embed comes as an event; should the stream have been away just then, a
  // slow look at the base ends the progress view all the same
  const reembedding = base?.reembedding ?? false;
  useEffect(() => {
    if (!reembedding) return;
    const timer = window.setInterval(reloadBase, 5000);
    return () => window.clearInterval(timer);
  }, [reembedding, reloadBase]);

  const documents = useMemo(
    () => Object.values(docs).sort((a, b) => b.created_at.localeCompare(a.created_at) || a.name.localeCompare(b.name)),
    [docs],
  );

  if (!base) {
    return (
      <section className="page">
        <p><Link to="/knowledge">← Knowledge</Link></p>
        {error ? <pre role="alert" className="error">{error}</pre> : <p className="loading">Loading…</p>}
      </section>
    );
  }
  const blocked = !canEdit
    ? `Viewers cannot upload (your role: ${me?.role ?? "none"}).`
    : base.reembedding
      ? "The base is being re-embedded; upload when it is done."
      : "";
  return (
    <section className="page">
      <div className="page-head">
        <Link to="/knowledge" aria-label="Back to knowledge bases">←</Link>
        <h1>{base.name}</h1>
        <span className="muted">
          <code>{base.embedding_model}</code> · {base.embedding_dim} dimensions · chunks of {base.chunk_size} tokens
        </span>
      </div>
      {base.description && <p className="muted">{base.description}</p>}
      {error && <pre role="alert" className="error">{error}</pre>}
      <div className="kb-grid">
        <div>
          <Uploads
            baseId={base.id}
            documents={docs}
            canUpload={!blocked}
            blockedReason={blocked}
            csrfToken={me?.csrf_token ?? ""}
            onAccepted={(accepted) => {
              if (!accepted.unchanged && docsNow.current[accepted.id]) {
                const id = accepted.id; // new content under a known name: ingested again
                setDocs((known) => ({ ...known, [id]: { ...known[id], status: "queued", chunks_done: 0, error: null } }));
              }
              reloadDocs();
            }}
          />
          <Documents
            baseId={base.id}
            documents={documents}
            canEdit={canEdit}
            locked={base.reembedding}
            onChanged={(doc) => setDocs((known) => ({ ...known, [doc.id]: doc }))}
            onDeleted={(id) =>
              setDocs((known) => Object.fromEntries(Object.entries(known).filter(([key]) => key !== id)))
            }
          />
          <Reembed
            base={base}
            documents={documents}
            canEdit={canEdit}
            onStarted={(next) => {
              setBase(next);
              setDocs((known) =>
                Object.fromEntries(
                  Object.entries(known).map(([id, d]) => [id, { ...d, status: "queued", chunks_done: 0, error: null }]),
                ),
              );
            }}
          />
        </div>
        <SearchPlayground baseId={base.id} />
      </div>
    </section>
  );
}
