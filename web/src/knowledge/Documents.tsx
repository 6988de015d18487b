import { useState } from "react";
import { Link } from "react-router-dom";
import { kbApi, type KbDocument } from "./api";
import { chunks, describe, size } from "./format";

function DocumentRow({
  baseId,
  doc,
  canEdit,
  locked,
  onChanged,
  onDeleted,
  onError,
}: {
  baseId: string;
  doc: KbDocument;
  canEdit: boolean;
  locked: boolean;
  onChanged: (doc: KbDocument) => void;
  onDeleted: (id: string) => void;
  onError: (message: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  async function act(action: () => Promise<void>) {
    setBusy(true);
    onError("");
    try {
      await action();
    } catch (err) {
      onError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  const progress =
    doc.status === "embedding" && doc.chunks_total
      ? ` ${doc.chunks_done}/${doc.chunks_total}`
      : doc.status === "ready"
        ? ` · ${chunks(doc.chunks_total)}`
        : "";
  return (
    <tr aria-label={`Document ${doc.name}`} data-status={doc.status}>
      <td className="doc-name">
        <a href={kbApi.originalUrl(baseId, doc.id)} download={doc.name} aria-label={`Original of ${doc.name}`}>
          {doc.name}
        </a>
        <div className="muted small">
          {doc.mime_type} · {size(doc.size_bytes)}
          {doc.status === "ready" && (
            <>
              {" · "}
              <Link to={kbApi.viewPath(baseId, doc.id)} aria-label={`Text of ${doc.name}`}>text</Link>
            </>
          )}
        </div>
      </td>
      <td>
        <span className={`badge st-${doc.status}`}>{doc.status}</span>
        <span className="muted small">{progress}</span>
        {doc.status === "failed" && doc.error && (
          <div className="doc-error" aria-label={`Failure of ${doc.name}`}>
            {doc.error}
          </div>
        )}
      </td>
      <td className="actions">
        {canEdit && doc.status === "failed" && (
          <button
            type="button"
            disabled={busy || locked}
            aria-label={`Retry ${doc.name}`}
            onClick={() => void act(async () => onChanged(await kbApi.retry(baseId, doc.id)))}
          >
            Retry
          </button>
        )}
        {canEdit &&
          (confirming ? (
            <>
              <button
                type="button"
                disabled={busy}
                aria-label={`Confirm delete ${doc.name}`}
                onClick={() =>
                  void act(async () => {
                    await kbApi.deleteDocument(baseId, doc.id);
                    onDeleted(doc.id);
                  })
                }
              >
                Delete for good
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" disabled={busy} aria-label={`Delete ${doc.name}`} onClick={() => setConfirming(true)}>
              Delete
            </button>
          ))}
      </td>
    </tr>
  );
}

export function Documents({
  baseId,
  documents,
  canEdit,
  locked,
  onChanged,
  onDeleted,
}: {
  baseId: string;
  documents: KbDocument[];
  canEdit: boolean;
  locked: boolean;
  onChanged: (doc: KbDocument) => void;
  onDeleted: (id: string) => void;
}) {
  const [error, setError] = useState("");
  return (
    <section className="kb-panel" aria-label="Documents">
      <h2>Documents ({documents.length})</h2>
      {error && <pre role="alert" className="error">{error}</pre>}
      <table className="list" aria-label="Documents of the base">
        <thead>
          <tr>
            <th>Document</th>
            <th>Status</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {documents.map((doc) => (
            <DocumentRow
              key={doc.id}
              baseId={baseId}
              doc={doc}
              canEdit={canEdit}
              locked={locked}
              onChanged={onChanged}
              onDeleted={onDeleted}
              onError={setError}
            />
          ))}
          {documents.length === 0 && (
            <tr>
              <td colSpan={3} className="muted">No documents yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
