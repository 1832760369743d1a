// Host → edge delivery: network errors and 5xx are retried with backoff (bounded), 4xx never; a
// terminal event whose reply was lost is sent again with the same seq, so the edge applies it
// exactly once; outputs are uploaded before the success that names them.
import { describe, it } from "vitest";
import { startHarness, waitFor } from "../support/harness.ts";
import { failing, minimal } from "../support/workflows.ts";

const isSuccess = (body: unknown) => (body as { type?: string }).type === "job.succeeded";
const isFailure = (body: unknown) => (body as { type?: string }).type === "job.failed";

describe("delivery to the edge", () => {
  it("retries a terminal event through 5xx answers until the edge takes it", async ({ expect }) => {
    const h = await startHarness();
    h.edge.fail("events", 503, 2, { when: isSuccess });
    const req = h.edge.newJob(minimal());
    await h.edge.dispatch(h.service.url, req);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal.type).toBe("job.succeeded");
    expect(h.edge.eventsFor(req.job_id).filter((e) => e.type === "job.succeeded")).toHaveLength(1);
    expect(h.edge.eventRequests.get("job.succeeded")).toBe(3); // 2 × 503, then taken
  });

  it("a lost reply makes the host resend; the edge applies the event once (same seq)", async ({ expect }) => {
    const h = await startHarness();
    h.edge.fail("events", 502, 1, { when: isSuccess, afterApply: true });
    const req = h.edge.newJob(minimal());
    await h.edge.dispatch(h.service.url, req);
    await h.edge.waitForTerminal(req.job_id);
    await waitFor(() => h.service.manager.held === 0, 5_000, "job released");
    const received = h.edge.eventsFor(req.job_id).filter((e) => e.type === "job.succeeded");
    expect(received).toHaveLength(2);
    expect(received[0]!.seq).toBe(received[1]!.seq);
    expect(h.edge.terminalsFor(req.job_id)).toHaveLength(1);
  });

  it("never retries a 4xx", async ({ expect }) => {
    const h = await startHarness();
    h.edge.fail("events", 400, 5, { when: isFailure });
    const req = h.edge.newJob(failing("RaiseErrorEmu"));
    await h.edge.dispatch(h.service.url, req);
    await waitFor(() => h.service.manager.held === 0, 5_000, "job released");
    expect(h.edge.eventRequests.get("job.failed")).toBe(1); // refused once, never again
    expect(h.logs.some((l) => l.includes('"event":"event_not_delivered"') && l.includes('"reason":"rejected"'))).toBe(true);
  });

  it("a success carried by the last upload and refused with a 4xx ends the job as output_upload_failed, under the same seq", async ({ expect }) => {
    const h = await startHarness();
    h.edge.fail("events", 422, 5, { when: isSuccess });
    const req = h.edge.newJob(minimal());
    await h.edge.dispatch(h.service.url, req);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    expect(terminal).toMatchObject({ type: "job.failed", error: { code: "output_upload_failed" } });
    expect(h.edge.eventRequests.get("job.succeeded")).toBe(1); // refused once, never again
    // The refused success had reserved seq 0 (nothing came before it): the failure took its place.
    expect(h.edge.eventsFor(req.job_id).map((e) => [e.type, e.seq])).toEqual([["job.failed", 0]]);
  });

  it("gives up after EDGE_RETRY_ATTEMPTS tries when the edge keeps failing", async ({ expect }) => {
    const h = await startHarness({ env: { EDGE_RETRY_ATTEMPTS: "3" } });
    h.edge.fail("events", 500, 100, { when: isSuccess });
    const req = h.edge.newJob(minimal());
    await h.edge.dispatch(h.service.url, req);
    await waitFor(() => h.service.manager.held === 0, 5_000, "job released");
    expect(h.edge.eventRequests.get("job.succeeded")).toBe(3); // 3 tries, then given up
  });

  it("an output upload refused with 5xx is retried; refused with 4xx fails the job (output_upload_failed)", async ({ expect }) => {
    const h = await startHarness();
    h.edge.fail("output", 503, 1);
    const ok = h.edge.newJob(minimal("retried"));
    await h.edge.dispatch(h.service.url, ok);
    expect((await h.edge.waitForTerminal(ok.job_id)).type).toBe("job.succeeded");

    h.edge.fail("output", 413, 1);
    const refused = h.edge.newJob(minimal("refused"));
    await h.edge.dispatch(h.service.url, refused);
    expect(await h.edge.waitForTerminal(refused.job_id)).toMatchObject({ type: "job.failed", error: { code: "output_upload_failed" } });
  });
});
