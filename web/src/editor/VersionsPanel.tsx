import { useEffect, useState } from "react";
import { api, type VersionSummary } from "../api";
import { diffDefinitions, type DiffLine } from "./diff";

export function VersionsPanel(props: {
  workflowId: string;
  refreshKey: number;
  canEdit: boolean;
  onRestore: (number: number) => Promise<void>;
  onPublish: (number: number) => Promise<void>;
  onClose: () => void;
}) {
  const [versions, setVersions] = useState<VersionSummary[]>([]);
  const [picked, setPicked] = useState<number[]>([]);
  const [diff, setDiff] = useState<{ a: number; b: number; lines: DiffLine[] } | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    api.versions(props.workflowId).then(setVersions, (e) => setError(String(e)));
  }, [props.workflowId, props.refreshKey]);

  function toggle(n: number) {
    setPicked((p) => (p.includes(n) ? p.filter((x) => x !== n) : [...p, n].slice(-2)));
  }

  async function compare() {
    const [x, y] = [...picked].sort((m, n) => m - n);
    const [va, vb] = await Promise.all([api.version(props.workflowId, x), api.version(props.workflowId, y)]);
    setDiff({ a: x, b: y, lines: diffDefinitions(va.definition, vb.definition) });
  }

  return (
    <aside className="versions" role="dialog" aria-label="Version history">
      <div className="pv-head">
        <h2>Version history</h2>
        <button type="button" aria-label="Close version history" onClick={props.onClose}>Close</button>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      <ul>
        {versions.map((v) => (
          <li key={v.id}>
            <label className="inline">
              <input type="checkbox" checked={picked.includes(v.number)} onChange={() => toggle(v.number)}
                aria-label={`Pick version ${v.number} for diff`} />
              <b>v{v.number}</b>
            </label>
            {v.published && <span className="tag pub">published</span>}
            <span className="muted"> {new Date(v.created_at).toLocaleString()} {v.note}</span>
            {props.canEdit && (
              <span className="actions">
                <button type="button" aria-label={`Restore version ${v.number}`} onClick={() => void props.onRestore(v.number)}>Restore</button>
                {!v.published && (
                  <button type="button" aria-label={`Publish version ${v.number}`} onClick={() => void props.onPublish(v.number)}>Publish</button>
                )}
              </span>
            )}
          </li>
        ))}
      </ul>
      <button type="button" disabled={picked.length !== 2} aria-label="Compare the two picked versions"
        onClick={() => void compare()}>Compare</button>
      {diff && (
        <div className="diff" aria-label={`Diff of v${diff.a} and v${diff.b}`} role="region">
          <h3>v{diff.a} → v{diff.b}</h3>
          {!diff.lines.length && <p className="muted">No differences.</p>}
          {diff.lines.map((l, i) => (
            <div key={i} className={`diff-line d-${l.kind === "+" ? "add" : l.kind === "-" ? "del" : "chg"}`}>
              <span>{l.kind}</span> <code>{l.path}</code> {l.text}
            </div>
          ))}
        </div>
      )}
    </aside>
  );
}
