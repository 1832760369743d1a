// The README's curl walkthrough, run verbatim against the real local stack (wrangler dev, a
// gpu-backend, a ComfyUI emulator): if the README says it works, it does.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { ROOT } from "../../scripts/lib/wrangler-dev.ts";

function readmeFlow(): string {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const m = /<!-- flow:start[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- flow:end -->/.exec(readme);
  if (!m) throw new Error("README has no flow block");
  return m[1]!;
}

describe("README walkthrough", () => {
  let stack: LocalStack;
  let dir: string;
  beforeAll(async () => {
    stack = await startLocalStack({ hosts: 1 });
    dir = mkdtempSync(join(tmpdir(), "readme-flow-"));
  });
  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("admin → tenant → key → submit → watch → wait → download → list → cancel works as written", ({ expect }) => {
    const out = execFileSync("bash", ["-euo", "pipefail", "-c", readmeFlow()], {
      cwd: dir,
      env: { ...process.env, BASE: stack.edge.url, ADMIN_TOKEN: stack.adminToken },
      encoding: "utf8",
      timeout: 90_000,
    });
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(5);
    // The stream, repeats folded: from job.queued to job.succeeded, with progress and the output between.
    const events = lines.shift()!.events as string[];
    expect(events.slice(0, 2)).toEqual(["job.queued", "job.running"]);
    expect(events).toContain("job.progress");
    expect(events.slice(-2)).toEqual(["job.output", "job.succeeded"]);
    expect(lines[0]).toMatchObject({
      id: expect.stringMatching(/^job_/),
      status: "succeeded",
      outputs: [{ content_type: "image/png", name: expect.stringMatching(/\.png$/) }],
    });
    expect(lines[1]).toEqual({ count: 1, next_cursor: null });
    expect(lines[2]).toEqual({ status: "running", cancel_requested: true });
    expect(lines[3]).toEqual({ status: "cancelled" });
    // The downloaded file is the 512×512 PNG the workflow asked for.
    const png = readFileSync(join(dir, "demo.png"));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([512, 512]);
  });
});
