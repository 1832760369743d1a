// The README's curl walkthrough, run verbatim against a real `wrangler dev`: if the README says it
// works, it does.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, it } from "vitest";
import { newEdgeSigningKey } from "../../scripts/lib/edge-key.ts";
import { ROOT, startWranglerDev, type WranglerDev } from "../../scripts/lib/wrangler-dev.ts";

const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef0123456789";

function readmeFlow(): string {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const m = /<!-- flow:start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- flow:end -->/.exec(readme);
  if (!m) throw new Error("README has no flow block");
  return m[1]!;
}

describe("README walkthrough", () => {
  let dev: WranglerDev;
  beforeAll(async () => {
    dev = await startWranglerDev({
      ENVIRONMENT: "development",
      ADMIN_TOKEN,
      DATA_ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
      EDGE_SIGNING_KEY: newEdgeSigningKey("edge-e2e"),
    });
  });
  afterAll(async () => {
    await dev?.stop();
  });

  it("admin → tenant → key → submit → get → list → cancel works as written", ({ expect }) => {
    const out = execFileSync("bash", ["-euo", "pipefail", "-c", readmeFlow()], {
      cwd: ROOT,
      env: { ...process.env, BASE: dev.url, ADMIN_TOKEN },
      encoding: "utf8",
      timeout: 60_000,
    });
    const lines = out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ id: expect.stringMatching(/^job_/), status: "queued" });
    expect(lines[1]).toEqual({ count: 1, next_cursor: null });
    expect(lines[2]).toEqual({ id: lines[0]!.id, status: "cancelled" });
  });
});
