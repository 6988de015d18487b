import { useState, type FormEvent } from "react";
import { kbApi, type KbDocument, type KnowledgeBase } from "./api";
import { describe } from "./format";

/** Move the base to another embedding model; while the job runs, how many documents are done. */
export function Reembed({
  base,
  documents,
  canEdit,
  onStarted,
}: {
  base: KnowledgeBase;
  documents: KbDocument[];
  canEdit: boolean;
  onStarted: (base: KnowledgeBase) => void;
}) {
  const [model, setModel] = useState(base.embedding_model);
  const [dim, setDim] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function start(e: FormEvent) {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      onStarted(await kbApi.reembed(base.id, model.trim(), dim.trim() ? Number(dim) : undefined));
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  const settled = documents.filter((d) => d.status === "ready" || d.status === "failed").length;
  return (
    <section className="kb-panel" aria-label="Re-embed">
      <h2>Embedding model</h2>
      <p>
        <code>{base.embedding_model}</code> <span className="muted">({base.embedding_dim} dimensions)</span>
      </p>
      {base.reembedding ? (
        <div role="status" aria-label="Re-embedding progress">
          Re-embedding: {settled} of {documents.length} documents done
          <progress max={Math.max(documents.length, 1)} value={settled} aria-label="Re-embed progress"
            style={{ width: "100%" }} />
        </div>
      ) : (
        canEdit && (
          <form onSubmit={(e) => void start(e)}>
            <label>
              New model
              <input value={model} required onChange={(e) => setModel(e.target.value)} />
            </label>
            <label>
              Dimension
              <input value={dim} inputMode="numeric" placeholder="litellm models only"
                onChange={(e) => setDim(e.target.value)} />
            </label>
            <button type="submit" disabled={busy || !model.trim()}>
              Re-embed every document
            </button>
          </form>
        )
      )}
      {error && <pre role="alert" className="error">{error}</pre>}
    </section>
  );
}
