// Client of the knowledge API (platform/reporunner/platform/knowledge/schemas.py and
// reporunner.knowledge.SearchRequest). Uploads go one file per request through
// XMLHttpRequest, the one browser API that reports upload progress.

import { ApiError, request } from "../api";

export type DocumentStatus = "queued" | "parsing" | "embedding" | "ready" | "failed";
export type SearchMode = "hybrid" | "vector" | "keyword";

export interface KnowledgeBase {
  id: string;
  name: string;
  description: string;
  embedding_model: string;
  embedding_dim: number;
  chunk_size: number;
  chunk_overlap: number;
  reembedding: boolean;
}

export interface KnowledgeBaseCreate {
  name: string;
  description?: string;
  embedding_model?: string;
  embedding_dim?: number;
  chunk_size?: number;
  chunk_overlap?: number;
}

export interface KbDocument {
  id: string;
  knowledge_base_id: string;
  name: string;
  source: string;
  mime_type: string;
  size_bytes: number;
  content_hash: string;
  status: DocumentStatus;
  error: string | null;
  chunks_total: number;
  chunks_done: number;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** One chunk of a document in reading order (ChunkOut). */
export interface DocChunk {
  id: string;
  ordinal: number;
  text: string;
  page: number | null;
  heading_path: string[];
  char_start: number;
  char_end: number;
}

export interface ChunksOut {
  document: KbDocument;
  chunks: DocChunk[];
  total: number;
  next_offset: number | null;
}

export interface UploadedDocument {
  id: string;
  name: string;
  status: DocumentStatus;
  unchanged: boolean;
}

export interface Citation {
  chunk_id: string;
  document_id: string;
  document_name: string;
  text: string;
  score: number;
  ranks: Record<string, number>;
  ordinal: number;
  page: number | null;
  heading_path: string[];
  char_start: number;
  char_end: number;
  metadata: Record<string, unknown>;
}

export interface SearchIn {
  query: string;
  top_k: number;
  mode: SearchMode;
  filters: Record<string, unknown>;
  rerank: boolean;
}

export interface SearchOut {
  mode: SearchMode;
  hits: Citation[];
  notes: string[];
}

/** An event of ``GET /knowledge-bases/{id}/events`` (document.state, .queued, .progress). */
export interface KbEvent {
  type: string;
  knowledge_base_id: string;
  document_id?: string;
  name?: string;
  status?: DocumentStatus;
  chunks_done?: number;
  chunks_total?: number;
  error?: string | null;
  ready?: number;
  failed?: number;
}

const KB = "/knowledge-bases";

export const kbApi = {
  bases: () => request<KnowledgeBase[]>(KB),
  base: (id: string) => request<KnowledgeBase>(`${KB}/${id}`),
  create: (body: KnowledgeBaseCreate) => request<KnowledgeBase>(KB, { method: "POST", json: body }),
  documents: (id: string) => request<KbDocument[]>(`${KB}/${id}/documents`),
  deleteDocument: (id: string, doc: string) =>
    request<void>(`${KB}/${id}/documents/${doc}`, { method: "DELETE" }),
  retry: (id: string, doc: string) =>
    request<KbDocument>(`${KB}/${id}/documents/${doc}/retry`, { method: "POST" }),
  reembed: (id: string, embedding_model: string, embedding_dim?: number) =>
    request<KnowledgeBase>(`${KB}/${id}/reembed`, {
      method: "POST",
      json: { embedding_model, embedding_dim },
    }),
  search: (id: string, body: SearchIn) =>
    request<SearchOut>(`${KB}/${id}/search`, { method: "POST", json: body }),
  chunks: (id: string, doc: string, offset = 0, limit = 500) =>
    request<ChunksOut>(`${KB}/${id}/documents/${doc}/chunks`, { query: { offset, limit } }),
  originalUrl: (id: string, doc: string) => `${KB}/${id}/documents/${doc}/original`,
  /** A PDF original in the browser's viewer (the server refuses any other type inline). */
  pdfUrl: (id: string, doc: string, page?: number | null) =>
    `${KB}/${id}/documents/${doc}/original?inline=true${page != null ? `#page=${page}` : ""}`,
  /** The in-app view of a document's text, at one chunk. */
  viewPath: (id: string, doc: string, chunk?: string | null) =>
    `/knowledge/${id}/documents/${doc}${chunk ? `?chunk=${encodeURIComponent(chunk)}` : ""}`,
  eventsUrl: (id: string) => `${KB}/${id}/events`,
};

/** Upload one file; ``onProgress`` gets the fraction of its bytes sent (0..1). */
export function uploadFile(
  baseId: string,
  file: File,
  csrfToken: string,
  onProgress: (fraction: number) => void,
): Promise<UploadedDocument> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${KB}/${baseId}/documents`);
    xhr.setRequestHeader("Accept", "application/json");
    if (csrfToken) xhr.setRequestHeader("X-CSRF-Token", csrfToken);
    xhr.responseType = "text";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onerror = () => reject(new ApiError(0, "the upload did not reach the server", [], null));
    xhr.onload = () => {
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = xhr.responseText;
      }
      if (xhr.status === 202 && body && typeof body === "object") {
        const docs = (body as { documents?: UploadedDocument[] }).documents ?? [];
        if (docs[0]) {
          onProgress(1);
          resolve(docs[0]);
          return;
        }
      }
      const detail =
        body && typeof body === "object" && typeof (body as { detail?: unknown }).detail === "string"
          ? (body as { detail: string }).detail
          : `upload failed (${xhr.status})`;
      reject(new ApiError(xhr.status, detail, [], body));
    };
    const form = new FormData();
    form.append("files", file, file.name);
    xhr.send(form);
  });
}
