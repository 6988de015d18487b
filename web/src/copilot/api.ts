// The copilot's API (platform/reporunner/platform/copilot/schemas.py): status, generate, edit,
// patch and refinement threads.
import { request, type Definition, type Problem, type VersionOut, type WorkflowOut } from "../api";

export interface CopilotStatus {
  configured: boolean;
  model: string | null;
  detail: string | null;
}

export interface Explanation {
  node_id: string;
  node_type: string;
  explanation: string;
}

export interface MissingCredential {
  node_id: string;
  node_type: string;
  credential_type: string;
}

export interface GenerateOut {
  definition: Definition;
  summary: string;
  explanations: Explanation[];
  missing_credentials: MissingCredential[];
  attempts: number;
  workflow: WorkflowOut | null;
  version: VersionOut | null;
}

export type JsonPatchOp = {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  value?: unknown;
  from?: string;
};

export interface EditOut {
  base_version: number;
  patch: JsonPatchOp[];
  definition: Definition;
  summary: string;
  explanations: Explanation[];
  missing_credentials: MissingCredential[];
  attempts: number;
  version: VersionOut | null;
}

export interface TurnOut extends EditOut {
  thread_id: string;
}

export interface ThreadOut {
  id: string;
  workflow_id: string;
  title: string;
  created_at: string;
}

export interface ThreadMessage {
  role: "user" | "assistant";
  content: string;
  proposal: Record<string, unknown> | null;
  created_at: string;
}

export { type Problem };

export const copilot = {
  status: () => request<CopilotStatus>("/copilot/status"),
  generate: (description: string, dryRun: boolean) =>
    request<GenerateOut>("/workflows/generate", {
      method: "POST",
      json: { description, dry_run: dryRun },
    }),
  edit: (workflowId: string, instruction: string) =>
    request<EditOut>(`/workflows/${workflowId}/edit`, { method: "POST", json: { instruction } }),
  patch: (workflowId: string, baseVersion: number, patch: JsonPatchOp[], note: string) =>
    request<VersionOut>(`/workflows/${workflowId}/patch`, {
      method: "POST",
      json: { base_version: baseVersion, patch, note: note.slice(0, 500) },
    }),
  threads: (workflowId: string) => request<ThreadOut[]>(`/workflows/${workflowId}/copilot/threads`),
  openThread: (workflowId: string, title: string) =>
    request<ThreadOut>(`/workflows/${workflowId}/copilot/threads`, {
      method: "POST",
      json: { title },
    }),
  messages: (workflowId: string, threadId: string) =>
    request<ThreadMessage[]>(`/workflows/${workflowId}/copilot/threads/${threadId}/messages`),
  turn: (workflowId: string, threadId: string, message: string) =>
    request<TurnOut>(`/workflows/${workflowId}/copilot/threads/${threadId}/messages`, {
      method: "POST",
      json: { message },
    }),
};
