import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, type ExecutionOut, type WorkflowOut } from "../api";

const STATUSES = ["queued", "running", "waiting", "succeeded", "failed", "cancelled"];
const LIVE = new Set(["queued", "running"]);
/** While a listed run is queued or running, the page asks again this often (there is no
 * workspace-wide event stream; one request per tick, and none once every run has ended). */
export const POLL_MS = 1500;

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const workflow = params.get("workflow") ?? "";
  const statuses = params.getAll("status");
  const since = params.get("since") ?? "";
  const until = params.get("until") ?? "";
  const [workflows, setWorkflows] = useState<WorkflowOut[]>([]);
  const [items, setItems] = useState<ExecutionOut[]>([]);
  const [cursors, setCursors] = useState<string[]>([""]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState("");
  const [tick, setTick] = useState(0);
  const cursor = cursors[cursors.length - 1];
  const key = params.toString();
  const live = items.some((ex) => LIVE.has(ex.status));

  useEffect(() => {
    api.workflows(true).then(setWorkflows, () => undefined);
  }, []);
  useEffect(() => setCursors([""]), [key]);
  useEffect(() => {
    let stale = false; // an older filter's answer arriving late must not win
    api
      .executions({
        workflow_id: workflow || undefined,
        status: statuses.length ? statuses : undefined,
        since: toIso(since),
        until: toIso(until),
        cursor: cursor || undefined,
        limit: 25,
      })
      .then(
        (page) => {
          if (stale) return;
          setItems(page.items);
          setNext(page.next_cursor);
          setError("");
        },
        (err) => {
          if (!stale) setError(err instanceof ApiError ? err.message : String(err));
        },
      );
    return () => {
      stale = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, cursor, tick]);

  // live: ask again while a listed run has not ended (paused while the tab is hidden)
  useEffect(() => {
    if (!live) return;
    const timer = window.setTimeout(() => {
      if (document.visibilityState === "visible") setTick((t) => t + 1);
      else document.addEventListener("visibilitychange", () => setTick((t) => t + 1), { once: true });
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [live, tick, items]);

  function update(name: string, value: string | string[]) {
    const p = new URLSearchParams(params);
    p.delete(name);
    for (const v of Array.isArray(value) ? value : [value]) if (v) p.append(name, v);
    setParams(p);
  }

  const names = Object.fromEntries(workflows.map((w) => [w.id, w.name]));

  return (
    <section className="page">
      <div className="page-head">
        <h1>Executions</h1>
        {live && <span className="muted small" role="status" data-testid="live">updating live</span>}
      </div>
      <form className="filters" aria-label="Filter executions" onSubmit={(e) => e.preventDefault()}>
        <label>
          Workflow
          <select aria-label="Workflow filter" value={workflow} onChange={(e) => update("workflow", e.target.value)}>
            <option value="">all</option>
            {workflows.map((w) => <option key={w.id} value={w.id}>{w.name}</option>)}
          </select>
        </label>
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((s) => (
            <label key={s} className="inline">
              <input type="checkbox" aria-label={`Status ${s}`} checked={statuses.includes(s)}
                onChange={(e) => update("status", e.target.checked ? [...statuses, s] : statuses.filter((x) => x !== s))} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Since
          <input type="datetime-local" aria-label="Since" value={since} onChange={(e) => update("since", e.target.value)} />
        </label>
        <label>
          Until
          <input type="datetime-local" aria-label="Until" value={until} onChange={(e) => update("until", e.target.value)} />
        </label>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      <table className="list" aria-label="Executions">
        <thead>
          <tr><th>Execution</th><th>Workflow</th><th>Status</th><th>Trigger</th><th>Started</th><th>Duration</th><th>Tokens / cost</th></tr>
        </thead>
        <tbody>
          {items.map((ex) => (
            <tr key={ex.id} data-status={ex.status}>
              <td><Link to={`/runs/${ex.id}`} aria-label={`Open execution ${ex.id}`}>{ex.id.slice(0, 8)}</Link></td>
              <td>{names[ex.workflow_id] ?? ex.workflow_id.slice(0, 8)}</td>
              <td><span className={`badge st-${ex.status}`}>{ex.status}</span></td>
              <td>{ex.trigger_type}</td>
              <td>{new Date(ex.created_at).toLocaleString()}</td>
              <td>{ex.started_at && ex.finished_at ? `${(new Date(ex.finished_at).getTime() - new Date(ex.started_at).getTime())} ms` : "–"}</td>
              <td>{ex.tokens_in + ex.tokens_out} · ${ex.cost_usd.toFixed(4)}</td>
            </tr>
          ))}
          {!items.length && <tr><td colSpan={7} className="muted">No executions match.</td></tr>}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" aria-label="Previous page" disabled={cursors.length < 2}
          onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
        <span className="muted">page {cursors.length}</span>
        <button type="button" aria-label="Next page" disabled={!next}
          onClick={() => next && setCursors((c) => [...c, next])}>Next</button>
      </div>
    </section>
  );
}
