// Preview of a node's `{{ expressions }}`: the server renders them with the engine's sandbox
// against the workflow's latest run (POST /workflows/{id}/preview), so what the form shows is
// what a run would compute. Asked for (debounced) whenever the selected node's params change.
import { useEffect, useState } from "react";
import { ApiError, api } from "../api";

export interface PreviewLine {
  field: string;
  text: string;
  value: string;
  failed: boolean;
}

export interface Preview {
  executionId: string | null;
  lines: PreviewLine[];
}

function show(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

function hasExpression(v: unknown): boolean {
  if (typeof v === "string") return v.includes("{{");
  if (Array.isArray(v)) return v.some(hasExpression);
  if (v && typeof v === "object") return Object.values(v).some(hasExpression);
  return false;
}

const EMPTY: Preview = { executionId: null, lines: [] };

/** The server's preview of ``params`` (empty while none holds an expression). ``refresh``
 * changes when a run ends, so the preview follows the newest data. */
export function useServerPreview(
  workflowId: string,
  node: { id: string; type: string; params: Record<string, unknown> } | null,
  executionId: string | null,
  refresh: unknown,
): Preview {
  const [preview, setPreview] = useState<Preview>(EMPTY);
  const key = node && hasExpression(node.params) ? JSON.stringify([node.id, node.type, node.params]) : "";

  useEffect(() => {
    if (!key) {
      setPreview(EMPTY);
      return;
    }
    const [id, type, params] = JSON.parse(key) as [string, string, Record<string, unknown>];
    let stale = false;
    const timer = window.setTimeout(() => {
      api.preview(workflowId, id, type, params, executionId).then(
        (out) => {
          if (stale) return;
          setPreview({
            executionId: out.execution_id,
            lines: out.values.map((v) => ({
              field: v.pointer,
              text: v.expression,
              value: v.error ? v.error : show(v.value),
              failed: !!v.error,
            })),
          });
        },
        (err: unknown) => {
          if (stale) return;
          const why = err instanceof ApiError ? err.message : String(err);
          setPreview({ executionId: null, lines: [{ field: "", text: "", value: why, failed: true }] });
        },
      );
    }, 250);
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [workflowId, key, executionId, refresh]);

  return preview;
}
