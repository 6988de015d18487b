// A run on the canvas: node statuses from the execution's SSE stream, then its node runs.
import { useEffect, useState } from "react";
import { api, type ExecutionOut, type NodeRunOut } from "../api";
import { useEditor, type NodeRunState } from "./store";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

function errorMessage(err: unknown): string | undefined {
  if (!err || typeof err !== "object") return undefined;
  const e = err as Record<string, unknown>;
  return typeof e.message === "string" ? e.message : JSON.stringify(e);
}

/** The last node run of each node, as canvas states. */
export function statesOf(runs: NodeRunOut[]): Record<string, NodeRunState> {
  const out: Record<string, NodeRunState> = {};
  for (const r of runs) {
    const status =
      r.status === "succeeded" || r.status === "failed" || r.status === "running"
        ? r.status
        : r.status === "interrupted"
          ? "waiting"
          : "running";
    out[r.node_id] = {
      status,
      duration_ms: r.duration_ms,
      tokens: r.tokens_in + r.tokens_out,
      cost_usd: r.cost_usd,
      error: errorMessage(r.error),
    };
  }
  return out;
}

/** Follows execution ``id`` live; returns the execution (with node runs) once known. */
export function useExecution(id: string | null): {
  execution: ExecutionOut | null;
  nodeRuns: Record<string, NodeRunOut>;
  reload: () => void;
} {
  const [execution, setExecution] = useState<ExecutionOut | null>(null);
  const [tick, setTick] = useState(0);
  const setRun = useEditor((s) => s.setRun);
  const setRuns = useEditor((s) => s.setRuns);

  useEffect(() => {
    if (!id) return;
    let closed = false;
    let source: EventSource | null = null;
    const fetchIt = () =>
      api.execution(id).then((ex) => {
        if (closed) return ex;
        setExecution(ex);
        const states = statesOf(ex.node_runs ?? []);
        if (!TERMINAL.has(ex.status)) {
          // keep nodes that have not started yet visibly queued
          const current = useEditor.getState().runs;
          for (const [k, v] of Object.entries(current)) if (!states[k]) states[k] = v;
        }
        setRuns(states);
        return ex;
      });
    void fetchIt().then((ex) => {
      if (closed || TERMINAL.has(ex.status)) return;
      source = new EventSource(`/executions/${id}/events`, { withCredentials: true });
      source.addEventListener("node.started", (ev) => {
        const d = JSON.parse((ev as MessageEvent).data) as { node_id: string };
        setRun(d.node_id, { status: "running" });
      });
      source.addEventListener("node.finished", (ev) => {
        const d = JSON.parse((ev as MessageEvent).data) as { node_id: string; duration_ms?: number };
        setRun(d.node_id, { status: "succeeded", duration_ms: d.duration_ms });
      });
      source.addEventListener("node.failed", (ev) => {
        const d = JSON.parse((ev as MessageEvent).data) as { node_id: string; error?: unknown };
        setRun(d.node_id, { status: "failed", error: errorMessage(d.error) });
      });
      source.addEventListener("execution.finished", (ev) => {
        // also sent when a run parks as "waiting"; the stream goes on after a resume
        const d = JSON.parse((ev as MessageEvent).data) as { status?: string };
        if (TERMINAL.has(d.status ?? "")) source?.close();
        void fetchIt();
      });
      source.onerror = () => {
        // the server closes the stream when the run ends; make sure we show the end
        if (source?.readyState === EventSource.CLOSED) void fetchIt();
      };
    });
    return () => {
      closed = true;
      source?.close();
    };
  }, [id, tick, setRun, setRuns]);

  const nodeRuns: Record<string, NodeRunOut> = {};
  for (const r of execution?.node_runs ?? []) nodeRuns[r.node_id] = r;
  return { execution, nodeRuns, reload: () => setTick((t) => t + 1) };
}
