import type { NodeRunOut } from "../api";
import { JsonTree, PortsView } from "./JsonView";
import type { NodeRunState } from "./store";

export function Inspector({ nodeId, run, state, params }: {
  nodeId: string;
  run: NodeRunOut | undefined;
  state: NodeRunState | undefined;
  params: Record<string, unknown>;
}) {
  if (!run && !state) return null;
  const status = run?.status ?? state?.status;
  const error = run?.error ?? (state?.error ? { message: state.error } : null);
  return (
    <section className="inspector" aria-label={`Run of ${nodeId}`}>
      <h3>
        Run · <span className={`badge st-${status}`}>{status}</span>
      </h3>
      {run && (
        <dl className="metrics">
          <dt>Duration</dt><dd>{run.duration_ms != null ? `${run.duration_ms.toFixed(1)} ms` : "–"}</dd>
          <dt>Attempts</dt><dd>{run.attempt}</dd>
          <dt>Tokens</dt><dd>{run.tokens_in} in / {run.tokens_out} out</dd>
          <dt>Cost</dt><dd>${run.cost_usd.toFixed(6)}</dd>
        </dl>
      )}
      {error && (
        <div className="run-error" role="alert">
          <b>Error:</b> {typeof error.message === "string" ? error.message : JSON.stringify(error)}
          <details>
            <summary>Parameters of the failed node</summary>
            <JsonTree value={params} />
          </details>
        </div>
      )}
      {run && <PortsView label="Input" ports={run.input} />}
      {run && <PortsView label="Output" ports={run.output} />}
      {run?.output_truncated && <p className="muted">Output truncated to the size limit.</p>}
    </section>
  );
}
