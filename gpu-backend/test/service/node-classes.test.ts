// Node classes are allow-listed: a workflow runs only classes the lock file allows (ComfyUI
// core's at the locked commit plus the lock's extra classes, or its explicit list), never a denied
// class (DENIED_NODE_CLASSES) or an API node. Anything else fails with invalid_workflow naming the
// node and class, and nothing is sent to ComfyUI. A lock that does not say what may run refuses
// to start.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { StartupError } from "../../src/app.ts";
import { comfyHistoryAll, type Harness, startHarness } from "../support/harness.ts";
import { minimal } from "../support/workflows.ts";

const EMULATOR_LOCK = new URL("../../locks/emulator.lock.json", import.meta.url);

/** EmptyImage "1" → ImageInvert "2" → SaveImage "3" (every class the emulator runs). */
const inverted = () => ({
  "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
  "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "inv" } },
});

async function failure(h: Harness, workflow: Record<string, unknown>) {
  const req = h.edge.newJob(workflow);
  await h.edge.dispatch(h.service.url, req);
  const terminal = await h.edge.waitForTerminal(req.job_id);
  if (terminal.type !== "job.failed") throw new Error(`expected job.failed, got ${JSON.stringify(terminal)}`);
  return terminal.error;
}

function lockFile(onTestFinished: (fn: () => void) => void, over: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "gpu-backend-lock-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const lock = { ...(JSON.parse(readFileSync(EMULATOR_LOCK, "utf8")) as Record<string, unknown>), ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete lock[k];
  const path = join(dir, "host.lock.json");
  writeFileSync(path, JSON.stringify(lock));
  return path;
}

describe("node classes", () => {
  it("a denied class (default list) or one outside the lock's set: invalid_workflow naming node and class, nothing sent", async ({ expect }) => {
    const h = await startHarness();
    const denied = await failure(h, { ...minimal(), "3": { class_type: "SaveLatent", inputs: { samples: ["1", 0], filename_prefix: "latents/x" } } });
    expect(denied).toMatchObject({ code: "invalid_workflow", details: { errors: [{ node_id: "3", class_type: "SaveLatent", reason: "denied" }] } });
    expect(denied.message).toContain("node 3: SaveLatent");
    const unknown = await failure(h, { "1": { class_type: "NoSuchNode", inputs: {} } });
    expect(unknown).toMatchObject({ code: "invalid_workflow", details: { errors: [{ node_id: "1", class_type: "NoSuchNode", reason: "not-allowed" }] } });
    expect(await comfyHistoryAll(h.emulator)).toEqual({});
  });

  it("DENIED_NODE_CLASSES is enforced on the host, even for a class ComfyUI has", async ({ expect }) => {
    const h = await startHarness({ env: { DENIED_NODE_CLASSES: "ImageInvert,SaveLatent" } });
    const error = await failure(h, inverted());
    expect(error).toMatchObject({ code: "invalid_workflow", details: { errors: [{ node_id: "2", class_type: "ImageInvert", reason: "denied" }] } });
    expect(await comfyHistoryAll(h.emulator)).toEqual({});
  });

  it("a lock's explicit allowed_node_classes is the whole allowed set", async ({ expect, onTestFinished }) => {
    const LOCK_FILE = lockFile(onTestFinished, { extra_node_classes: undefined, allowed_node_classes: ["EmptyImage", "SaveImage"] });
    const h = await startHarness({ env: { LOCK_FILE } });
    const error = await failure(h, inverted());
    expect(error).toMatchObject({ code: "invalid_workflow", details: { errors: [{ node_id: "2", class_type: "ImageInvert", reason: "not-allowed" }] } });
    expect(error.message).toContain("node 2: ImageInvert");
    expect(await comfyHistoryAll(h.emulator)).toEqual({});
    // What the list allows runs.
    const ok = h.edge.newJob(minimal("allowed"));
    await h.edge.dispatch(h.service.url, ok);
    expect((await h.edge.waitForTerminal(ok.job_id)).type).toBe("job.succeeded");
  });

  it("refuses to start with a lock whose ComfyUI commit has no bundled class list and no explicit list", async ({ expect, onTestFinished }) => {
    const LOCK_FILE = lockFile(onTestFinished, { comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: "f".repeat(40), version: "0.3.99" } });
    const started = startHarness({ env: { LOCK_FILE } });
    await expect(started).rejects.toBeInstanceOf(StartupError);
    await expect(started).rejects.toThrow(/no bundled list of ComfyUI core node classes for commit f{40}/);
  });
});
