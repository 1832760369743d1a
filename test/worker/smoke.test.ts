import { describe, it } from "vitest";
import { call, createTenant, submitOk } from "../support/worker-helpers.ts";

describe("smoke", () => {
  it("serves health and runs a job submit", async ({ expect }) => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    const t = await createTenant();
    const job = await submitOk(t.key, "alice");
    expect(job.status).toBe("queued");
  });
});
