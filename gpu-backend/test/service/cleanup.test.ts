// Everything of a job is deleted when it ends, whatever the outcome: its input, output and temp
// namespace folders and every file its prompt reported — previews included, which ComfyUI writes
// into the root of its shared temp folder. The job's files are gone before the edge hears the
// result. What is left anyway (a crash, a late write) is swept: once at start and every
// SWEEP_INTERVAL_MS, anything older than MAX_JOB_DEADLINE_MS under the per-job roots and in the
// temp folder — never what a held job owns, however old it looks.
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { comfyHistoryAll, type Harness, jobLeftovers, startHarness, waitFor } from "../support/harness.ts";
import { png } from "../support/workflows.ts";

/** LoadImage "1" (a placed input) → PreviewImage "2", and GateEmu "3" → SaveImage "4". */
function previewThenGate(h: Harness, gate: string) {
  const base = h.edge.newJob({
    "1": { class_type: "LoadImage", inputs: { image: "upload:in" } },
    "2": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
    "3": { class_type: "GateEmu", inputs: { image: ["1", 0], name: gate, step_ms: 0 } },
    "4": { class_type: "SaveImage", inputs: { images: ["3", 0], filename_prefix: "gated" } },
  });
  return { ...base, inputs: [h.edge.addInput(base.job_id, "in", png(2, 2, [9, 9, 9]), { node_id: "1", input_name: "image" })] };
}

/** Waits until the held job's input and preview are on disk. */
const untilPreviewWritten = (emulator: EmulatorHandle) =>
  waitFor(
    () => {
      const left = jobLeftovers(emulator);
      return left.some((p) => p.startsWith("input/saas/")) && left.some((p) => /^temp\/ComfyUI_temp_.*\.png$/.test(p)) ? left : undefined;
    },
    10_000,
    "the job's input and preview on disk",
  );

const DAY_MS = 86_400_000;
/** A file written two days ago, in folders (from `root` down) last changed then too. */
function writeOld(root: string, rel: string): string {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, png(1, 1, [0, 0, 0]));
  const t = new Date(Date.now() - 2 * DAY_MS);
  for (let p = path; p.length > root.length; p = dirname(p)) utimesSync(p, t, t);
  return path;
}

describe("a job's files", () => {
  it("are all gone when the edge hears of success: input, output and preview", async ({ expect }) => {
    const h = await startHarness();
    const req = previewThenGate(h, "open");
    h.emulator.openGate("open");
    await h.edge.dispatch(h.service.url, req);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.succeeded") throw new Error(`expected success: ${JSON.stringify(terminal)}`);
    expect(terminal.outputs.map((o) => o.node_id).sort()).toEqual(["2", "4"]);
    expect(jobLeftovers(h.emulator)).toEqual([]);
  });

  it("are all gone after a failure, a cancel and a drop", async ({ expect }) => {
    const h = await startHarness();
    // Failure after a preview was written.
    const failed = h.edge.newJob({
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
      "3": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom", exception_type: "ValueError" } },
    });
    await h.edge.dispatch(h.service.url, failed);
    expect(await h.edge.waitForTerminal(failed.job_id)).toMatchObject({ type: "job.failed", error: { code: "execution_error" } });
    // The only prompt ComfyUI ran so far (a prompt this fast sends no job.started to name it).
    const [entry] = Object.values(await comfyHistoryAll(h.emulator)) as Array<{ outputs: Record<string, unknown> }>;
    expect(Object.keys(entry!.outputs)).toContain("2"); // the preview was written before the error
    expect(jobLeftovers(h.emulator)).toEqual([]);

    // Cancel while running, with its input and preview on disk.
    const cancelled = previewThenGate(h, "never-c");
    await h.edge.dispatch(h.service.url, cancelled);
    await untilPreviewWritten(h.emulator);
    await h.edge.cancel(h.service.url, cancelled);
    expect((await h.edge.waitForTerminal(cancelled.job_id)).type).toBe("job.cancelled");
    expect(jobLeftovers(h.emulator)).toEqual([]);

    // Dropped (lease revoked): nothing is reported, and nothing is left either.
    const dropped = previewThenGate(h, "never-d");
    await h.edge.dispatch(h.service.url, dropped);
    await untilPreviewWritten(h.emulator);
    h.edge.pendingRevoke.push({ job_id: dropped.job_id, attempt: dropped.attempt, lease_id: dropped.lease_id });
    expect(await h.service.manager.waitIdle(10_000)).toBe(true);
    expect(h.edge.terminalsFor(dropped.job_id)).toEqual([]);
    expect(jobLeftovers(h.emulator)).toEqual([]);
  });
});

describe("the sweep", () => {
  it("removes old leftovers under the per-job roots and in temp, but no held job's files and nothing else", async ({ expect }) => {
    const h = await startHarness();
    const { input, output, temp } = h.emulator.dirs;
    const held = previewThenGate(h, "held");
    await h.edge.dispatch(h.service.url, held);
    const heldFiles = (await untilPreviewWritten(h.emulator)).map((p) => join(h.emulator.dirs.base, p));
    // The host knows the preview is the held job's once ComfyUI has reported it (`executed`).
    const preview = heldFiles.find((p) => p.startsWith(temp))!;
    await waitFor(() => h.service.manager.heldFiles().files.has(preview), 10_000, "the preview known as the held job's");
    // The held job's files made to look ancient: only ownership protects them now.
    const ancient = new Date(Date.now() - 2 * DAY_MS);
    for (const p of heldFiles) utimesSync(p, ancient, ancient);

    const leftovers = [
      writeOld(input, "saas/job_gone-a1-00000000/in-x.png"),
      writeOld(output, "saas/job_gone-a1-00000000/pics/out_00001_.png"),
      writeOld(temp, "saas/job_gone-a1-00000000/t.png"),
      writeOld(temp, "ComfyUI_temp_zzzzz_00001_.png"),
      writeOld(temp, "old-folder/x.png"),
    ];
    const fresh = join(temp, "ComfyUI_temp_yyyyy_00001_.png");
    writeFileSync(fresh, png(1, 1, [1, 1, 1]));
    // Outside the per-job roots: an operator's files stay, however old.
    const operator = [writeOld(input, "example.png"), writeOld(output, "kept_00001_.png")];

    const result = await h.service.sweep();
    for (const p of leftovers) expect(existsSync(p), p).toBe(false);
    expect(readdirSync(join(input, "saas")).filter((n) => n.startsWith("job_gone"))).toEqual([]);
    expect(existsSync(fresh)).toBe(true);
    for (const p of [...operator, ...heldFiles]) expect(existsSync(p), p).toBe(true);
    expect(result.removed.length).toBeGreaterThanOrEqual(3);

    // The held job still finishes normally, and then its files go too.
    h.emulator.openGate("held");
    expect((await h.edge.waitForTerminal(held.job_id)).type).toBe("job.succeeded");
    expect(jobLeftovers(h.emulator).filter((p) => p !== "temp/ComfyUI_temp_yyyyy_00001_.png")).toEqual([]);
  });

  it("runs at start, before the first job can arrive", async ({ expect }) => {
    let leftover = "";
    const h = await startHarness({
      beforeService: async (emulator) => {
        leftover = writeOld(emulator.dirs.output, "saas/job_crashed-a3-00000000/x_00001_.png");
      },
    });
    expect(existsSync(leftover)).toBe(false);
    expect(jobLeftovers(h.emulator)).toEqual([]);
  });
});
