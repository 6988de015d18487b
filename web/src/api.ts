// Typed client of the reporunner API. Types mirror the server's pydantic models
// (platform/reporunner/platform/{workflows,executions}/schemas.py and the sign-in contract).
// Requests carry the session cookie; unsafe methods add the X-CSRF-Token from /auth/me.

export type Role = "owner" | "admin" | "editor" | "viewer";

export interface Me {
  user: { id: string; email: string; name: string | null };
  workspace: { id: string; slug: string; name: string };
  role: Role;
  csrf_token: string;
  must_enrol_second_factor?: boolean;
}

export interface TotpStatus {
  enabled: boolean;
  enabled_at: string | null;
  recovery_codes_left: number;
  required: boolean;
}

export interface TotpEnrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

export interface SsoInfo {
  providers: { slug: string; name: string; start_url: string }[];
  password_signin: boolean;
}

/** What a sign-in sends besides the password when the account has two-factor authentication. */
export interface SecondFactor {
  totp_code?: string;
  recovery_code?: string;
}


export interface Problem {
  pointer: string;
  code: string;
  message: string;
}

export interface WorkflowOut {
  id: string;
  name: string;
  description: string;
  latest_version: number | null;
  published_version: number | null;
  created_at: string;
  updated_at: string;
  archived: boolean;
}

export interface VersionSummary {
  id: string;
  number: number;
  content_hash: string;
  note: string;
  created_at: string;
  published: boolean;
}

export interface Position {
  x: number;
  y: number;
}

export interface NodeSpec {
  id: string;
  type: string;
  version?: number;
  name?: string | null;
  params?: Record<string, unknown>;
  credentials?: Record<string, string>;
  position?: Position;
  error_policy?: Record<string, unknown>;
}

export interface EdgeSpec {
  source: string;
  target: string;
  source_port?: string;
  target_port?: string;
}

export interface Definition {
  name: string;
  description?: string;
  nodes: NodeSpec[];
  edges: EdgeSpec[];
  settings?: Record<string, unknown>;
  /** Test cases (docs/workflow-tests.md): carried through the editor unchanged. */
  tests?: unknown[];
}

export interface VersionOut extends VersionSummary {
  definition: Definition;
  created: boolean;
}

export interface ValidationOut {
  valid: boolean;
  content_hash: string | null;
  problems: Problem[];
}

export interface Port {
  name: string;
  description: string;
}

export interface NodeType {
  type: string;
  version: number;
  category: string;
  display_name: string;
  description: string;
  params: Record<string, unknown>;
  inputs: Port[];
  outputs: Port[];
  dynamic_inputs: boolean;
  dynamic_outputs: boolean;
  credential_types: string[];
  mode: string;
  literal_params: string[];
  example: Record<string, unknown>;
}

export type ExecutionStatus =
  | "queued"
  | "running"
  | "waiting"
  | "succeeded"
  | "failed"
  | "cancelled";

export interface NodeRunOut {
  id: string;
  node_id: string;
  node_type: string;
  status: string;
  attempt: number;
  input: Record<string, unknown> | null;
  output: Record<string, unknown> | null;
  output_truncated: boolean;
  error: Record<string, unknown> | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
}

export interface ExecutionOut {
  id: string;
  workflow_id: string;
  version_id: string;
  status: ExecutionStatus;
  trigger_type: string;
  trigger: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
  waiting_payload: Record<string, unknown> | null;
  parent_execution_id: string | null;
  attempts: number;
  cancel_requested: boolean;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  node_runs?: NodeRunOut[] | null;
}

export interface ExecutionPage {
  items: ExecutionOut[];
  next_cursor: string | null;
}

export interface SessionOut {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string;
  user_agent: string;
  current: boolean;
}

export interface PreviewValue {
  pointer: string;
  expression: string;
  value?: unknown;
  error?: string | null;
}

export interface PreviewOut {
  execution_id: string | null;
  values: PreviewValue[];
}

export interface CredentialOut {
  id: string;
  name: string;
  type: string;
}

/** An error answer of the API (problem+json), with the definition problems when it has them. */
export class ApiError extends Error {
  readonly status: number;
  readonly problems: Problem[];
  readonly body: unknown;

  constructor(status: number, message: string, problems: Problem[], body: unknown) {
    super(message);
    this.status = status;
    this.problems = problems;
    this.body = body;
  }
}

/** The stable ``code`` of a problem+json error body (e.g. ``second_factor_required``). */
export function problemCode(err: unknown): string | undefined {
  if (!(err instanceof ApiError)) return undefined;
  const body = err.body as { code?: unknown } | null;
  return body && typeof body.code === "string" ? body.code : undefined;
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function problemsOf(body: unknown): Problem[] {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const key of ["problems", "errors"]) {
      const list = b[key];
      if (Array.isArray(list)) {
        return list.filter(
          (p): p is Problem => !!p && typeof p === "object" && "pointer" in p && "message" in p,
        );
      }
    }
    const extra = b.extra;
    if (extra && typeof extra === "object") return problemsOf(extra);
  }
  return [];
}

function messageOf(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    if (typeof b.detail === "string") return b.detail;
    if (typeof b.title === "string") return b.title;
  }
  return `request failed (${status})`;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  text?: string;
  contentType?: string;
  query?: Record<string, string | number | boolean | string[] | undefined | null>;
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.text !== undefined) {
    headers["Content-Type"] = opts.contentType ?? "application/json";
    body = opts.text;
  }
  if (UNSAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v === undefined || v === null || v === "") continue;
      if (Array.isArray(v)) v.forEach((item) => q.append(k, item));
      else q.append(k, String(v));
    }
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const res = await fetch(url, { method, headers, body, credentials: "same-origin" });
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("content-type") ?? "";
  const data: unknown = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, data), problemsOf(data), data);
  return data as T;
}

let catalog: Promise<NodeType[]> | null = null;

export const api = {
  me: () => request<Me>("/auth/me"),
  login: (email: string, password: string, second: SecondFactor = {}) =>
    request<Me>("/auth/login", { method: "POST", json: { email, password, ...second } }),
  logout: () => request<void>("/auth/logout", { method: "POST" }),
  sso: () => request<SsoInfo>("/auth/sso"),
  setupInfo: (token: string) =>
    request<{ workspace: { name?: string; slug?: string }; expires_at: string }>(
      `/auth/setup/${encodeURIComponent(token)}`,
    ),
  setup: (token: string, email: string, password: string, name: string) =>
    request<Me>("/auth/setup", { method: "POST", json: { token, email, password, name } }),
  invitation: (token: string) =>
    request<{
      email: string;
      role: Role;
      workspace: { name?: string; slug?: string };
      existing_account?: boolean;
    }>(`/auth/invitations/${encodeURIComponent(token)}`),
  acceptInvitation: (token: string, password: string, name: string) =>
    request<Me>("/auth/invitations/accept", { method: "POST", json: { token, password, name } }),

  changePassword: (current_password: string, new_password: string) =>
    request<void>("/auth/password", { method: "POST", json: { current_password, new_password } }),
  sessions: () => request<SessionOut[]>("/auth/sessions"),
  revokeSession: (id: string) => request<void>(`/auth/sessions/${id}`, { method: "DELETE" }),
  totpStatus: () => request<TotpStatus>("/auth/totp"),
  totpEnrol: () => request<TotpEnrolment>("/auth/totp/enrol", { method: "POST" }),
  totpConfirm: (code: string) =>
    request<{ recovery_codes: string[] }>("/auth/totp/confirm", { method: "POST", json: { code } }),
  totpDisable: (code: string) =>
    request<void>("/auth/totp/disable", { method: "POST", json: { code } }),
  totpRecoveryCodes: (code: string) =>
    request<{ recovery_codes: string[] }>("/auth/totp/recovery-codes", {
      method: "POST",
      json: { code },
    }),

  workflows: (archived = false) => request<WorkflowOut[]>("/workflows", { query: { archived } }),
  workflow: (id: string) => request<WorkflowOut>(`/workflows/${id}`),
  createWorkflow: (text: string, contentType = "application/json") =>
    request<{ workflow: WorkflowOut; version: VersionOut }>("/workflows", {
      method: "POST",
      text,
      contentType,
    }),
  archive: (id: string) => request<WorkflowOut>(`/workflows/${id}/archive`, { method: "POST" }),
  unarchive: (id: string) =>
    request<WorkflowOut>(`/workflows/${id}/unarchive`, { method: "POST" }),
  validate: (def: Definition) =>
    request<ValidationOut>("/workflows/validate", { method: "POST", json: def }),
  saveVersion: (id: string, def: Definition, note = "") =>
    request<VersionOut>(`/workflows/${id}/versions`, {
      method: "POST",
      json: def,
      query: { note },
    }),
  preview: (
    id: string,
    node_id: string,
    type: string,
    params: Record<string, unknown>,
    execution_id: string | null = null,
  ) =>
    request<PreviewOut>(`/workflows/${id}/preview`, {
      method: "POST",
      json: { node_id, type, params, execution_id },
    }),
  versions: (id: string) => request<VersionSummary[]>(`/workflows/${id}/versions`),
  version: (id: string, n: number) => request<VersionOut>(`/workflows/${id}/versions/${n}`),
  publish: (id: string, n: number) =>
    request<WorkflowOut>(`/workflows/${id}/versions/${n}/publish`, { method: "POST" }),
  run: (id: string, input: Record<string, unknown>, version?: number) =>
    request<ExecutionOut>(`/workflows/${id}/executions`, {
      method: "POST",
      json: { input, version },
    }),

  /** The node catalog, fetched once per page load (the list page prefetches it). */
  nodes: (): Promise<NodeType[]> => {
    catalog ??= request<NodeType[]>("/nodes").catch((err: unknown) => {
      catalog = null;
      throw err;
    });
    return catalog;
  },
  credentials: () => request<CredentialOut[]>("/credentials"),

  executions: (q: {
    workflow_id?: string;
    status?: string[];
    since?: string;
    until?: string;
    cursor?: string;
    limit?: number;
  }) => request<ExecutionPage>("/executions", { query: q }),
  execution: (id: string) => request<ExecutionOut>(`/executions/${id}`),
  cancel: (id: string) => request<ExecutionOut>(`/executions/${id}/cancel`, { method: "POST" }),
  retry: (id: string) => request<ExecutionOut>(`/executions/${id}/retry`, { method: "POST" }),
  resume: (id: string, payload: unknown) =>
    request<ExecutionOut>(`/executions/${id}/resume`, { method: "POST", json: { payload } }),
};
