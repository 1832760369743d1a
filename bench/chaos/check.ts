// The invariant checker's side that reads the stack: it waits (bounded) until every terminal
// webhook settled, then reads each job (view, event feed, output bytes, webhook log), every user's
// usage and every host, and hands it all to invariants.ts. Works on any run folder whose stack
// still runs, so it can be run on its own (`npm run chaos -- --check <folder>`).
import { createHash } from "node:crypto";
import { ChaosApi } from "./api.ts";
import {
  type CheckFigures,
  checkInvariants,
  type EdgeMessage,
  type FeedEvent,
  type JobEvidence,
  type JobHistory,
  type JobView,
  type StackEvidence,
  type Violation,
} from "./invariants.ts";
import { type RunRecords, readRun } from "./journal.ts";

export interface CheckResult {
  violations: Violation[];
  histories: Map<string, JobHistory>;
  figures: CheckFigures;
  apiCounts: Record<string, number>;
}

const SETTLED_WEBHOOK = new Set(["delivered", "failed", "gone"]);
const CONCURRENCY = 6;

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Every (tenant, user) pair the run submitted as. */
const usersOf = (records: RunRecords): [string, string][] =>
  [...new Set(records.jobs.map((j) => `${j.tenant}|${j.user}`))].map((k) => k.split("|") as [string, string]);

/** The event names of an SSE body (`event:` lines; one per event). */
export function sseEvents(text: string): FeedEvent[] {
  const events: FeedEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let id = "";
    let event = "";
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith("id:")) id = line.slice(3).trim();
      else if (line.startsWith("event:")) event = line.slice(6).trim();
    }
    if (event) events.push({ id, event });
  }
  return events;
}

export async function checkStack(
  dir: string,
  adminToken: string,
  opts: { waitForWebhooksMs?: number; log?: (l: Record<string, unknown>) => void } = {},
): Promise<CheckResult> {
  const records: RunRecords = readRun(dir);
  const api = new ChaosApi(records.info.edge, adminToken, null);
  const callerOf = (tenant: number, user: string) => ({ tenant: records.info.tenants[tenant]!, user });

  // Webhooks retry for minutes after a receiver came back: wait until each terminal one settled.
  const deadline = Date.now() + (opts.waitForWebhooksMs ?? 0);
  for (;;) {
    const unsettled: string[] = [];
    for (const [tenant, user] of usersOf(records)) {
      let cursor: string | null = null;
      for (let page = 0; page < 1_000; page++) {
        const res = await api.call("GET", `/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, callerOf(Number(tenant), user));
        if (res.status !== 200) break;
        const list = (await res.json()) as { data: { id: string; webhook_status: string | null }[]; next_cursor: string | null };
        for (const j of list.data) if (j.webhook_status !== null && !SETTLED_WEBHOOK.has(j.webhook_status)) unsettled.push(j.id);
        cursor = list.next_cursor;
        if (!cursor) break;
      }
    }
    if (unsettled.length === 0 || Date.now() > deadline) {
      opts.log?.({ chaos: "webhooks-settled", unsettled: unsettled.length });
      break;
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }

  const jobs = await pool(records.jobs, CONCURRENCY, async (job): Promise<JobEvidence> => {
    const caller = callerOf(job.tenant, job.user);
    const res = await api.call("GET", `/v1/jobs/${job.id}`, caller);
    const view = res.status === 200 ? ((await res.json()) as JobView) : null;
    const feed = await api.call("GET", `/v1/jobs/${job.id}/events`, caller, undefined, 20_000);
    const events = feed.status === 200 ? sseEvents(await feed.text()) : [];
    const downloads = [];
    for (const o of view?.outputs ?? []) {
      const got = await fetch(o.url, { signal: AbortSignal.timeout(20_000) });
      const bytes = new Uint8Array(await got.arrayBuffer());
      downloads.push({
        name: o.name,
        status: got.status,
        size: bytes.length,
        sha256: got.status === 200 ? createHash("sha256").update(bytes).digest("hex") : null,
      });
    }
    const log = await api.call("GET", `/v1/jobs/${job.id}/webhook-deliveries`, caller);
    const messages = log.status === 200 ? ((await log.json()) as { events: EdgeMessage[] }).events : [];
    return { job, view, events, downloads, messages };
  });

  const usage: StackEvidence["usage"] = [];
  for (const [tenant, user] of usersOf(records)) {
    const u = await api.json<{ user_active_jobs: number; tenant_active_jobs: number }>("GET", "/v1/usage", callerOf(Number(tenant), user), undefined, 200);
    usage.push({ tenant: Number(tenant), user, user_active_jobs: u.user_active_jobs, tenant_active_jobs: u.tenant_active_jobs });
  }
  const hosts = (await api.json<{ data: { id: string; assigned: number; live: boolean }[] }>("GET", "/v1/admin/hosts", "admin", undefined, 200)).data;
  const { violations, histories, figures } = checkInvariants(records, { jobs, usage, hosts, checkerFailures: api.failures });
  return { violations, histories, figures, apiCounts: Object.fromEntries(api.counts) };
}
