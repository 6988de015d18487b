import { useRef, useState, type DragEvent } from "react";
import { uploadFile, type KbDocument, type UploadedDocument } from "./api";
import { chunks, describe } from "./format";

/** A file the user dropped: its upload, then (once accepted) the ingestion of its document. */
interface Upload {
  key: string;
  name: string;
  size: number;
  sent: number; // fraction of the bytes sent
  documentId: string | null;
  error: string | null;
}

const PARALLEL = 3;
let counter = 0;

/** How far a file has come (0..1) and what to say about it. */
function progressOf(upload: Upload, doc: KbDocument | undefined): [number, string, string] {
  if (upload.error) return [0, "failed", `upload refused: ${upload.error}`];
  if (!upload.documentId) return [upload.sent * 0.3, "uploading", `uploading ${Math.round(upload.sent * 100)}%`];
  const status = doc?.status ?? "queued";
  switch (status) {
    case "queued":
      return [0.3, status, "queued"];
    case "parsing":
      return [0.4, status, "parsing"];
    case "embedding": {
      const total = doc?.chunks_total ?? 0;
      const done = doc?.chunks_done ?? 0;
      const part = total ? done / total : 0;
      return [0.45 + 0.55 * part, status, `embedding ${done}/${total} chunks`];
    }
    case "ready":
      return [1, status, `ready · ${chunks(doc?.chunks_total ?? 0)}`];
    case "failed":
      return [1, status, `failed: ${doc?.error ?? "no reason given"}`];
  }
}

export function Uploads({
  baseId,
  documents,
  canUpload,
  blockedReason,
  csrfToken,
  onAccepted,
}: {
  baseId: string;
  documents: Record<string, KbDocument>;
  canUpload: boolean;
  blockedReason: string;
  csrfToken: string;
  onAccepted: (accepted: UploadedDocument, file: File) => void;
}) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);

  function patch(key: string, change: Partial<Upload>) {
    setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));
  }

  async function start(files: File[]) {
    if (!canUpload || !files.length) return;
    const entries = files.map((file) => ({
      file,
      upload: {
        key: `u${++counter}`,
        name: file.name,
        size: file.size,
        sent: 0,
        documentId: null,
        error: null,
      } satisfies Upload,
    }));
    setUploads((list) => [...entries.map((e) => e.upload), ...list]);
    const queue = [...entries];
    async function worker() {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { file, upload } = next;
        try {
          const accepted = await uploadFile(baseId, file, csrfToken, (sent) =>
            patch(upload.key, { sent }),
          );
          onAccepted(accepted, file);
          patch(upload.key, { sent: 1, documentId: accepted.id });
        } catch (err) {
          patch(upload.key, { error: describe(err) });
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(PARALLEL, entries.length) }, worker));
  }

  function onDrop(e: DragEvent<HTMLDivElement>) {
    e.preventDefault();
    setOver(false);
    void start(Array.from(e.dataTransfer.files));
  }

  return (
    <section className="kb-panel" aria-label="Upload documents">
      <h2>Upload</h2>
      <div
        className={`dropzone${over ? " over" : ""}${canUpload ? "" : " disabled"}`}
        data-testid="dropzone"
        aria-disabled={!canUpload}
        onDragOver={(e) => {
          e.preventDefault();
          if (canUpload) setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        {canUpload ? "Drop files here (text, Markdown, HTML, PDF, DOCX, CSV, JSON) or " : `${blockedReason} `}
        <button type="button" disabled={!canUpload} onClick={() => input.current?.click()}>
          Choose files
        </button>
        <input
          ref={input}
          type="file"
          multiple
          hidden
          aria-label="Files to upload"
          disabled={!canUpload}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = "";
            void start(files);
          }}
        />
      </div>
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {uploads.map((u) => {
            const doc = u.documentId ? documents[u.documentId] : undefined;
            const [value, status, label] = progressOf(u, doc);
            return (
              <li key={u.key} className={`st-${status}`} data-status={status} aria-label={`Upload of ${u.name}`}>
                <span className="u-name">{u.name}</span>
                <progress max={1} value={value} aria-label={`Progress of ${u.name}`} />
                <span className="u-state" role="status">{label}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
