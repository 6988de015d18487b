import Form from "@rjsf/core";
import type { ErrorSchema, RJSFSchema, UiSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import { useMemo, useState } from "react";
import type { CredentialOut, Me, NodeType } from "../api";
import { inputPorts, outputPorts } from "./ports";
import { EXPRESSION_WIDGETS } from "./exprWidgets";
import type { Preview } from "./preview";
import { errorSchemaOf, friendlySchema } from "./schema";
import { useEditor, type FlowNode } from "./store";

const UI: UiSchema = {
  "ui:submitButtonOptions": { norender: true },
};

// The code nodes' source (a literal param, never rendered): a multi-line, monospace text area.
const CODE_UI: UiSchema = {
  ...UI,
  code: { "ui:widget": "textarea", "ui:options": { rows: 14 } },
};

function WebhookInfo({ node, me }: { node: FlowNode; me: Me | null }) {
  const params = node.data.spec.params ?? {};
  const path = typeof params.path === "string" ? params.path : "";
  const method = typeof params.method === "string" ? params.method : "POST";
  const slug = me?.workspace.slug ?? "<workspace>";
  const url = `${window.location.origin}/hooks/${slug}/${path || "<path>"}`;
  const curl = `curl -X ${method} '${url}' -H 'Content-Type: application/json' -d '{"hello": "world"}'`;
  const [copied, setCopied] = useState("");
  function copy(text: string, what: string) {
    void navigator.clipboard?.writeText(text).then(
      () => setCopied(what),
      () => setCopied("press Ctrl+C to copy"),
    );
  }
  return (
    <div className="webhook-info" role="group" aria-label="Webhook URL">
      <div className="muted">Production URL (answers once the workflow is published)</div>
      <code data-testid="webhook-url">{url}</code>
      <button type="button" aria-label="Copy webhook URL" onClick={() => copy(url, "URL copied")}>Copy URL</button>
      <div className="muted">curl</div>
      <code data-testid="webhook-curl">{curl}</code>
      <button type="button" aria-label="Copy curl command" onClick={() => copy(curl, "curl copied")}>Copy curl</button>
      {copied && <span role="status">{copied}</span>}
    </div>
  );
}

function ConnectForm({ node, type }: { node: FlowNode; type: NodeType | undefined }) {
  const nodes = useEditor((s) => s.nodes);
  const catalog = useEditor((s) => s.catalog);
  const connect = useEditor((s) => s.connect);
  const outs = outputPorts(type, node.data.spec.params ?? {});
  const [port, setPort] = useState(outs[0] ?? "main");
  const [target, setTarget] = useState("");
  const [msg, setMsg] = useState("");
  const targets = nodes.filter((n) => n.id !== node.id && inputPorts(catalog[n.data.spec.type], n.data.spec.params ?? {}).length);
  const tNode = nodes.find((n) => `${n.id}` === target.split("|")[0]);
  if (!outs.length) return null;
  return (
    <fieldset className="connect-form">
      <legend>Connect (keyboard)</legend>
      <select aria-label="Output port" value={port} onChange={(e) => setPort(e.target.value)}>
        {outs.map((p) => <option key={p} value={p}>{p}</option>)}
      </select>
      →
      <select aria-label="Target node and port" value={target} onChange={(e) => setTarget(e.target.value)}>
        <option value="">choose…</option>
        {targets.flatMap((n) =>
          inputPorts(catalog[n.data.spec.type], n.data.spec.params ?? {}).map((p) => (
            <option key={`${n.id}|${p}`} value={`${n.id}|${p}`}>{n.id} · {p}</option>
          )),
        )}
      </select>
      <button type="button" aria-label="Connect" disabled={!tNode}
        onClick={() => {
          const [t, tp] = target.split("|");
          const why = connect({ source: node.id, sourceHandle: port, target: t, targetHandle: tp });
          setMsg(why ?? `connected ${node.id}.${port} → ${t}.${tp}`);
        }}>Connect</button>
      {msg && <div role="status">{msg}</div>}
    </fieldset>
  );
}

export function ParamsPanel(props: {
  node: FlowNode;
  credentials: CredentialOut[];
  me: Me | null;
  readOnly: boolean;
  preview: Preview;
}) {
  const { node, readOnly } = props;
  const spec = node.data.spec;
  const type = useEditor((s) => s.catalog[spec.type]);
  const problems = useEditor((s) => s.nodeProblems[node.id]);
  const updateNode = useEditor((s) => s.updateNode);
  const updateNodeQuietly = useEditor((s) => s.updateNodeQuietly);
  const renameNode = useEditor((s) => s.renameNode);
  const [jsonMode, setJsonMode] = useState(false);
  const [jsonText, setJsonText] = useState("");
  const [jsonError, setJsonError] = useState("");
  const [idDraft, setIdDraft] = useState(node.id);
  const [idError, setIdError] = useState("");
  const schema = useMemo(() => (type ? friendlySchema(type.params) : null), [type]);
  const extraErrors = useMemo(() => errorSchemaOf(problems ?? []), [problems]);
  const params = spec.params ?? {};

  return (
    <div className="params-panel" aria-label={`Parameters of ${node.id}`} role="region">
      <h2>{type?.display_name ?? spec.type}</h2>
      <p className="muted small">{type?.description}</p>
      <label>
        Node id
        <input aria-label="Node id" value={idDraft} disabled={readOnly}
          onChange={(e) => setIdDraft(e.target.value)}
          onBlur={() => {
            const why = renameNode(node.id, idDraft.trim());
            setIdError(why ?? "");
          }} />
      </label>
      {idError && <div role="alert" className="error">{idError}</div>}
      <label>
        Display name
        <input aria-label="Display name" value={spec.name ?? ""} disabled={readOnly}
          onChange={(e) => updateNode(node.id, { name: e.target.value }, `${node.id}:name`)} />
      </label>
      {spec.type === "trigger.webhook" && <WebhookInfo node={node} me={props.me} />}
      {problems?.length ? (
        <ul className="problems" aria-label="Problems of this node">
          {problems.map((p, i) => (
            <li key={i} role="alert" data-pointer={p.pointer}>
              <code>{p.pointer.replace(/^\/nodes\/\d+/, "") || "/"}</code> {p.message}
            </li>
          ))}
        </ul>
      ) : null}
      {type && type.credential_types.length > 0 && (
        <fieldset className="creds">
          <legend>Credentials</legend>
          {type.credential_types.map((ct) => (
            <label key={ct}>
              {ct}
              <select aria-label={`Credential ${ct}`} disabled={readOnly}
                value={spec.credentials?.[ct] ?? ""}
                onChange={(e) => {
                  const creds = { ...(spec.credentials ?? {}) };
                  if (e.target.value) creds[ct] = e.target.value;
                  else delete creds[ct];
                  updateNode(node.id, { credentials: creds });
                }}>
                <option value="">none</option>
                {props.credentials.filter((c) => c.type === ct).map((c) => (
                  <option key={c.id} value={c.id}>{c.name}</option>
                ))}
              </select>
            </label>
          ))}
        </fieldset>
      )}
      <div className="params-head">
        <h3>Parameters</h3>
        <button type="button" aria-pressed={jsonMode}
          aria-label={jsonMode ? "Edit parameters with the form" : "Edit parameters as JSON"}
          onClick={() => {
            setJsonText(JSON.stringify(params, null, 2));
            setJsonError("");
            setJsonMode((m) => !m);
          }}>
          {jsonMode ? "Form" : "JSON"}
        </button>
      </div>
      <p className="muted small">Every field takes an <code>{"{{ expression }}"}</code>, e.g. <code>{"{{ item.name }}"}</code>: type it in a text field, or press <b>fx</b> beside a number, switch or choice.</p>
      {jsonMode ? (
        <>
          <textarea aria-label="Parameters JSON" rows={14} value={jsonText} disabled={readOnly}
            onChange={(e) => {
              setJsonText(e.target.value);
              try {
                const v: unknown = JSON.parse(e.target.value);
                if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("params are a JSON object");
                setJsonError("");
                updateNode(node.id, { params: v as Record<string, unknown> }, `${node.id}:json`);
              } catch (err) {
                setJsonError(err instanceof Error ? err.message : String(err));
              }
            }} />
          {jsonError && <div role="alert" className="error">{jsonError}</div>}
        </>
      ) : schema ? (
        <Form
          key={`${node.id}:${spec.type}`}
          schema={schema as RJSFSchema}
          uiSchema={type?.literal_params.includes("code") ? CODE_UI : UI}
          formData={params}
          validator={validator}
          widgets={EXPRESSION_WIDGETS}
          extraErrors={extraErrors as ErrorSchema}
          showErrorList={false}
          noHtml5Validate
          disabled={readOnly}
          idPrefix={`p_${node.id}`}
          onChange={(e, fieldId) => {
            const next = (e.formData ?? {}) as Record<string, unknown>;
            if (fieldId) updateNode(node.id, { params: next }, `${node.id}:${fieldId}`);
            else updateNodeQuietly(node.id, { params: next });
          }}
        />
      ) : (
        <p className="error">Unknown node type {spec.type}.</p>
      )}
      {props.preview.lines.length > 0 && (
        <section className="preview" aria-label="Expression preview" aria-live="polite">
          <h3>
            {props.preview.executionId
              ? `Expressions with the data of run ${props.preview.executionId.slice(0, 8)}`
              : "Expressions (no run yet)"}
          </h3>
          {props.preview.lines.map((l) => (
            <div key={l.field} className={`preview-line${l.failed ? " failed" : ""}`} data-pointer={l.field}>
              <code>{l.field}</code> <span className="muted">{l.text}</span> →{" "}
              <b data-testid="preview-value">{l.value}</b>
            </div>
          ))}
        </section>
      )}
      {!readOnly && <ConnectForm node={node} type={type} />}
    </div>
  );
}
