// One chaos run: the local stack with three hosts, the planned jobs submitted and some cancelled,
// the planned faults and receiver outages carried out meanwhile; then every host and receiver is
// back, every job is waited for (bounded), every terminal webhook too, and the checker runs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LocalStack, StackOptions } from "../../scripts/lib/local-stack.ts";
import { withStack } from "../lib/stacks.ts";
import { type Caller, ChaosApi } from "./api.ts";
import { type CheckResult, checkStack } from "./check.ts";
import { runFault } from "./faults.ts";
import { type Observation, RunJournal, type RunTenant, type SubmittedJob } from "./journal.ts";
import { makePlan, type Plan, type PlannedJob, type PlanOptions } from "./plan.ts";
import { type Receiver, startReceiver } from "./receiver.ts";
import { workflowFor } from "./workflows.ts";

export interface ChaosOptions {
  seed: number;
  jobs: number;
  minutes: number;
  /** Where the run folder goes (default: a new temp folder). */
  dir?: string;
  /** Called with the result while the stack still runs (e.g. to keep it up for `--check`). */
  hold?: (result: ChaosResult, stack: LocalStack) => Promise<void>;
  /** Progress lines (JSON); default: none. */
  log?: (line: Record<string, unknown>) => void;
}

export interface ChaosResult extends CheckResult {
  plan: Plan;
  dir: string;
  seconds: number;
  faults: Record<string, number>;
  /** Faults that struck a host while it had a job. */
  faultsMidJob: number;
  /** The driver's requests during the run, by answer status. */
  runApiCounts: Record<string, number>;
}

export const LEASE_SECONDS = 4;
/** Retries every 30 s once past the first minute, for about 5.5 min in all: longer than any outage (plan.ts, 3 min at most). */
export const WEBHOOK_RETRIES = "1s,2s,4s,8s,15s,30s,30s,30s,30s,30s,30s,30s,30s,30s,30s";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function planFor(opts: Pick<ChaosOptions, "seed" | "jobs" | "minutes">): Plan {
  const options: PlanOptions = {
    seed: opts.seed,
    jobs: opts.jobs,
    minutes: opts.minutes,
    hosts: 3,
    tenants: 3,
    usersPerTenant: 3,
    leaseSeconds: LEASE_SECONDS,
    faultEveryMs: 8_000,
  };
  return makePlan(options);
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const plan = planFor(opts);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "comfyui-saas-chaos-"));
  const journal = new RunJournal(dir);
  const receivers: Receiver[] = [];
  for (let i = 0; i < 2; i++) receivers.push(await startReceiver(i, journal.deliveryLog(i)));
  const stackOptions: StackOptions = {
    hosts: plan.options.hosts,
    comfyProxy: true,
    emulatorArgs: ["--step-ms", "50"],
    emulatorArgsFor: (id) => ["--execution-log", journal.executionLog(id)],
    vars: {
      LOG_LEVEL: "warn",
      LEASE_TTL_SECONDS: String(LEASE_SECONDS),
      HOST_HEARTBEAT_TIMEOUT_SECONDS: "3",
      WEBHOOK_TIMEOUT_SECONDS: "3",
      WEBHOOK_RETRY_SCHEDULE: WEBHOOK_RETRIES,
    },
    backendEnv: { HEARTBEAT_INTERVAL_MS: "500", EDGE_RETRY_ATTEMPTS: "3" },
    allowHosts: receivers.map((r) => new URL(r.url).host),
  };
  try {
    return await withStack(stackOptions, async (stack) => {
      const api = new ChaosApi(stack.edge.url, stack.adminToken, journal);
      const tenants: RunTenant[] = [];
      for (let i = 0; i < plan.options.tenants; i++) {
        const limits = { max_active_jobs_per_user: 10_000, max_active_jobs_per_tenant: 100_000, requests_per_minute: 1_000_000 };
        const t = await api.json<{ id: string; webhook_secret: string }>("POST", "/v1/admin/tenants", "admin", { name: `chaos-${i}`, limits }, 201);
        const k = await api.json<{ key: string }>("POST", `/v1/admin/tenants/${t.id}/keys`, "admin", undefined, 201);
        tenants.push({ id: t.id, key: k.key, webhookSecret: t.webhook_secret });
        for (const r of receivers) r.trust(t.webhook_secret);
      }
      journal.writeInfo({ edge: stack.edge.url, plan: plan.options, tenants, receivers: receivers.map((r) => r.url), startedAt: Date.now() });
      log({ chaos: "started", seed: plan.options.seed, jobs: plan.jobs.length, faults: plan.faults.length, outages: plan.outages.length, dir });

      const t0 = Date.now();
      const at = (ms: number) => sleep(Math.max(0, t0 + ms - Date.now()));
      const submitted: SubmittedJob[] = [];
      const callerOf = (job: PlannedJob): Caller => ({ tenant: tenants[job.tenant]!, user: job.user });

      const submitOne = async (job: PlannedJob) => {
        await at(job.submitAtMs);
        const body = { workflow: workflowFor(job), webhook: { url: receivers[job.receiver]!.url }, metadata: { chaos: job.nonce } };
        for (let tries = 0; tries < 20; tries++) {
          const res = await api.call("POST", "/v1/jobs", callerOf(job), body);
          if (res.status === 202) {
            const { id } = (await res.json()) as { id: string };
            const s: SubmittedJob = { index: job.index, id, tenant: job.tenant, user: job.user, nonce: job.nonce, kind: job.kind, submittedAt: Date.now() };
            submitted.push(s);
            journal.append("jobs", s);
            if (job.cancelAfterMs !== null) {
              await sleep(job.cancelAfterMs);
              const cancel = await api.call("DELETE", `/v1/jobs/${id}`, callerOf(job));
              const jobStatus = cancel.status === 200 ? ((await cancel.json()) as { status: string }).status : null;
              journal.append("cancels", { id, at: Date.now(), status: cancel.status, jobStatus });
            }
            return;
          }
          // Admission may push back (429 with Retry-After); anything else is a finding.
          const text = await res.text();
          if (res.status !== 429) throw new Error(`submit of job ${job.index} (${job.kind}): ${res.status} ${text.slice(0, 500)}`);
          await sleep(Math.min(5_000, Number(res.headers.get("retry-after") ?? "1") * 1000));
        }
        throw new Error(`submit of job ${job.index}: still refused after 20 tries`);
      };

      const faultTally: Record<string, number> = {};
      let faultsMidJob = 0;
      const faultRuns = plan.faults.map(async (fault) => {
        await at(fault.atMs);
        const rec = await runFault(fault, stack, api);
        journal.append("faults", rec);
        faultTally[fault.kind] = (faultTally[fault.kind] ?? 0) + 1;
        if (rec.met === "busy") faultsMidJob++;
        log({ chaos: "fault", ...rec });
      });
      const outageRuns = plan.outages.map(async (o) => {
        await at(o.atMs);
        await receivers[o.receiver]!.down(o.mode);
        log({ chaos: "receiver-down", receiver: o.receiver, mode: o.mode, ms: o.downMs });
        await sleep(o.downMs);
        await receivers[o.receiver]!.up();
        faultTally[`receiver-${o.mode}`] = (faultTally[`receiver-${o.mode}`] ?? 0) + 1;
        log({ chaos: "receiver-up", receiver: o.receiver });
      });

      // The observer: every job's status as the lists show it, recorded whenever it changes.
      const lastSeen = new Map<string, string>();
      let observing = true;
      const observe = async () => {
        for (const tenant of tenants) {
          for (let u = 1; u <= plan.options.usersPerTenant; u++) {
            let cursor: string | null = null;
            for (let page = 0; page < 1_000; page++) {
              const res = await api.call("GET", `/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { tenant, user: `user-${u}` });
              if (res.status !== 200) break;
              const list = (await res.json()) as {
                data: { id: string; status: string; attempt: number; finished_at: string | null }[];
                next_cursor: string | null;
              };
              for (const j of list.data) {
                const key = `${j.status}|${j.attempt}|${j.finished_at}`;
                if (lastSeen.get(j.id) === key) continue;
                lastSeen.set(j.id, key);
                const o: Observation = { id: j.id, at: Date.now(), status: j.status, attempt: j.attempt, finishedAt: j.finished_at };
                journal.append("observations", o);
              }
              cursor = list.next_cursor;
              if (!cursor) break;
            }
          }
        }
      };
      const observer = (async () => {
        while (observing) {
          await observe();
          await sleep(2_000);
        }
      })();

      await Promise.all([...plan.jobs.map(submitOne), ...faultRuns, ...outageRuns]);
      log({ chaos: "window-ended", submitted: submitted.length, seconds: Math.round((Date.now() - t0) / 1000) });

      // Every host and receiver is back: each job must end, and each terminal webhook arrive.
      const endBy = Date.now() + Math.max(300_000, plan.jobs.length * 2_000);
      let live = submitted.length;
      while (Date.now() < endBy) {
        await observe();
        live = submitted.filter((s) => !TERMINAL.has(lastSeen.get(s.id)?.split("|")[0] ?? "")).length;
        if (live === 0) break;
        await sleep(1_000);
      }
      observing = false;
      await observer;
      log({ chaos: "jobs-ended", live });
      journal.writeCounts(Object.fromEntries(api.counts));
      const result = await checkStack(dir, stack.adminToken, { waitForWebhooksMs: 400_000, log });
      const out: ChaosResult = {
        ...result,
        plan,
        dir,
        seconds: Math.round((Date.now() - started) / 1000),
        faults: faultTally,
        faultsMidJob,
        runApiCounts: Object.fromEntries(api.counts),
      };
      await opts.hold?.(out, stack);
      return out;
    });
  } finally {
    await Promise.all(receivers.map((r) => r.close()));
  }
}
