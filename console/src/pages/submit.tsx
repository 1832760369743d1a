/**
 * A new job: paste or drop an API-format workflow (or a whole POST /v1/jobs body), or start from
 * one of the project's examples; change the prompt text, seeds and steps of the nodes that have
 * them; the workflow is validated against the pool first, and every problem is shown on its node.
 */
import { ApiError, type ComfyClient, type WorkflowValidation } from "comfyui-saas-client";
import { useMemo, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { ProblemView } from "../components/problem.tsx";
import { groupByNode, type NodeError } from "../workflow/node-errors.ts";
import { editableParams, nodeIds, type Param, parseWorkflowText, randomSeed, type Workflow, withParam } from "../workflow/params.ts";

const EXAMPLES = import.meta.glob<string>("../../../examples/*.json", { eager: true, query: "?raw", import: "default" });
const exampleName = (path: string) => path.slice(path.lastIndexOf("/") + 1, -".json".length);
const MAX_FILE_BYTES = 4 * 1024 * 1024;

function ParamField({ p, onChange }: { p: Param; onChange: (v: string | number) => void }) {
  const id = `p-${p.nodeId}-${p.input}`;
  if (p.kind === "text")
    return (
      <div class="field">
        <label for={id}>{p.input}</label>
        <textarea id={id} rows={3} value={String(p.value)} onInput={(e) => onChange(e.currentTarget.value)} />
      </div>
    );
  return (
    <div class="field">
      <label for={id}>{p.input}</label>
      <span class="inline">
        <input
          id={id}
          type="number"
          inputMode="numeric"
          min={0}
          step={1}
          value={String(p.value)}
          onInput={(e) => {
            const v = Number(e.currentTarget.value);
            if (Number.isSafeInteger(v)) onChange(v);
          }}
        />
        {p.input.endsWith("seed") ? (
          <button type="button" class="secondary" onClick={() => onChange(randomSeed())} aria-label={`New random ${p.input} for node ${p.nodeId}`}>
            Random
          </button>
        ) : null}
      </span>
    </div>
  );
}

export function SubmitPage({ client }: { client: ComfyClient }) {
  const { route } = useLocation();
  const [text, setText] = useState("");
  const [pool, setPool] = useState("");
  const [errors, setErrors] = useState<NodeError[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [validation, setValidation] = useState<WorkflowValidation | null>(null);
  const [busy, setBusy] = useState<"validating" | "submitting" | null>(null);
  const [dragging, setDragging] = useState(false);

  const parsed = useMemo(() => parseWorkflowText(text), [text]);
  const workflow: Workflow | null = parsed.ok ? parsed.body.workflow : null;

  const load = (source: string) => {
    setText(source);
    const p = parseWorkflowText(source);
    setPool(p.ok ? (p.body.pool ?? "") : "");
    setErrors([]);
    setProblem(null);
    setValidation(null);
  };
  const edit = (nodeId: string, input: string, value: string | number) => {
    if (workflow) setText(JSON.stringify(withParam(workflow, nodeId, input, value), null, 2));
    setErrors([]);
    setValidation(null);
  };
  const readFile = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      setProblem(new Error(`${file.name} is ${file.size} bytes; a workflow file here is at most ${MAX_FILE_BYTES} bytes.`));
      return;
    }
    load(await file.text());
  };

  const validate = async (): Promise<boolean> => {
    if (!workflow) return false;
    setProblem(null);
    const v = await client.validate(workflow, pool ? { pool } : {});
    setValidation(v);
    setErrors(v.errors);
    return v.valid;
  };

  const run = async (submit: boolean) => {
    setBusy(submit ? "submitting" : "validating");
    try {
      if (!(await validate()) || !submit || !workflow) return;
      const job = await client.submit(workflow, pool ? { pool } : {});
      route(`/console/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      // A refusal with pointers (e.g. at submit time) is shown on the nodes too.
      if (err instanceof ApiError && Array.isArray(err.problem.errors)) setErrors(err.problem.errors as NodeError[]);
      setProblem(err);
    } finally {
      setBusy(null);
    }
  };

  const ids = workflow ? nodeIds(workflow) : [];
  const { byNode, general } = groupByNode(errors, new Set(ids));

  return (
    <>
      <h1>New job</h1>
      <section aria-labelledby="source-title">
        <h2 id="source-title">Workflow</h2>
        <div class="row wrap">
          <label for="example">Start from an example</label>
          <select id="example" value="" onChange={(e) => e.currentTarget.value && load(EXAMPLES[e.currentTarget.value] ?? "")}>
            <option value="">Choose…</option>
            {Object.keys(EXAMPLES)
              .sort()
              .map((path) => (
                <option key={path} value={path}>
                  {exampleName(path)}
                </option>
              ))}
          </select>
          <label for="file">or open a file</label>
          <input id="file" type="file" accept="application/json,.json" onChange={(e) => void readFile(e.currentTarget.files?.[0])} />
        </div>
        <fieldset
          class={dragging ? "drop dragging" : "drop"}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            void readFile(e.dataTransfer?.files[0]);
          }}
        >
          <legend>Paste the workflow, or drop its file here</legend>
          <label for="workflow-json">Workflow JSON (API format)</label>
          <textarea id="workflow-json" rows={12} spellcheck={false} value={text} onInput={(e) => load(e.currentTarget.value)} />
        </fieldset>
        {!parsed.ok && text !== "" ? (
          <p class="error" role="alert">
            {parsed.error}
          </p>
        ) : null}
        <label for="pool">Pool (empty: your default)</label>
        <input id="pool" value={pool} onInput={(e) => setPool(e.currentTarget.value.trim())} />
      </section>

      {workflow ? (
        <section aria-labelledby="nodes-title">
          <h2 id="nodes-title">Nodes</h2>
          <ul class="nodes">
            {ids.map((id) => {
              const node = workflow[id];
              const nodeErrors = byNode.get(id) ?? [];
              return (
                <li key={id} class={nodeErrors.length ? "node invalid" : "node"} data-node-id={id} aria-invalid={nodeErrors.length > 0}>
                  <h3>
                    #{id} {node?.class_type}
                  </h3>
                  {editableParams(workflow, id).map((p) => (
                    <ParamField key={p.input} p={p} onChange={(v) => edit(id, p.input, v)} />
                  ))}
                  {nodeErrors.length ? (
                    <div role="alert">
                      <ul class="node-errors">
                        {nodeErrors.map((e) => (
                          <li key={e.pointer + e.detail}>
                            {e.input_name && !e.detail.startsWith(e.input_name) ? <code>{e.input_name}: </code> : null}
                            {e.detail}
                            {e.code ? <span class="muted"> ({e.code})</span> : null}
                          </li>
                        ))}
                      </ul>
                    </div>
                  ) : null}
                </li>
              );
            })}
          </ul>
        </section>
      ) : null}

      {general.length ? (
        <div role="alert">
          <ul class="node-errors">
            {general.map((e) => (
              <li key={e.pointer + e.detail}>
                <code>{e.pointer}</code> {e.detail}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {validation?.valid ? (
        <p class="ok" role="status">
          Valid: {validation.eligible_hosts} host{validation.eligible_hosts === 1 ? "" : "s"} of pool {validation.pool} can run it
          {validation.estimated_start_seconds !== null ? `, starting in about ${validation.estimated_start_seconds} s` : ""}.
          {validation.checked ? "" : " (Only its shape was checked: no host has published its nodes yet.)"}
        </p>
      ) : null}
      {problem ? <ProblemView error={problem} /> : null}

      <div class="row">
        <button type="button" class="secondary" disabled={!workflow || busy !== null} onClick={() => void run(false)}>
          {busy === "validating" ? "Validating…" : "Validate"}
        </button>
        <button type="button" disabled={!workflow || busy !== null} onClick={() => void run(true)}>
          {busy === "submitting" ? "Submitting…" : "Validate and submit"}
        </button>
      </div>
    </>
  );
}
