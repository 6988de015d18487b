// The settings pages' part of the API client. Types mirror the server's pydantic models
// (platform/reporunner/platform/{vault,identity,signin,schedules,mcp}/schemas.py).
import { ApiError, request, type Role } from "../api";

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  format?: string;
  writeOnly?: boolean;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
};

export interface CredentialType {
  type: string;
  display_name: string;
  schema: JsonSchema;
}

export interface Credential {
  id: string;
  name: string;
  type: string;
  fields_set: string[];
  created_at: string;
  last_used_at: string | null;
}

export interface Member {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  created_at: string;
  created_by_user_id: string | null;
  expires_at: string;
  expired: boolean;
}

export interface InvitationCreated {
  id: string;
  email: string;
  role: Role;
  url: string;
  expires_at: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  user_id: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface AuditEntry {
  id: string;
  created_at: string;
  action: string;
  actor_user_id: string | null;
  actor_api_key_id: string | null;
  target_type: string;
  target_id: string | null;
  data: Record<string, unknown>;
}

export interface AuditPage {
  items: AuditEntry[];
  next_cursor: string | null;
}

export interface Schedule {
  id: string;
  workflow_id: string;
  node_id: string;
  cron: string;
  timezone: string;
  missed_policy: "skip" | "run_once";
  enabled: boolean;
  paused: boolean;
  next_fire_at: string | null;
  last_fired_at: string | null;
}

export interface McpTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

export interface McpServer {
  id: string;
  name: string;
  description: string;
  transport: string;
  url: string | null;
  command: string | null;
  credential_id: string | null;
  timeout_s: number;
  enabled: boolean;
  tools: McpTool[];
  tools_refreshed_at: string | null;
  created_at: string;
}

export interface McpServerCreate {
  name: string;
  description?: string;
  transport: "streamable_http" | "sse" | "stdio";
  url?: string | null;
  command?: string | null;
  credential_id?: string | null;
}

/** A one-paragraph text of an API error: its detail and the first problems with their fields. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) {
    const first = err.problems.slice(0, 4).map((p) => `${p.pointer || "/"}: ${p.message}`);
    return [err.message, ...first].join("\n");
  }
  return String(err);
}

export const settingsApi = {
  credentialTypes: () => request<CredentialType[]>("/credential-types"),
  credentials: () => request<Credential[]>("/credentials"),
  createCredential: (name: string, type: string, data: Record<string, unknown>) =>
    request<Credential>("/credentials", { method: "POST", json: { name, type, data } }),
  updateCredential: (id: string, body: { name?: string; data?: Record<string, unknown> }) =>
    request<Credential>(`/credentials/${id}`, {
      method: "PATCH",
      json: body.data ? { ...body, keep_unset: true } : body,
    }),
  deleteCredential: (id: string) => request<void>(`/credentials/${id}`, { method: "DELETE" }),

  members: () => request<Member[]>("/workspace/members"),
  changeRole: (userId: string, role: Role) =>
    request<Member>(`/workspace/members/${userId}`, { method: "PATCH", json: { role } }),
  removeMember: (userId: string) =>
    request<void>(`/workspace/members/${userId}`, { method: "DELETE" }),
  invitations: () => request<Invitation[]>("/workspace/invitations"),
  invite: (email: string, role: Role) =>
    request<InvitationCreated>("/workspace/invitations", {
      method: "POST",
      json: { email, role },
    }),
  revokeInvitation: (id: string) =>
    request<void>(`/workspace/invitations/${id}`, { method: "DELETE" }),

  apiKeys: () => request<ApiKey[]>("/api-keys"),
  createApiKey: (name: string, expiresAt: string | null) =>
    request<ApiKeyCreated>("/api-keys", {
      method: "POST",
      json: { name, expires_at: expiresAt },
    }),
  revokeApiKey: (id: string) => request<ApiKey>(`/api-keys/${id}/revoke`, { method: "POST" }),

  audit: (q: { action?: string[]; actor?: string; since?: string; until?: string; cursor?: string }) =>
    request<AuditPage>("/audit", { query: { ...q, limit: 50 } }),

  schedules: () => request<Schedule[]>("/schedules"),
  setPaused: (id: string, paused: boolean) =>
    request<Schedule>(`/schedules/${id}`, { method: "PATCH", json: { paused } }),
  setMissedPolicy: (id: string, missed_policy: "skip" | "run_once") =>
    request<Schedule>(`/schedules/${id}`, { method: "PATCH", json: { missed_policy } }),

  mcpServers: () => request<McpServer[]>("/mcp-servers"),
  createMcpServer: (body: McpServerCreate) =>
    request<McpServer>("/mcp-servers", { method: "POST", json: body }),
  deleteMcpServer: (id: string) => request<void>(`/mcp-servers/${id}`, { method: "DELETE" }),
  refreshMcpServer: (id: string) =>
    request<McpServer>(`/mcp-servers/${id}/refresh`, { method: "POST" }),
  mcpTools: (id: string) => request<McpTool[]>(`/mcp-servers/${id}/tools`),
};
