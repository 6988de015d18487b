import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { atLeast, useAuth } from "../auth";
import { kbApi, type KnowledgeBase, type KnowledgeBaseCreate } from "./api";
import { describe } from "./format";
import "./knowledge.css";

function CreateBase({ onCreated }: { onCreated: (base: KnowledgeBase) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [model, setModel] = useState("");
  const [dim, setDim] = useState("");
  const [chunkSize, setChunkSize] = useState("512");
  const [overlap, setOverlap] = useState("64");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError("");
    setBusy(true);
    const body: KnowledgeBaseCreate = {
      name: name.trim(),
      description,
      chunk_size: Number(chunkSize),
      chunk_overlap: Number(overlap),
    };
    if (model.trim()) body.embedding_model = model.trim();
    if (dim.trim()) body.embedding_dim = Number(dim);
    try {
      onCreated(await kbApi.create(body));
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="kb-panel kb-create" aria-label="New knowledge base" onSubmit={(e) => void submit(e)}>
      <h2>New knowledge base</h2>
      <label>
        Name
        <input value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Description
        <input value={description} maxLength={4000} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <div className="row">
        <label>
          Embedding model
          <input value={model} placeholder="all-MiniLM-L6-v2 (the server's default)"
            onChange={(e) => setModel(e.target.value)} />
        </label>
        <label>
          Dimension
          <input value={dim} inputMode="numeric" placeholder="litellm models only"
            onChange={(e) => setDim(e.target.value)} />
        </label>
      </div>
      <div className="row">
        <label>
          Chunk size (tokens)
          <input type="number" min={32} max={8192} value={chunkSize}
            onChange={(e) => setChunkSize(e.target.value)} />
        </label>
        <label>
          Chunk overlap (tokens)
          <input type="number" min={0} max={1024} value={overlap}
            onChange={(e) => setOverlap(e.target.value)} />
        </label>
      </div>
      {error && <pre role="alert" className="error">{error}</pre>}
      <button type="submit" className="primary" disabled={busy || !name.trim()}>
        Create knowledge base
      </button>
    </form>
  );
}

export function KnowledgePage() {
  const { me } = useAuth();
  const canEdit = atLeast(me, "editor");
  const navigate = useNavigate();
  const [bases, setBases] = useState<KnowledgeBase[] | null>(null);
  const [error, setError] = useState("");
  const [creating, setCreating] = useState(false);

  const load = useCallback(() => {
    kbApi.bases().then(setBases, (err: unknown) => setError(describe(err)));
  }, []);
  useEffect(load, [load]);

  return (
    <section className="page">
      <div className="page-head">
        <h1>Knowledge</h1>
        {canEdit && (
          <button type="button" onClick={() => setCreating((c) => !c)} aria-expanded={creating}>
            New knowledge base
          </button>
        )}
      </div>
      {creating && <CreateBase onCreated={(base) => navigate(`/knowledge/${base.id}`)} />}
      {error && <pre role="alert" className="error">{error}</pre>}
      <table className="list" aria-label="Knowledge bases">
        <thead>
          <tr>
            <th>Name</th>
            <th>Embedding model</th>
            <th>Chunks</th>
          </tr>
        </thead>
        <tbody>
          {(bases ?? []).map((b) => (
            <tr key={b.id}>
              <td>
                <Link to={`/knowledge/${b.id}`}>{b.name}</Link>
                {b.reembedding && <span className="tag">re-embedding</span>}
                {b.description && <div className="muted">{b.description}</div>}
              </td>
              <td>
                <code>{b.embedding_model}</code> <span className="muted">({b.embedding_dim} dimensions)</span>
              </td>
              <td className="muted">
                {b.chunk_size} tokens, {b.chunk_overlap} overlap
              </td>
            </tr>
          ))}
          {bases && bases.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">No knowledge bases yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
