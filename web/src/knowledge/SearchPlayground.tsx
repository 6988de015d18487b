import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { kbApi, type SearchMode, type SearchOut } from "./api";
import { Highlighted, queryTerms } from "./highlight";
import { describe } from "./format";

/** The filters box: empty, or a JSON object ({field: value | {in: [...]} | {gte, lt, ...}}). */
function parseFilters(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`filters: not JSON (${(err as Error).message})`, { cause: err });
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new Error('filters: a JSON object, e.g. {"mime_type": "application/pdf"}');
  }
  return value as Record<string, unknown>;
}

export function SearchPlayground({ baseId }: { baseId: string }) {
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<SearchMode>("hybrid");
  const [topK, setTopK] = useState("5");
  const [filters, setFilters] = useState("");
  const [rerank, setRerank] = useState(false);
  const [result, setResult] = useState<(SearchOut & { query: string }) | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function run(e: FormEvent) {
    e.preventDefault();
    setError("");
    setBusy(true);
    try {
      const body = { query, mode, top_k: Number(topK), filters: parseFilters(filters), rerank };
      setResult({ ...(await kbApi.search(baseId, body)), query });
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  const terms = result ? queryTerms(result.query) : [];
  return (
    <section className="kb-panel" aria-label="Search playground">
      <h2>Search</h2>
      <form className="search-form" onSubmit={(e) => void run(e)}>
        <label>
          Query
          <input type="search" value={query} required maxLength={4000} onChange={(e) => setQuery(e.target.value)} />
        </label>
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.target.value as SearchMode)}>
            <option value="hybrid">hybrid</option>
            <option value="vector">vector</option>
            <option value="keyword">keyword</option>
          </select>
        </label>
        <label>
          Top k
          <input type="number" min={1} max={100} value={topK} onChange={(e) => setTopK(e.target.value)} />
        </label>
        <label className="wide">
          Metadata filters (JSON)
          <textarea rows={2} value={filters} placeholder='{"mime_type": "application/pdf", "page": {"lte": 3}}'
            onChange={(e) => setFilters(e.target.value)} />
        </label>
        <label className="inline">
          <input type="checkbox" checked={rerank} onChange={(e) => setRerank(e.target.checked)} />
          Rerank
        </label>
        <div>
          <button type="submit" className="primary" disabled={busy || !query.trim()}>
            Search
          </button>
        </div>
      </form>
      {error && <pre role="alert" className="error">{error}</pre>}
      {result && (
        <>
          {result.notes.map((note) => (
            <p key={note} className="muted small" role="note">{note}</p>
          ))}
          {result.hits.length === 0 && <p className="muted">No chunk matches.</p>}
          <ol className="hits" aria-label="Results">
            {result.hits.map((hit, i) => (
              <li key={hit.chunk_id} aria-label={`Result ${i + 1}`}>
                <div className="hit-head">
                  <b>#{i + 1}</b>
                  <a href={kbApi.originalUrl(baseId, hit.document_id)} download={hit.document_name}
                    aria-label={`Open ${hit.document_name}`}>
                    {hit.document_name}
                  </a>
                  <Link to={kbApi.viewPath(baseId, hit.document_id, hit.chunk_id)}
                    aria-label={`Read result ${i + 1} in ${hit.document_name}`}>in context</Link>
                  <span className="citation">
                    {hit.page != null && `page ${hit.page} · `}
                    {hit.heading_path.length > 0 && `${hit.heading_path.join(" › ")} · `}
                    chunk {hit.ordinal + 1} · characters {hit.char_start}–{hit.char_end}
                  </span>
                  <span className="muted">
                    score {hit.score.toFixed(4)}
                    {Object.entries(hit.ranks).map(([m, r]) => ` · ${m} #${r}`).join("")}
                  </span>
                </div>
                <p className="hit-text">
                  <Highlighted text={hit.text} terms={terms} />
                </p>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
