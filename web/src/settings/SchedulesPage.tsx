import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { api, type WorkflowOut } from "../api";
import { atLeast, useAuth } from "../auth";
import { when } from "./RequireRole";
import { describe, settingsApi, type Schedule } from "./settingsApi";

function state(s: Schedule): string {
  if (!s.enabled) return "off (workflow not published)";
  return s.paused ? "paused" : "active";
}

/** /settings/schedules: the cron triggers of published workflows, next fire times, pause. */
export function SchedulesPage() {
  const { me } = useAuth();
  const canEdit = atLeast(me, "editor");
  const [items, setItems] = useState<Schedule[]>([]);
  const [workflows, setWorkflows] = useState<WorkflowOut[]>([]);
  const [error, setError] = useState("");

  const load = useCallback(() => {
    settingsApi.schedules().then(setItems, (e) => setError(describe(e)));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    api.workflows(true).then(setWorkflows, () => undefined);
  }, []);
  const nameOf = (id: string) => workflows.find((w) => w.id === id)?.name ?? id;

  async function act(run: () => Promise<unknown>) {
    setError("");
    try {
      await run();
    } catch (err) {
      setError(describe(err));
    }
    load();
  }

  return (
    <section className="page">
      <div className="page-head">
        <h1>Schedules</h1>
        <span className="muted small">
          Schedules follow the published versions of workflows with a Schedule trigger.
        </span>
      </div>
      {error && <pre role="alert" className="error">{error}</pre>}
      <table className="list" aria-label="Schedules">
        <thead>
          <tr>
            <th>Workflow</th>
            <th>Trigger</th>
            <th>Cron</th>
            <th>Next fire</th>
            <th>Last fired</th>
            <th>State</th>
            <th>Missed ticks</th>
            <th><span className="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => {
            const label = `${nameOf(s.workflow_id)} ${s.node_id}`;
            return (
              <tr key={s.id}>
                <td><Link to={`/editor/${s.workflow_id}`}>{nameOf(s.workflow_id)}</Link></td>
                <td>{s.node_id}</td>
                <td><code>{s.cron}</code> <span className="muted small">{s.timezone}</span></td>
                <td aria-label={`Next fire of ${label}`}>
                  {s.enabled && !s.paused ? when(s.next_fire_at) : "—"}
                </td>
                <td>{when(s.last_fired_at)}</td>
                <td aria-label={`State of ${label}`}>{state(s)}</td>
                <td>
                  <select aria-label={`Missed ticks of ${label}`} value={s.missed_policy}
                    disabled={!canEdit}
                    onChange={(e) => void act(() => settingsApi.setMissedPolicy(s.id, e.target.value as "skip" | "run_once"))}>
                    <option value="skip">skip</option>
                    <option value="run_once">run once</option>
                  </select>
                </td>
                <td className="actions">
                  <button type="button" disabled={!canEdit}
                    aria-label={`${s.paused ? "Resume" : "Pause"} ${label}`}
                    onClick={() => void act(() => settingsApi.setPaused(s.id, !s.paused))}>
                    {s.paused ? "Resume" : "Pause"}
                  </button>
                </td>
              </tr>
            );
          })}
          {items.length === 0 && (
            <tr><td colSpan={8} className="muted">No schedules: publish a workflow with a Schedule trigger.</td></tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
