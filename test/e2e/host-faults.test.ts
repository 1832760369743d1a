// End to end, with real processes and short leases: a gpu-backend killed mid-job (SIGKILL), and
// one paused past its lease (SIGSTOP) then resumed (SIGCONT). The job finishes once, on the other
// host, as attempt 2; the paused host's late callbacks are refused; no slot leaks.
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { Client, SLOW } from "./support/client.ts";

let stack: LocalStack;
let api: Client;

beforeAll(async () => {
  stack = await startLocalStack({
    hosts: 2,
    // Short leases so a lost host is noticed in seconds; heartbeats every second keep live ones.
    vars: { LEASE_TTL_SECONDS: "4", HOST_HEARTBEAT_TIMEOUT_SECONDS: "3" },
    backendEnv: { HEARTBEAT_INTERVAL_MS: "500", EDGE_RETRY_ATTEMPTS: "3" },
  });
  api = new Client(stack);
});
afterAll(async () => {
  for (const h of stack?.hosts ?? []) h.signalBackend("SIGCONT");
  await stack?.stop();
});

async function hostOf(jobId: string, t: Awaited<ReturnType<Client["tenant"]>>, user: string): Promise<string> {
  const running = await api.waitFor(t, user, jobId, (j) => j.status === "running" && (j.progress?.value ?? 0) > 0, 20_000);
  const list = (await (await stack.admin("/v1/admin/hosts")).json()) as { data: { id: string; assigned: number }[] };
  const busy = list.data.filter((h) => h.assigned > 0).map((h) => h.id);
  if (running.status !== "running" || busy.length !== 1) throw new Error(`expected one busy host, got ${JSON.stringify(list.data)} / ${running.status}`);
  return busy[0]!;
}

/** Waits (bounded) until `hostId` has heartbeated `count` times after `since` (each heartbeat moves last_heartbeat_at). */
async function heartbeatsSince(hostId: string, since: number, count: number): Promise<void> {
  const seen = new Set<string>();
  const deadline = Date.now() + 20_000;
  while (seen.size < count) {
    if (Date.now() > deadline) throw new Error(`${hostId}: ${seen.size} of ${count} heartbeats since ${new Date(since).toISOString()}`);
    const list = (await (await stack.admin("/v1/admin/hosts")).json()) as { data: { id: string; last_heartbeat_at: string | null }[] };
    const at = list.data.find((h) => h.id === hostId)?.last_heartbeat_at;
    if (at && Date.parse(at) > since) seen.add(at);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("host faults", () => {
  it("SIGKILL of the gpu-backend mid-job: the job succeeds on the other host as attempt 2, with one terminal state", async ({ expect }) => {
    const t = await api.tenant();
    const job = await api.submitOk(t, "k", SLOW(20, 100));
    const victimId = await hostOf(job.id, t, "k");
    const victim = stack.hosts.find((h) => h.id === victimId)!;
    victim.signalBackend("SIGKILL");
    await victim.backendExited();
    const done = await api.waitForEnd(t, "k", job.id, 60_000);
    expect(done).toMatchObject({ status: "succeeded", attempt: 2 });
    expect(done.outputs).toHaveLength(1);
    // It stays that way: two more heartbeats of the survivor (each one applies lease renewals,
    // revocations and cancels at the edge) change nothing.
    const survivor = stack.hosts.find((h) => h.id !== victimId)!;
    await heartbeatsSince(survivor.id, Date.parse(done.finished_at), 2);
    expect(await api.job(t, "k", job.id)).toMatchObject({ status: "succeeded", attempt: 2, finished_at: done.finished_at });
    expect((await api.usage(t, "k")).user_active_jobs).toBe(0);
  });

  it("SIGSTOP past the lease, then SIGCONT: the job moves on and the paused host's late callbacks are refused", async ({ expect }) => {
    const live = stack.hosts.filter((h) => h.backend.exitCode === null && h.backend.signalCode === null);
    if (live.length !== 1) throw new Error("expected one surviving host");
    // Bring the killed host's slot back: a fresh gpu-backend is not needed; the survivor runs both attempts.
    const t = await api.tenant();
    const job = await api.submitOk(t, "s", SLOW(30, 100));
    const pausedId = await hostOf(job.id, t, "s");
    const paused = stack.hosts.find((h) => h.id === pausedId)!;
    paused.signalBackend("SIGSTOP");
    // Its lease (4 s) runs out; with no other live host the job waits in the queue as attempt 2.
    const requeued = await api.waitFor(t, "s", job.id, (j) => j.status === "queued" || (j.status === "running" && j.attempt === 2), 20_000);
    expect(requeued.status === "queued" || requeued.attempt === 2, `requeued: ${JSON.stringify(requeued)}`).toBe(true);
    paused.signalBackend("SIGCONT");
    // The host wakes up, its heartbeat says its attempt is revoked, its events are refused; the
    // job then runs again (attempt 2) and succeeds exactly once.
    const done = await api.waitForEnd(t, "s", job.id, 60_000);
    expect(done).toMatchObject({ status: "succeeded", attempt: 2 });
    // What the woken host did with attempt 1: dropped it when the edge refused it (a 409 on an
    // event, or `revoked` in a heartbeat reply) — never a second result.
    const logs = paused.backendLogs();
    expect(logs).toMatch(/"event":"(job_stale|job_dropped)"[^\n]*/);
    expect((await api.usage(t, "s")).user_active_jobs).toBe(0);
  });
});
