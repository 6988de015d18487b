import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { useShallow } from "zustand/react/shallow";
import { useDiffMarks } from "../copilot/marks";
import { inputPorts, outputPorts } from "./ports";
import { useEditor, type FlowNode } from "./store";

function fmtMs(ms: number | null | undefined): string {
  if (ms == null) return "";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function RRNodeView({ id, data, selected }: NodeProps<FlowNode>) {
  const spec = data.spec;
  // one subscription per node (200 nodes: each store change runs 200 selectors, not 600)
  const { type, problems, run } = useEditor(
    useShallow((s) => ({ type: s.catalog[spec.type], problems: s.nodeProblems[id], run: s.runs[id] })),
  );
  const mark = useDiffMarks((s) => s.marks[id]);
  const params = spec.params ?? {};
  const ins = inputPorts(type, params);
  const outs = outputPorts(type, params);
  const status = run?.status ?? "";
  const label = spec.name || id;
  return (
    <div
      className={`rr-node ${selected ? "selected" : ""} ${status ? `st-${status}` : ""} ${problems?.length ? "has-problems" : ""} cat-${type?.category ?? "unknown"}${mark ? ` diff-${mark.kind}` : ""}`}
      data-node-id={id}
      data-diff={mark?.kind}
      data-status={status || undefined}
      aria-label={`Node ${label} (${type?.display_name ?? spec.type})${status ? `, ${status}` : ""}${problems?.length ? `, ${problems.length} problem(s)` : ""}`}
    >
      <div className="rr-node-head">
        <span className="rr-node-title">{label}</span>
        {status && <span className={`badge st-${status}`} data-testid="node-status">{status}</span>}
      </div>
      <div className="rr-node-type">{type?.display_name ?? spec.type}</div>
      {mark && (
        <div className="rr-node-diff" data-testid="node-diff">
          {mark.kind}
          {mark.fields.length ? `: ${mark.fields.join(", ")}` : ""}
        </div>
      )}
      {run && (run.duration_ms != null || run.tokens) ? (
        <div className="rr-node-metrics">
          {fmtMs(run.duration_ms)}
          {run.tokens ? ` · ${run.tokens} tok` : ""}
          {run.cost_usd ? ` · $${run.cost_usd.toFixed(4)}` : ""}
        </div>
      ) : null}
      {problems?.length ? (
        <div className="rr-node-problems" role="note" title={problems.map((p) => p.message).join("\n")}>
          ⚠ {problems.length} problem{problems.length > 1 ? "s" : ""}
        </div>
      ) : null}
      <div className="ports in">
        {ins.map((p, i) => (
          <div className="port" key={p} style={{ top: 28 + i * 18 }}>
            <Handle type="target" id={p} position={Position.Left} aria-label={`input ${p}`} />
            {(ins.length > 1 || p !== "main") && <span className="port-label">{p}</span>}
          </div>
        ))}
      </div>
      <div className="ports out">
        {outs.map((p, i) => (
          <div className="port" key={p} style={{ top: 28 + i * 18 }}>
            {(outs.length > 1 || p !== "main") && <span className="port-label">{p}</span>}
            <Handle type="source" id={p} position={Position.Right} aria-label={`output ${p}`} />
          </div>
        ))}
      </div>
      <div style={{ height: Math.max(0, Math.max(ins.length, outs.length) - 2) * 18 }} />
    </div>
  );
}

export const RRNode = memo(RRNodeView);
