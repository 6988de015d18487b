import { useShallow } from "zustand/react/shallow";
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useLocation, useParams } from "react-router-dom";
import {
  ApiError,
  api,
  type CredentialOut,
  type NodeType,
  type WorkflowOut,
} from "../api";
import { atLeast, useAuth } from "../auth";
import { CopilotPanel } from "../copilot/CopilotPanel";
import type { GeneratedState } from "../copilot/DescribeWorkflow";
import { Canvas } from "../editor/Canvas";
import { Inspector } from "../editor/Inspector";
import { tidy } from "../editor/layout";
import { Palette } from "../editor/Palette";
import { ParamsPanel } from "../editor/ParamsPanel";
import { useServerPreview } from "../editor/preview";
import { useExecution } from "../editor/run";
import { useEditor } from "../editor/store";
import { VersionsPanel } from "../editor/VersionsPanel";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  const tag = el.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
}

function Editor({ workflowId }: { workflowId: string }) {
  const { me } = useAuth();
  const canEdit = atLeast(me, "editor");
  const flow = useReactFlow();
  const [workflow, setWorkflow] = useState<WorkflowOut | null>(null);
  const [catalog, setCatalog] = useState<NodeType[]>([]);
  const [credentials, setCredentials] = useState<CredentialOut[]>([]);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const [loadMs, setLoadMs] = useState<number | null>(null);
  const [showVersions, setShowVersions] = useState(false);
  const [versionsKey, setVersionsKey] = useState(0);
  const [pasteOpen, setPasteOpen] = useState(false);
  const [pasteText, setPasteText] = useState("");
  const [runInput, setRunInput] = useState<{ schema: RJSFSchema; data: Record<string, unknown> } | null>(null);
  const [executionId, setExecutionId] = useState<string | null>(null);
  const clipboard = useRef<string>("");
  const generated = (useLocation().state as GeneratedState | null)?.generated ?? null;
  const [showCopilot, setShowCopilot] = useState(generated != null);
  const [reviewing, setReviewing] = useState(false);

  const name = useEditor((s) => s.name);
  const setName = useEditor((s) => s.setName);
  const dirty = useEditor((s) => s.dirty);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const problems = useEditor((s) => s.problems);
  const selected = useEditor(useShallow((s) => s.nodes.filter((n) => n.selected)));
  const nodeCount = useEditor((s) => s.nodes.length);
  const runs = useEditor((s) => s.runs);
  const store = useEditor;
  const { execution, nodeRuns } = useExecution(executionId);
  // the list says which version is the latest: fetch it beside the workflow, not after it
  const hinted = (useLocation().state as { latest?: number | null } | null)?.latest ?? null;
  const latestHint = useRef(hinted);

  // load: catalog, credentials, workflow and its latest version
  useEffect(() => {
    const started = performance.now();
    let cancelled = false;
    const hint = latestHint.current;
    Promise.all([
      api.nodes(),
      api.workflow(workflowId),
      api.credentials().catch(() => []),
      hint ? api.version(workflowId, hint).catch(() => null) : null,
    ])
      .then(async ([types, wf, creds, early]) => {
        const latest = wf.latest_version;
        const version =
          early && early.number === latest ? early : latest ? await api.version(workflowId, latest) : null;
        if (cancelled) return;
        const fetched = performance.now();
        document.body.dataset.editorFetchMs = (fetched - started).toFixed(1);
        setCatalog(types);
        setCredentials(creds);
        setWorkflow(wf);
        const byType = Object.fromEntries(types.map((t) => [t.type, t]));
        store.getState().load(
          version?.definition ?? { name: wf.name, nodes: [], edges: [] },
          byType,
          !atLeast(me, "editor"),
        );
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            const ms = performance.now() - started;
            setLoadMs(ms);
            document.body.dataset.editorLoadMs = ms.toFixed(1);
          }),
        );
      })
      .catch((err) => setError(err instanceof ApiError ? err.message : String(err)));
    return () => {
      cancelled = true;
    };
  }, [workflowId, store, me]);

  // live validation, debounced: a store subscription, so the page itself does not re-render on
  // every change of the nodes (measuring 200 nodes on open is 200 changes)
  const loaded = workflow != null;
  useEffect(() => {
    if (!loaded) return;
    let timer: number | undefined;
    const unsubscribe = store.subscribe((s, prev) => {
      if (!s.dirty) return;
      const changed = s.nodes !== prev.nodes || s.edges !== prev.edges || s.name !== prev.name || !prev.dirty;
      if (!changed) return;
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        const def = store.getState().toDefinition();
        const ids = def.nodes.map((n) => n.id);
        api.validate(def).then(
          (v) => store.getState().setProblems(v.problems, ids),
          () => undefined,
        );
      }, 500);
    });
    return () => {
      unsubscribe();
      window.clearTimeout(timer);
    };
  }, [loaded, store]);

  const save = useCallback(async (): Promise<number | null> => {
    setError("");
    const def = store.getState().toDefinition();
    const ids = def.nodes.map((n) => n.id);
    try {
      const v = await api.saveVersion(workflowId, def);
      store.getState().setProblems([], ids);
      store.getState().markSaved();
      setWorkflow((w) => (w ? { ...w, latest_version: v.number, name: def.name } : w));
      setStatus(v.created ? `Saved as version ${v.number}` : `No changes since version ${v.number}`);
      setVersionsKey((k) => k + 1);
      return v.number;
    } catch (err) {
      if (err instanceof ApiError) {
        store.getState().setProblems(err.problems, ids);
        setError(
          err.status === 403
            ? "Your role cannot save workflows (403)."
            : err.problems.length
              ? `Not saved: ${err.problems.length} problem(s); see the marked nodes.`
              : err.message,
        );
      } else setError(String(err));
      return null;
    }
  }, [workflowId, store]);

  const publish = useCallback(
    async (number?: number) => {
      const n = number ?? (dirty || !workflow?.latest_version ? await save() : workflow.latest_version);
      if (!n) return;
      try {
        const wf = await api.publish(workflowId, n);
        setWorkflow(wf);
        setStatus(`Published version ${n}`);
        setVersionsKey((k) => k + 1);
      } catch (err) {
        setError(err instanceof ApiError ? err.message : String(err));
      }
    },
    [dirty, workflow, save, workflowId],
  );

  const restore = useCallback(
    async (number: number) => {
      const v = await api.version(workflowId, number);
      store.getState().load(v.definition, store.getState().catalog, !canEdit);
      store.getState().commit();
      const saved = await api.saveVersion(workflowId, v.definition, `restore of v${number}`);
      store.getState().markSaved();
      setWorkflow((w) => (w ? { ...w, latest_version: saved.number } : w));
      setStatus(`Restored v${number} as version ${saved.number}`);
      setVersionsKey((k) => k + 1);
    },
    [workflowId, store, canEdit],
  );

  const startRun = useCallback(
    async (input: Record<string, unknown>) => {
      setRunInput(null);
      const n = dirty || !workflow?.latest_version ? await save() : workflow.latest_version;
      if (!n) return;
      const queued = Object.fromEntries(store.getState().nodes.map((nd) => [nd.id, { status: "queued" as const }]));
      store.getState().setRuns(queued);
      try {
        const ex = await api.run(workflowId, input, n);
        setExecutionId(ex.id);
        setStatus(`Run started`);
      } catch (err) {
        store.getState().setRuns({});
        setError(err instanceof ApiError ? err.message : String(err));
      }
    },
    [dirty, workflow, save, workflowId, store],
  );

  const run = useCallback(() => {
    const manual = store.getState().nodes.find((n) => n.data.spec.type === "trigger.manual");
    const schema = manual?.data.spec.params?.input_schema;
    if (schema && typeof schema === "object") {
      setRunInput({ schema: schema as RJSFSchema, data: {} });
    } else void startRun({});
  }, [store, startRun]);

  const tidyUp = useCallback(async () => {
    const s = store.getState();
    const positions = await tidy(s.nodes, s.edges);
    s.setPositions(positions);
    requestAnimationFrame(() => void flow.fitView({ duration: 200 }));
  }, [store, flow]);

  const copy = useCallback(() => {
    const text = store.getState().copySelection();
    if (!text) return false;
    clipboard.current = text;
    void navigator.clipboard?.writeText(text).catch(() => undefined);
    setStatus(`Copied ${store.getState().nodes.filter((n) => n.selected).length} node(s) as JSON`);
    return true;
  }, [store]);

  const paste = useCallback(
    (text: string) => {
      const ids = store.getState().pasteText(text);
      setStatus(ids.length ? `Pasted ${ids.length} node(s): ${ids.join(", ")}` : "Nothing to paste: not a definition fragment");
    },
    [store],
  );

  // keyboard: undo/redo, copy/paste, save
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (isTyping(e.target)) return;
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const k = e.key.toLowerCase();
      if (k === "z" && !e.shiftKey && canEdit) {
        e.preventDefault();
        store.getState().undo();
      } else if ((k === "z" && e.shiftKey) || k === "y") {
        if (!canEdit) return;
        e.preventDefault();
        store.getState().redo();
      } else if (k === "s") {
        e.preventDefault();
        if (canEdit && !store.getState().readOnly) void save();
      } else if (k === "c") {
        if (copy()) e.preventDefault();
      } else if (k === "a") {
        e.preventDefault();
        store.getState().selectOnly(store.getState().nodes.map((n) => n.id));
      }
    }
    function onPaste(e: ClipboardEvent) {
      if (isTyping(e.target) || !canEdit) return;
      const text = e.clipboardData?.getData("text/plain") || clipboard.current;
      if (text) {
        e.preventDefault();
        paste(text);
      }
    }
    window.addEventListener("keydown", onKey);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKey);
      document.removeEventListener("paste", onPaste);
    };
  }, [store, save, copy, paste, canEdit]);

  const single = selected.length === 1 ? selected[0] : null;
  const preview = useServerPreview(
    workflowId,
    single ? { id: single.id, type: single.data.spec.type, params: single.data.spec.params ?? {} } : null,
    execution?.id ?? null,
    execution?.status,
  );
  const wideProblems = problems.filter((p) => !/^\/nodes\/\d+/.test(p.pointer));

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Editor toolbar">
        <Link to="/" aria-label="Back to workflows">←</Link>
        <input className="wf-name" aria-label="Workflow name" value={name} disabled={!canEdit}
          onChange={(e) => setName(e.target.value)} />
        <span className="muted small" data-testid="version-info">
          {workflow?.latest_version ? `v${workflow.latest_version}` : ""}
          {workflow?.published_version ? ` · published v${workflow.published_version}` : " · not published"}
          {dirty ? " · unsaved changes" : ""}
        </span>
        <div className="spacer" />
        <button type="button" aria-label="Undo" title="Undo (Ctrl+Z)" disabled={!canEdit || !canUndo}
          onClick={() => store.getState().undo()}>Undo</button>
        <button type="button" aria-label="Redo" title="Redo (Ctrl+Shift+Z)" disabled={!canEdit || !canRedo}
          onClick={() => store.getState().redo()}>Redo</button>
        <button type="button" aria-label="Delete selected" disabled={!canEdit || !selected.length}
          onClick={() => store.getState().deleteSelected()}>Delete</button>
        <button type="button" aria-label="Copy selected as JSON" disabled={!selected.length}
          onClick={() => copy()}>Copy</button>
        <button type="button" aria-label="Paste JSON" disabled={!canEdit}
          onClick={() => setPasteOpen((o) => !o)}>Paste…</button>
        <button type="button" aria-label="Tidy up" disabled={!canEdit || !nodeCount}
          onClick={() => void tidyUp()}>Tidy up</button>
        <button type="button" aria-label="Copilot" onClick={() => setShowCopilot((v) => !v)}>Copilot</button>
        <button type="button" aria-label="Version history" onClick={() => setShowVersions((v) => !v)}>History</button>
        <button type="button" aria-label="Save" title="Save (Ctrl+S)" disabled={!canEdit || reviewing}
          onClick={() => void save()}>Save</button>
        <button type="button" aria-label="Publish" disabled={!canEdit || reviewing} onClick={() => void publish()}>Publish</button>
        <button type="button" aria-label="Run" className="primary" disabled={!canEdit || reviewing}
          onClick={run}>Run</button>
      </div>
      {(status || error || loadMs != null) && (
        <div className="statusline">
          {status && <span role="status">{status}</span>}
          {error && <span role="alert" className="error">{error}</span>}
          {wideProblems.map((p, i) => (
            <span key={i} role="alert" className="error">{p.pointer || "/"}: {p.message}</span>
          ))}
          {execution && (
            <span data-testid="execution-status">
              Execution <Link to={`/runs/${execution.id}`}>{execution.id.slice(0, 8)}</Link>: <b>{execution.status}</b>
            </span>
          )}
        </div>
      )}
      {pasteOpen && (
        <div className="paste-box" role="dialog" aria-label="Paste definition JSON">
          <textarea aria-label="Definition fragment JSON" rows={6} value={pasteText}
            onChange={(e) => setPasteText(e.target.value)}
            placeholder='{"nodes": [...], "edges": [...]}' />
          <button type="button" aria-label="Add pasted nodes" onClick={() => {
            paste(pasteText);
            setPasteOpen(false);
            setPasteText("");
          }}>Add nodes</button>
        </div>
      )}
      {runInput && (
        <div className="run-input" role="dialog" aria-label="Run input">
          <h3>Input of the run</h3>
          <Form schema={runInput.schema} validator={validator} formData={runInput.data}
            onSubmit={(e) => void startRun((e.formData ?? {}) as Record<string, unknown>)}>
            <button type="submit" aria-label="Start run">Start run</button>
            <button type="button" aria-label="Cancel run input" onClick={() => setRunInput(null)}>Cancel</button>
          </Form>
        </div>
      )}
      <div className="editor-body">
        <Palette catalog={catalog} disabled={!canEdit}
          onAdd={(t) => {
            // click or Enter: the new node lands in the middle of what the canvas shows
            const box = document.querySelector(".canvas")?.getBoundingClientRect();
            const n = store.getState().nodes.length;
            const at = box
              ? flow.screenToFlowPosition({ x: box.x + box.width / 2, y: box.y + box.height / 2 })
              : undefined;
            store.getState().addNode(t, at && { x: at.x - 90 + (n % 5) * 24, y: at.y - 30 + (n % 5) * 24 });
          }} />
        <Canvas onRefused={(why) => setError(`Connection refused: ${why}`)} readOnly={!canEdit} />
        <aside className="side" aria-label="Node details">
          {single ? (
            <>
              <ParamsPanel key={single.id} node={single} credentials={credentials} me={me} readOnly={!canEdit}
                preview={preview} />
              <Inspector nodeId={single.id} run={nodeRuns[single.id]} state={runs[single.id]}
                params={single.data.spec.params ?? {}} />
            </>
          ) : (
            <div className="muted side-help">
              {selected.length > 1 ? `${selected.length} nodes selected.` : "Select a node to edit its parameters."}
              <p>Add nodes from the palette (click, or drag onto the canvas). Connect an output port (right) to an input port (left).</p>
              <p>Keys: Delete removes, Ctrl+C / Ctrl+V copy and paste as JSON, Ctrl+Z / Ctrl+Shift+Z undo and redo, Ctrl+S saves, Tab moves between nodes.</p>
              {loadMs != null && <p data-testid="load-ms">Opened {nodeCount} nodes in {loadMs.toFixed(0)} ms.</p>}
            </div>
          )}
        </aside>
        {showCopilot && workflow && (
          <CopilotPanel workflowId={workflowId} latestVersion={workflow.latest_version} canEdit={canEdit}
            dirty={dirty} initial={generated} onClose={() => setShowCopilot(false)} onReview={setReviewing}
            onVersion={(v, note) => {
              setWorkflow((w) => (w ? { ...w, latest_version: v.number } : w));
              setStatus(`Copilot change saved as version ${v.number}: ${note}`);
              setVersionsKey((k) => k + 1);
            }} />
        )}
        {showVersions && (
          <VersionsPanel workflowId={workflowId} refreshKey={versionsKey} canEdit={canEdit}
            onRestore={restore} onPublish={(n) => publish(n)} onClose={() => setShowVersions(false)} />
        )}
      </div>
    </div>
  );
}

export function EditorPage() {
  const { workflowId } = useParams();
  if (!workflowId) return null;
  return (
    <ReactFlowProvider>
      <Editor key={workflowId} workflowId={workflowId} />
    </ReactFlowProvider>
  );
}
