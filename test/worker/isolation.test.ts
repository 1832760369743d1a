// Tenants and users are walled off: another tenant's or user's job is a 404 on read and cancel,
// and never shows up in a list. Never a 403, which would confirm the job exists.
import { beforeAll, describe, it } from "vitest";
import { call, createTenant, expectProblem, type JobBody, submitOk, type TestTenant, userHeaders } from "../support/worker-helpers.ts";

describe("isolation", () => {
  let a: TestTenant;
  let b: TestTenant;
  let aliceJob: JobBody;
  beforeAll(async () => {
    a = await createTenant();
    b = await createTenant();
    aliceJob = await submitOk(a.key, "alice");
  });

  const cases = [
    ["tenant B, same user id", () => userHeaders(b.key, "alice")],
    ["tenant A, another user", () => userHeaders(a.key, "mallory")],
  ] as const;

  it.each(cases)("%s cannot read the job", async (_, headers) => {
    await expectProblem(await call(`/v1/jobs/${aliceJob.id}`, { headers: headers() }), 404, "not-found");
  });

  it.each(cases)("%s cannot cancel the job", async (_, headers) => {
    await expectProblem(await call(`/v1/jobs/${aliceJob.id}`, { method: "DELETE", headers: headers() }), 404, "not-found");
  });

  it.each(cases)("%s does not see it in a list", async (_, headers) => {
    const res = await call("/v1/jobs?limit=100", { headers: headers() });
    const body = (await res.json()) as { data: JobBody[] };
    if (body.data.some((j) => j.id === aliceJob.id)) throw new Error("leaked in list");
  });

  it("the owner still sees a queued job after all that", async ({ expect }) => {
    const res = await call(`/v1/jobs/${aliceJob.id}`, { headers: userHeaders(a.key, "alice") });
    expect(res.status).toBe(200);
    expect(((await res.json()) as JobBody).status).toBe("queued");
  });

  it("a 404 for someone else's job looks exactly like one for a job that never existed", async ({ expect }) => {
    const other = (await (await call(`/v1/jobs/${aliceJob.id}`, { headers: userHeaders(b.key, "alice") })).json()) as Record<string, unknown>;
    const missing = (await (await call("/v1/jobs/job_aaaaaaaaaaaaaaaaaaaa", { headers: userHeaders(b.key, "alice") })).json()) as Record<string, unknown>;
    expect(Object.keys(other).sort()).toEqual(Object.keys(missing).sort());
    expect(other.title).toBe(missing.title);
  });
});
