// The promises the system makes, checked over what a run left behind. Pure: it takes the run
// folder's records and the evidence read from the stack afterwards, and names every violation
// with the job it concerns, so a unit test can show each check fails when it should.
import type { ApiFailure, CancelRecord, ExecutionRecord, Observation, RunRecords, SubmittedJob } from "./journal.ts";
import type { Delivery } from "./receiver.ts";
import { nonceOfPrefix } from "./workflows.ts";

export const TERMINAL_STATUSES = ["succeeded", "failed", "cancelled"] as const;
const TERMINAL_EVENTS = new Set(TERMINAL_STATUSES.map((s) => `job.${s}`));
/** Failure codes a job gets from the faults themselves (hosts lost, ComfyUI lost), after its retries: not a wrong outcome. */
export const FAULT_CODES = new Set(["host_error", "host_draining", "input_unavailable", "model_unavailable", "output_upload_failed"]);

export interface JobView {
  id: string;
  status: string;
  attempt: number;
  finished_at: string | null;
  outputs: { name: string; size: number; sha256: string; url: string }[];
  error: { code: string; message: string } | null;
  webhook_status: string | null;
}

export interface FeedEvent {
  id: string;
  event: string;
}

export interface DownloadedOutput {
  name: string;
  status: number;
  sha256: string | null;
  size: number;
}

export interface EdgeMessage {
  type: string;
  webhook_id: string;
  state: string;
}

/** What the checker read from the stack about one job. */
export interface JobEvidence {
  job: SubmittedJob;
  view: JobView | null;
  events: FeedEvent[];
  downloads: DownloadedOutput[];
  messages: EdgeMessage[];
}

export interface StackEvidence {
  jobs: JobEvidence[];
  /** `GET /v1/usage` per tenant index and user. */
  usage: { tenant: number; user: string; user_active_jobs: number; tenant_active_jobs: number }[];
  hosts: { id: string; assigned: number; live: boolean }[];
  /** 5xx answers to the checker's own requests. */
  checkerFailures: ApiFailure[];
}

export interface Violation {
  invariant: string;
  job?: string;
  detail: string;
}

export interface JobHistory {
  job: SubmittedJob;
  observations: Observation[];
  cancels: CancelRecord[];
  events: string[];
  deliveries: { receiver: number; webhookId: string; type: string; answered: number; at: number }[];
  executions: { host: string; status: string; interrupted: boolean }[];
  view: JobView | null;
}

const typeOf = (d: Delivery): { type: string; jobId: string | null } => {
  try {
    const body = JSON.parse(d.body) as { type?: string; data?: { job?: { id?: string } } };
    return { type: body.type ?? "?", jobId: body.data?.job?.id ?? null };
  } catch {
    return { type: "?", jobId: null };
  }
};

/** The job nonces an execution's prompt names (through its SaveImage prefixes). */
function noncesOf(e: ExecutionRecord): string[] {
  return Object.values(e.prompt ?? {}).flatMap((node) => {
    const prefix = node.inputs?.filename_prefix;
    const nonce = typeof prefix === "string" ? nonceOfPrefix(prefix) : null;
    return nonce ? [nonce] : [];
  });
}

function groupBy<T, K>(items: readonly T[], key: (t: T) => K | null): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === null) continue;
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

export interface CheckFigures {
  jobs: number;
  by_status: Record<string, number>;
  /** Executions on the emulators that finished with success, and those of jobs that then ran elsewhere. */
  executions: number;
  repeated_executions: number;
  /** Jobs dispatched more than once (their host was lost or gave them back). */
  retried_jobs: number;
  /** Failed jobs by error code. */
  failed_by_code: Record<string, number>;
  deliveries: number;
  redeliveries: number;
}

export function checkInvariants(
  records: RunRecords,
  evidence: StackEvidence,
): { violations: Violation[]; histories: Map<string, JobHistory>; figures: CheckFigures } {
  const violations: Violation[] = [];
  const flag = (invariant: string, detail: string, job?: string) => violations.push({ invariant, detail, ...(job ? { job } : {}) });

  const observationsOf = groupBy(records.observations, (o) => o.id);
  const cancelsOf = groupBy(records.cancels, (c) => c.id);
  const deliveriesOf = groupBy(records.deliveries, (d) => typeOf(d).jobId);
  const executionsOf = new Map<string, ExecutionRecord[]>();
  for (const e of records.executions) {
    for (const nonce of new Set(noncesOf(e))) executionsOf.set(nonce, [...(executionsOf.get(nonce) ?? []), e]);
  }
  const histories = new Map<string, JobHistory>();
  const figures: CheckFigures = {
    jobs: evidence.jobs.length,
    by_status: {},
    executions: 0,
    repeated_executions: 0,
    retried_jobs: 0,
    failed_by_code: {},
    deliveries: records.deliveries.length,
    redeliveries: 0,
  };

  for (const { job, view, events, downloads, messages } of evidence.jobs) {
    const id = job.id;
    const observations = observationsOf.get(id) ?? [];
    const deliveries = deliveriesOf.get(id) ?? [];
    const executions = executionsOf.get(job.nonce) ?? [];
    histories.set(id, {
      job,
      observations,
      cancels: cancelsOf.get(id) ?? [],
      events: events.map((e) => e.event),
      deliveries: deliveries.map((d) => ({ receiver: d.receiver, webhookId: d.webhookId, type: typeOf(d).type, answered: d.answered, at: d.at })),
      executions: executions.map((e) => ({ host: e.host, status: e.status, interrupted: e.interrupted })),
      view,
    });
    if (!view) {
      flag("terminal-once", "the job cannot be read", id);
      continue;
    }
    figures.by_status[view.status] = (figures.by_status[view.status] ?? 0) + 1;
    if (view.attempt > 1) figures.retried_jobs++;
    if (view.status === "failed" && view.error) figures.failed_by_code[view.error.code] = (figures.failed_by_code[view.error.code] ?? 0) + 1;

    // 1. Exactly one terminal state, reached once.
    if (!(TERMINAL_STATUSES as readonly string[]).includes(view.status)) flag("terminal-once", `still ${view.status} after the run`, id);
    const terminalEvents = events.filter((e) => TERMINAL_EVENTS.has(e.event));
    if (terminalEvents.length !== 1)
      flag("terminal-once", `${terminalEvents.length} terminal events in its feed: ${terminalEvents.map((e) => e.event).join(", ")}`, id);
    else if (terminalEvents[0]!.event !== `job.${view.status}`)
      flag("terminal-once", `feed ended with ${terminalEvents[0]!.event} but the job is ${view.status}`, id);
    const firstTerminal = observations.findIndex((o) => (TERMINAL_STATUSES as readonly string[]).includes(o.status));
    if (firstTerminal >= 0) {
      const seen = observations[firstTerminal]!;
      for (const later of [...observations.slice(firstTerminal + 1), { status: view.status, finishedAt: view.finished_at }]) {
        if (later.status !== seen.status || later.finishedAt !== seen.finishedAt) {
          flag("terminal-once", `was ${seen.status} (finished ${seen.finishedAt}), later ${later.status} (finished ${later.finishedAt})`, id);
          break;
        }
      }
    }
    const acceptedCancel = (cancelsOf.get(id) ?? []).find((c) => c.status === 200 && c.jobStatus === "cancelled");
    if (acceptedCancel && view.status !== "cancelled") flag("terminal-once", `the cancel answered "cancelled" but the job is ${view.status}`, id);

    // 2. Outputs: a succeeded job's download and match their SHA-256; nobody else has any.
    if (view.status === "succeeded") {
      if (view.outputs.length === 0) flag("outputs", "succeeded without outputs", id);
      for (const o of view.outputs) {
        const got = downloads.find((d) => d.name === o.name);
        if (got?.status !== 200) flag("outputs", `${o.name} does not download (${got?.status ?? "not tried"})`, id);
        else if (got.sha256 !== o.sha256 || got.size !== o.size)
          flag("outputs", `${o.name}: got ${got.size} bytes ${got.sha256}, listed ${o.size} bytes ${o.sha256}`, id);
      }
    } else if (view.outputs.length > 0) {
      flag("outputs", `${view.status} with ${view.outputs.length} output(s)`, id);
    }

    // 3. The outcome fits the graph, and no job ran to success more often than it was dispatched.
    if (job.kind === "failing" && view.status === "succeeded") flag("outcome", "a graph that always raises succeeded", id);
    if (view.status === "failed" && view.error) {
      const expected = job.kind === "failing" ? view.error.code === "execution_error" || FAULT_CODES.has(view.error.code) : FAULT_CODES.has(view.error.code);
      if (!expected) flag("outcome", `${job.kind} job failed with ${view.error.code}: ${view.error.message}`, id);
    }
    const successes = executions.filter((e) => e.status === "success").length;
    figures.executions += successes;
    if (successes > view.attempt) flag("executions", `ran to success ${successes} times on the emulators in ${view.attempt} attempt(s)`, id);
    else if (view.status === "succeeded" && view.attempt === 1 && successes !== 1)
      flag("executions", `succeeded at attempt 1 with ${successes} successful executions`, id);
    if (successes > 1) figures.repeated_executions += successes - 1;

    // 4. Webhooks: the terminal event delivered, under one webhook-id, with the same payload on every attempt.
    for (const d of deliveries) if (!d.verified) flag("webhooks", `a delivery (${d.webhookId}) did not verify with the tenant's secret`, id);
    for (const [webhookId, same] of groupBy(deliveries, (d) => d.webhookId)) {
      if (new Set(same.map((d) => d.body)).size > 1)
        flag("webhooks", `webhook-id ${webhookId} was sent with ${new Set(same.map((d) => d.body)).size} different payloads`, id);
      figures.redeliveries += same.length - 1;
    }
    const terminalDeliveries = deliveries.filter((d) => TERMINAL_EVENTS.has(typeOf(d).type));
    const ids = new Set(terminalDeliveries.map((d) => d.webhookId));
    if (ids.size > 1) flag("webhooks", `terminal events under ${ids.size} webhook-ids: ${[...ids].join(", ")}`, id);
    if ((TERMINAL_STATUSES as readonly string[]).includes(view.status)) {
      const ok = terminalDeliveries.filter((d) => d.answered >= 200 && d.answered < 300);
      if (ok.length === 0) flag("webhooks", `job.${view.status} never delivered (${terminalDeliveries.length} attempt(s) reached the receiver)`, id);
      else if (typeOf(ok[0]!).type !== `job.${view.status}`) flag("webhooks", `delivered ${typeOf(ok[0]!).type} for a ${view.status} job`, id);
      const terminalMessages = messages.filter((m) => TERMINAL_EVENTS.has(m.type));
      if (terminalMessages.length !== 1) flag("webhooks", `${terminalMessages.length} terminal webhook messages at the edge`, id);
      else if (terminalMessages[0]!.state !== "delivered") flag("webhooks", `the edge's terminal message is ${terminalMessages[0]!.state}`, id);
      else if (ok.length > 0 && terminalMessages[0]!.webhook_id !== ok[0]!.webhookId)
        flag("webhooks", "the edge's webhook_id differs from the delivered one", id);
    }
  }

  // 5. No leaked slot: nothing active for anyone, nothing assigned to any host.
  for (const u of evidence.usage) {
    if (u.user_active_jobs !== 0) flag("slots", `tenant ${u.tenant} user ${u.user}: ${u.user_active_jobs} active jobs after the run`);
    if (u.tenant_active_jobs !== 0) flag("slots", `tenant ${u.tenant}: ${u.tenant_active_jobs} active jobs after the run`);
  }
  for (const h of evidence.hosts) if (h.assigned !== 0) flag("slots", `host ${h.id} still has ${h.assigned} job(s) assigned`);

  // 6. No 5xx, from the driver's requests during the run or the checker's after it.
  for (const f of [...records.apiFailures, ...evidence.checkerFailures]) flag("no-5xx", `${f.method} ${f.path} answered ${f.status}: ${f.body.slice(0, 300)}`);

  return { violations, histories, figures };
}
