// "Describe a workflow" on the workflows page: the copilot generates a draft, saved as a new
// workflow, and the editor opens it with the copilot's summary.
import { useEffect, useState } from "react";
import { useNavigate } from "react-router-dom";
import { ApiError } from "../api";
import { copilot, type CopilotStatus, type GenerateOut } from "./api";
import "./copilot.css";

/** What the editor receives in its location state after a generation. */
export interface GeneratedState {
  generated: GenerateOut;
}

export function DescribeWorkflow({ onClose }: { onClose: () => void }) {
  const navigate = useNavigate();
  const [status, setStatus] = useState<CopilotStatus | null>(null);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  useEffect(() => {
    copilot.status().then(setStatus, (e) => setError(String(e)));
  }, []);

  async function generate() {
    setBusy(true);
    setError("");
    try {
      const out = await copilot.generate(text, false);
      if (!out.workflow) throw new Error("the copilot saved no workflow");
      const state: GeneratedState = { generated: out };
      navigate(`/editor/${out.workflow.id}`, { state });
    } catch (err) {
      if (err instanceof ApiError) {
        const problems = err.problems.slice(0, 5).map((p) => `${p.pointer || "/"}: ${p.message}`);
        setError([err.message, ...problems].join("\n"));
      } else setError(String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="describe-box" role="dialog" aria-label="Describe a workflow">
      {status && !status.configured ? (
        <p className="copilot-hint" role="note" data-testid="copilot-not-configured">
          {status.detail}
        </p>
      ) : (
        <>
          <textarea
            aria-label="Workflow description"
            rows={3}
            value={text}
            disabled={busy}
            placeholder="e.g. when a webhook receives an order, post it to Slack"
            onChange={(e) => setText(e.target.value)}
          />
          <div>
            <button
              type="button"
              className="primary"
              disabled={busy || !text.trim() || !status}
              onClick={() => void generate()}
            >
              Generate workflow
            </button>{" "}
            <button type="button" onClick={onClose}>
              Cancel
            </button>{" "}
            {busy && <span className="muted small" role="status">Generating…</span>}
          </div>
        </>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </div>
  );
}
