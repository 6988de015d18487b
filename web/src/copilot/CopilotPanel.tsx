// The copilot inside the editor: generate a draft onto the canvas, edit by an instruction (the
// JSON Patch shown as marks on the canvas, accepted or rejected), refinement threads.
import { useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, type Definition, type VersionOut } from "../api";
import { tidy } from "../editor/layout";
import { useEditor } from "../editor/store";
import {
  copilot,
  type CopilotStatus,
  type EditOut,
  type GenerateOut,
  type ThreadMessage,
  type ThreadOut,
} from "./api";
import { diffView, edgeKey, withPreviewPositions, type DiffView } from "./diff";
import { useDiffMarks } from "./marks";
import { applyPatch } from "./patch";
import "./copilot.css";

interface Review {
  out: EditOut;
  base: Definition;
  view: DiffView;
}

function messageOf(err: unknown): string {
  if (err instanceof ApiError) {
    const problems = err.problems.slice(0, 5).map((p) => `${p.pointer || "/"}: ${p.message}`);
    return [err.message, ...problems].join("\n");
  }
  return String(err);
}

/** The summary of a generated draft and what is still to do (credentials, problems). */
export function DraftReport({ out }: { out: GenerateOut }) {
  return (
    <div className="copilot-report" data-testid="copilot-summary">
      <p>{out.summary}</p>
      {out.missing_credentials.length > 0 && (
        <>
          <h4>Still to do</h4>
          <ul aria-label="Remaining problems">
            {out.missing_credentials.map((m) => (
              <li key={`${m.node_id}:${m.credential_type}`}>
                Node <code>{m.node_id}</code> needs a <b>{m.credential_type}</b> credential
              </li>
            ))}
          </ul>
        </>
      )}
      {out.explanations.length > 0 && (
        <details>
          <summary>What each node does</summary>
          <ul>
            {out.explanations.map((e) => (
              <li key={e.node_id}>
                <code>{e.node_id}</code>: {e.explanation}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

export function CopilotPanel(props: {
  workflowId: string;
  latestVersion: number | null;
  canEdit: boolean;
  dirty: boolean;
  initial?: GenerateOut | null;
  onVersion: (v: VersionOut, note: string) => void;
  /** A change is under review (the canvas shows the merged preview: nothing may save it). */
  onReview: (active: boolean) => void;
  onClose: () => void;
}) {
  const { workflowId, latestVersion, canEdit, dirty, onVersion, onReview } = props;
  const flow = useReactFlow();
  const [status, setStatus] = useState<CopilotStatus | null>(null);
  const [prompt, setPrompt] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [draft, setDraft] = useState<GenerateOut | null>(props.initial ?? null);
  const [review, setReview] = useState<Review | null>(null);
  const [threads, setThreads] = useState<ThreadOut[]>([]);
  const [thread, setThread] = useState<string>("");
  const [history, setHistory] = useState<ThreadMessage[]>([]);
  const setMarks = useDiffMarks((s) => s.setMarks);
  useEffect(() => onReview(review !== null), [review, onReview]);

  useEffect(() => {
    copilot.status().then(setStatus, (e) => setError(messageOf(e)));
    copilot.threads(workflowId).then(setThreads, () => undefined);
  }, [workflowId]);

  useEffect(() => {
    if (!thread) {
      setHistory([]);
      return;
    }
    copilot.messages(workflowId, thread).then(setHistory, (e) => setError(messageOf(e)));
  }, [workflowId, thread]);

  // closing the panel with a change under review drops the change (the saved version returns)
  const reviewRef = useRef<Review | null>(null);
  reviewRef.current = review;
  useEffect(
    () => () => {
      const open = reviewRef.current;
      if (open) {
        const s = useEditor.getState();
        s.load(open.base, s.catalog, false);
      }
      setMarks({});
    },
    [setMarks],
  );

  const layOut = useCallback(async () => {
    const s = useEditor.getState();
    s.setPositions(await tidy(s.nodes, s.edges));
    requestAnimationFrame(() => void flow.fitView({ duration: 200 }));
  }, [flow]);

  // a draft generated from the workflows page: lay it out once its nodes are on the canvas
  const nodeCount = useEditor((s) => s.nodes.length);
  const [laidOut, setLaidOut] = useState(props.initial == null);
  useEffect(() => {
    if (laidOut || nodeCount === 0) return;
    setLaidOut(true);
    void layOut();
  }, [laidOut, nodeCount, layOut]);

  const fail = (err: unknown) => {
    if (err instanceof ApiError && err.status === 503) {
      setStatus({ configured: false, model: null, detail: err.message });
    }
    setError(messageOf(err));
  };

  async function generate() {
    setBusy(true);
    setError("");
    try {
      const out = await copilot.generate(prompt, true);
      const s = useEditor.getState();
      s.load(out.definition, s.catalog, false);
      s.commit(); // a draft on the canvas: unsaved until the user saves it
      setDraft(out);
      await layOut();
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  }

  function show(out: EditOut, base: Definition) {
    // the marks follow the patch itself (the server's result also fills in defaults)
    let proposed = out.definition;
    try {
      proposed = applyPatch(base, out.patch);
    } catch {
      /* a patch this client cannot replay: compare with the server's result */
    }
    const view = diffView(base, proposed);
    const s = useEditor.getState();
    s.load(view.merged, s.catalog, true);
    useEditor.setState({
      edges: useEditor.getState().edges.map((e) => {
        const mark =
          view.edgeMarks[
            edgeKey({
              source: e.source,
              target: e.target,
              source_port: e.sourceHandle ?? "main",
              target_port: e.targetHandle ?? "main",
            })
          ];
        return mark ? { ...e, className: `diff-edge-${mark}`, animated: mark === "added" } : e;
      }),
    });
    setMarks(view.marks);
    setReview({ out, base, view });
    requestAnimationFrame(() => void flow.fitView({ duration: 200 }));
  }

  async function edit() {
    if (!latestVersion) return;
    setBusy(true);
    setError("");
    try {
      const out = thread
        ? await copilot.turn(workflowId, thread, prompt)
        : await copilot.edit(workflowId, prompt);
      const base = await api.version(workflowId, out.base_version);
      show(out, base.definition);
      if (thread) setHistory(await copilot.messages(workflowId, thread));
      setPrompt("");
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  }

  async function accept() {
    if (!review) return;
    setBusy(true);
    setError("");
    try {
      const v = await copilot.patch(
        workflowId,
        review.out.base_version,
        review.out.patch,
        review.out.summary,
      );
      const s = useEditor.getState();
      s.load(withPreviewPositions(v.definition, review.view), s.catalog, false);
      setMarks({});
      setReview(null);
      onVersion(v, review.out.summary);
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  }

  function reject() {
    if (!review) return;
    const s = useEditor.getState();
    s.load(review.base, s.catalog, false);
    setMarks({});
    setReview(null);
  }

  async function newThread() {
    try {
      const t = await copilot.openThread(workflowId, prompt.slice(0, 80));
      setThreads((ts) => [t, ...ts]);
      setThread(t.id);
    } catch (err) {
      fail(err);
    }
  }

  const ready = status?.configured === true;
  const blocked = !canEdit || busy || !!review;

  return (
    <aside className="copilot" role="dialog" aria-label="Copilot">
      <div className="pv-head">
        <h2>Copilot</h2>
        <button type="button" aria-label="Close copilot" onClick={props.onClose}>Close</button>
      </div>
      {status && !status.configured && (
        <p className="copilot-hint" role="note" data-testid="copilot-not-configured">
          {status.detail}
        </p>
      )}
      {error && (
        <p role="alert" className="error pre">
          {error}
        </p>
      )}
      {review ? (
        <div className="copilot-review" role="region" aria-label="Proposed change">
          <h3>Proposed change</h3>
          <p data-testid="copilot-change-summary">{review.out.summary}</p>
          <ul className="diff-legend" aria-label="Changed nodes">
            {Object.entries(review.view.marks).map(([id, m]) => (
              <li key={id} className={`diff-${m.kind}`}>
                {m.kind} <code>{id}</code>
                {m.fields.length ? `: ${m.fields.join(", ")}` : ""}
              </li>
            ))}
            {Object.entries(review.view.edgeMarks).map(([key, kind]) => (
              <li key={key} className={`diff-${kind}`}>
                {kind} edge <code>{key}</code>
              </li>
            ))}
          </ul>
          <details>
            <summary>JSON Patch ({review.out.patch.length} operations)</summary>
            <pre>{JSON.stringify(review.out.patch, null, 2)}</pre>
          </details>
          <div className="row">
            <button type="button" className="primary" disabled={busy} onClick={() => void accept()}>
              Accept change
            </button>
            <button type="button" disabled={busy} onClick={reject}>
              Reject change
            </button>
          </div>
        </div>
      ) : (
        ready && (
          <div className="copilot-form">
            <label>
              {thread ? "Next instruction in this thread" : "Describe what you want"}
              <textarea
                aria-label="Copilot prompt"
                rows={4}
                value={prompt}
                disabled={blocked}
                placeholder="e.g. every morning, fetch the orders and post a summary to Slack"
                onChange={(e) => setPrompt(e.target.value)}
              />
            </label>
            <div className="row">
              <button
                type="button"
                disabled={blocked || !prompt.trim() || !!thread}
                title="Replace the canvas with a new draft"
                onClick={() => void generate()}
              >
                Generate
              </button>
              <button
                type="button"
                className="primary"
                disabled={blocked || !prompt.trim() || dirty || !latestVersion}
                title={dirty ? "Save first: the copilot changes the saved version" : ""}
                onClick={() => void edit()}
              >
                Edit with instruction
              </button>
              {busy && <span className="muted small" role="status">Thinking…</span>}
            </div>
            {dirty && canEdit && (
              <p className="muted small">Save your changes to edit them with the copilot.</p>
            )}
          </div>
        )
      )}
      {draft && !review && <DraftReport out={draft} />}
      <section className="copilot-threads" aria-label="Refinement threads">
        <h3>Threads</h3>
        <div className="row">
          <select
            aria-label="Copilot thread"
            value={thread}
            onChange={(e) => setThread(e.target.value)}
          >
            <option value="">No thread (one-off edits)</option>
            {threads.map((t) => (
              <option key={t.id} value={t.id}>
                {t.title || t.id.slice(0, 8)}
              </option>
            ))}
          </select>
          <button type="button" disabled={!canEdit || !ready} onClick={() => void newThread()}>
            New thread
          </button>
        </div>
        {history.length > 0 && (
          <ol className="copilot-history" aria-label="Thread messages">
            {history.map((m, i) => (
              <li key={i} className={`from-${m.role}`}>
                <b>{m.role === "user" ? "You" : "Copilot"}:</b> {m.content}
              </li>
            ))}
          </ol>
        )}
      </section>
    </aside>
  );
}
