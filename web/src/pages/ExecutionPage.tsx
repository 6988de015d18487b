import { useShallow } from "zustand/react/shallow";
import { ReactFlowProvider } from "@xyflow/react";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError, api } from "../api";
import { atLeast, useAuth } from "../auth";
import { Canvas } from "../editor/Canvas";
import { Inspector } from "../editor/Inspector";
import { JsonTree } from "../editor/JsonView";
import { useExecution } from "../editor/run";
import { useEditor } from "../editor/store";

function Replay({ executionId }: { executionId: string }) {
  const { me } = useAuth();
  const canEdit = atLeast(me, "editor");
  const navigate = useNavigate();
  const { execution, nodeRuns, reload } = useExecution(executionId);
  const [loadedVersion, setLoadedVersion] = useState("");
  const [error, setError] = useState("");
  const [payload, setPayload] = useState('{"approved": true}');
  const selected = useEditor(useShallow((s) => s.nodes.filter((n) => n.selected)));
  const runs = useEditor((s) => s.runs);

  useEffect(() => {
    if (!execution || loadedVersion === execution.version_id) return;
    (async () => {
      const [types, versions] = await Promise.all([api.nodes(), api.versions(execution.workflow_id)]);
      const v = versions.find((x) => x.id === execution.version_id);
      if (!v) throw new Error("the execution's version is gone");
      const full = await api.version(execution.workflow_id, v.number);
      const runs = useEditor.getState().runs;
      useEditor.getState().load(full.definition, Object.fromEntries(types.map((t) => [t.type, t])), true);
      useEditor.getState().setRuns(runs);
      setLoadedVersion(execution.version_id);
    })().catch((err) => setError(String(err)));
  }, [execution, loadedVersion]);

  async function act(what: "cancel" | "retry" | "resume") {
    setError("");
    try {
      if (what === "cancel") await api.cancel(executionId);
      if (what === "resume") await api.resume(executionId, JSON.parse(payload));
      if (what === "retry") {
        const ex = await api.retry(executionId);
        navigate(`/runs/${ex.id}`);
        return;
      }
      reload();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  }

  const single = selected.length === 1 ? selected[0] : null;
  const st = execution?.status;
  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Execution toolbar">
        <Link to="/runs" aria-label="Back to executions">←</Link>
        <b>Execution {executionId.slice(0, 8)}</b>
        {execution && (
          <>
            <span className={`badge st-${st}`} data-testid="execution-status">{st}</span>
            <Link to={`/editor/${execution.workflow_id}`} aria-label="Open workflow in editor">Open workflow</Link>
            <span className="muted small">
              {execution.trigger_type} · {execution.tokens_in + execution.tokens_out} tokens · ${execution.cost_usd.toFixed(4)}
            </span>
          </>
        )}
        <div className="spacer" />
        {canEdit && execution && ["queued", "running", "waiting"].includes(st ?? "") && (
          <button type="button" aria-label="Cancel execution" onClick={() => void act("cancel")}>Cancel</button>
        )}
        {canEdit && execution && ["succeeded", "failed", "cancelled"].includes(st ?? "") && (
          <button type="button" aria-label="Retry execution" onClick={() => void act("retry")}>Retry</button>
        )}
      </div>
      {error && <div className="statusline"><span role="alert" className="error">{error}</span></div>}
      {execution?.error && (
        <div className="statusline"><span role="alert" className="error">
          {typeof execution.error.message === "string" ? execution.error.message : JSON.stringify(execution.error)}
        </span></div>
      )}
      {canEdit && st === "waiting" && (
        <div className="run-input" role="group" aria-label="Resume waiting execution">
          <h3>Waiting for input</h3>
          {execution?.waiting_payload && <JsonTree value={execution.waiting_payload} />}
          <textarea aria-label="Resume payload JSON" rows={3} value={payload} onChange={(e) => setPayload(e.target.value)} />
          <button type="button" aria-label="Resume execution" onClick={() => void act("resume")}>Resume</button>
        </div>
      )}
      <div className="editor-body no-palette">
        <Canvas onRefused={() => undefined} readOnly />
        <aside className="side" aria-label="Node run details">
          {single ? (
            <>
              <h2>{single.id}</h2>
              <Inspector nodeId={single.id} run={nodeRuns[single.id]} state={runs[single.id]}
                params={single.data.spec.params ?? {}} />
              {!nodeRuns[single.id] && !runs[single.id] && <p className="muted">This node did not run.</p>}
            </>
          ) : (
            <div className="muted side-help">
              Select a node to see its input and output.
              {execution?.result && (<><h3>Result</h3><JsonTree value={execution.result} /></>)}
              <h3>Trigger item</h3>
              {execution && <JsonTree value={execution.trigger} />}
            </div>
          )}
        </aside>
      </div>
    </div>
  );
}

export function ExecutionPage() {
  const { executionId } = useParams();
  if (!executionId) return null;
  return (
    <ReactFlowProvider>
      <Replay key={executionId} executionId={executionId} />
    </ReactFlowProvider>
  );
}
