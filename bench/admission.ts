// Benchmark (issue 3): strict admission under concurrent load, against a real `wrangler dev`.
//
// Each round, 20 tenants each fire 50 concurrent submits (5 users × 10) with limits of 5 per user
// and 20 per tenant, so exactly 20 per tenant should be admitted. Counts limit violations (must be
// 0), admissions per second and submit latency; then, in the same shape and run, authenticated
// GET /v1/jobs/{id}, so the ratio shows what admission plus the insert cost next to a plain read.
// Under that burst a 2-core machine queues everything, so a sequential phase follows that
// measures each path unloaded.
import { startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { BENCH_VARS, createTenantWithKey, WORKFLOW } from "./lib/api.ts";
import { summarize, timed } from "./lib/stats.ts";

const TENANTS = 20;
const PER_TENANT = 50;
const USERS = 5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const LIMITS = { max_active_jobs_per_user: 5, max_active_jobs_per_tenant: 20, requests_per_minute: 1_000_000 };

const dev = await startWranglerDev(BENCH_VARS);
try {
  const tenants = await Promise.all(Array.from({ length: TENANTS }, () => createTenantWithKey(dev.url, LIMITS)));
  const headers = (key: string, user: string) => ({ Authorization: `Bearer ${key}`, "X-User-ID": user, "Content-Type": "application/json" });
  const accepted: number[] = [];
  const refused: number[] = [];
  const reads: number[] = [];
  let violations = 0;
  let underAdmissions = 0;
  let errors = 0;
  let admitted = 0;
  let submitSeconds = 0;

  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const results = await Promise.all(
      tenants.flatMap((t, ti) =>
        Array.from({ length: PER_TENANT }, async (_, i) => {
          const user = `u${i % USERS}`;
          const [ms, res] = await timed(() =>
            fetch(`${dev.url}/v1/jobs`, { method: "POST", headers: headers(t.key, user), body: JSON.stringify({ workflow: WORKFLOW }) }),
          );
          const body = (await res.json()) as { id?: string };
          if (res.status === 202) accepted.push(ms);
          else if (res.status === 429) refused.push(ms);
          else errors++;
          return { ti, user, status: res.status, id: body.id };
        }),
      ),
    );
    submitSeconds += (performance.now() - t0) / 1000;

    for (let ti = 0; ti < TENANTS; ti++) {
      const mine = results.filter((r) => r.ti === ti && r.status === 202);
      admitted += mine.length;
      if (mine.length > LIMITS.max_active_jobs_per_tenant) violations++;
      if (mine.length < LIMITS.max_active_jobs_per_tenant) underAdmissions++;
      for (let u = 0; u < USERS; u++) if (mine.filter((r) => r.user === `u${u}`).length > LIMITS.max_active_jobs_per_user) violations++;
    }

    // The same shape of load, reading instead of submitting.
    const ok = results.filter((r) => r.status === 202);
    await Promise.all(
      ok.map(async (r) => {
        const t = tenants[r.ti]!;
        const [ms, res] = await timed(() => fetch(`${dev.url}/v1/jobs/${r.id}`, { headers: headers(t.key, r.user) }));
        await res.arrayBuffer();
        if (res.status === 200) reads.push(ms);
        else errors++;
      }),
    );

    // Free every slot for the next round (cancel releases exactly once).
    await Promise.all(
      ok.map(async (r) => {
        const res = await fetch(`${dev.url}/v1/jobs/${r.id}`, { method: "DELETE", headers: headers(tenants[r.ti]!.key, r.user) });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
      }),
    );
  }

  const submits = summarize([...accepted, ...refused]);
  const read = summarize(reads);
  console.log(
    JSON.stringify({
      bench: "admission",
      tenants: TENANTS,
      concurrent_per_tenant: PER_TENANT,
      rounds: ROUNDS,
      limit_violations: violations,
      under_admissions: underAdmissions,
      errors,
    }),
  );
  console.log(
    JSON.stringify({
      bench: "admission_throughput",
      decisions: accepted.length + refused.length,
      admitted,
      decisions_per_second: Math.round(((accepted.length + refused.length) / submitSeconds) * 10) / 10,
      admissions_per_second: Math.round((admitted / submitSeconds) * 10) / 10,
    }),
  );
  console.log(JSON.stringify({ bench: "admission_latency", kind: "all submits", ...submits }));
  console.log(JSON.stringify({ bench: "admission_latency", kind: "202 admitted", ...summarize(accepted) }));
  console.log(JSON.stringify({ bench: "admission_latency", kind: "429 refused", ...summarize(refused) }));
  console.log(JSON.stringify({ bench: "read_latency", kind: "GET /v1/jobs/{id}", ...read }));
  console.log(
    JSON.stringify({
      bench: "admission_vs_read",
      p50_ratio: Math.round((summarize(accepted).p50_ms / read.p50_ms) * 100) / 100,
      p99_ratio: Math.round((summarize(accepted).p99_ms / read.p99_ms) * 100) / 100,
    }),
  );

  // Unloaded service times, one request at a time: what each path costs without queueing.
  const roomy = await createTenantWithKey(dev.url, { max_active_jobs_per_user: 10_000, max_active_jobs_per_tenant: 100_000, requests_per_minute: 1_000_000 });
  const full = await createTenantWithKey(dev.url, { max_active_jobs_per_user: 1 });
  const post = (key: string) => fetch(`${dev.url}/v1/jobs`, { method: "POST", headers: headers(key, "seq"), body: JSON.stringify({ workflow: WORKFLOW }) });
  await (await post(full.key)).arrayBuffer();
  const seq = { admitted: [] as number[], refused: [] as number[], read: [] as number[] };
  for (let i = 0; i < 200; i++) {
    const [a, admittedRes] = await timed(() => post(roomy.key));
    const id = ((await admittedRes.json()) as { id: string }).id;
    const [r, refusedRes] = await timed(() => post(full.key));
    await refusedRes.arrayBuffer();
    const [g, readRes] = await timed(() => fetch(`${dev.url}/v1/jobs/${id}`, { headers: headers(roomy.key, "seq") }));
    await readRes.arrayBuffer();
    if (admittedRes.status !== 202 || refusedRes.status !== 429 || readRes.status !== 200) errors++;
    seq.admitted.push(a);
    seq.refused.push(r);
    seq.read.push(g);
  }
  for (const [kind, samples] of Object.entries(seq)) console.log(JSON.stringify({ bench: "sequential_latency", kind, ...summarize(samples) }));
  console.log(
    JSON.stringify({
      bench: "sequential_admission_vs_read",
      p50_ratio: Math.round((summarize(seq.admitted).p50_ms / summarize(seq.read).p50_ms) * 100) / 100,
      refused_p50_ratio: Math.round((summarize(seq.refused).p50_ms / summarize(seq.read).p50_ms) * 100) / 100,
      errors,
    }),
  );
} finally {
  await dev.stop();
}
