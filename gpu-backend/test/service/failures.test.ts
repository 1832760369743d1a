// Jobs that fail, each with the code and details the edge needs to decide on a retry.
import { describe, it } from "vitest";
import { JOB_ERROR_CODES } from "../../../src/protocol/messages.ts";
import { comfyQueue, startHarness } from "../support/harness.ts";
import { failing, invert, minimal } from "../support/workflows.ts";

const failureOf = async (h: Awaited<ReturnType<typeof startHarness>>, jobId: string) => {
  const terminal = await h.edge.waitForTerminal(jobId);
  if (terminal.type !== "job.failed") throw new Error(`expected job.failed, got ${JSON.stringify(terminal)}`);
  return terminal.error;
};

describe("a job that fails", () => {
  it("invalid workflow: ComfyUI's 400 and node_errors are surfaced, not retryable, nothing queued", async ({ expect }) => {
    const h = await startHarness();
    const workflow = minimal();
    (workflow["1"] as { inputs: Record<string, unknown> }).inputs.width = 0;
    const req = h.edge.newJob(workflow);
    expect((await h.edge.dispatch(h.service.url, req)).status).toBe(202);
    const error = await failureOf(h, req.job_id);
    expect(error.code).toBe("invalid_workflow");
    expect(JOB_ERROR_CODES[error.code].retryable).toBe(false);
    expect(error.message).toContain("Prompt outputs failed validation");
    expect(error.message).toContain("Value 0 smaller than min of 1");
    expect(error.details).toMatchObject({
      error: { type: "prompt_outputs_failed_validation" },
      node_errors: { "1": { class_type: "EmptyImage", errors: [{ type: "value_smaller_than_min", details: "width" }] } },
    });
    // Refused at POST /prompt: no job.started.
    expect(h.edge.eventsFor(req.job_id).map((e) => e.type)).toEqual(["job.failed"]);
    expect(await comfyQueue(h.emulator)).toEqual({ running: [], pending: [] });
  });

  it("a class the lock allows but this ComfyUI lacks: invalid_workflow with ComfyUI's invalid_prompt error", async ({ expect }) => {
    const h = await startHarness();
    // A core class (so the lock allows it) that the emulator does not implement.
    const req = h.edge.newJob({ "1": { class_type: "ImageBlur", inputs: {} } });
    await h.edge.dispatch(h.service.url, req);
    const error = await failureOf(h, req.job_id);
    expect(error).toMatchObject({ code: "invalid_workflow", details: { error: { type: "invalid_prompt" } } });
    expect(error.message).toContain("ImageBlur");
  });

  it("a partly valid workflow (200 with node_errors) is not run halfway: invalid_workflow", async ({ expect }) => {
    const h = await startHarness();
    const workflow = {
      ...minimal("good"),
      "3": { class_type: "EmptyImage", inputs: { width: 0, height: 8, batch_size: 1, color: 0 } },
      "4": { class_type: "SaveImage", inputs: { images: ["3", 0], filename_prefix: "bad" } },
    };
    const req = h.edge.newJob(workflow);
    await h.edge.dispatch(h.service.url, req);
    const error = await failureOf(h, req.job_id);
    expect(error.code).toBe("invalid_workflow");
    expect(error.details).toMatchObject({ node_errors: { "3": { class_type: "EmptyImage" } } });
    expect(h.edge.outputs.get(req.job_id)).toBeUndefined();
  });

  it("execution error: the node's exception and type (the traceback only in the host's log)", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(failing("RaiseErrorEmu", { message: "kaboom", exception_type: "ValueError" }));
    await h.edge.dispatch(h.service.url, req);
    const error = await failureOf(h, req.job_id);
    expect(error.code).toBe("execution_error");
    expect(error.message).toContain("ValueError: kaboom");
    expect(error.details).toMatchObject({ node_id: "2", node_type: "RaiseErrorEmu", exception_type: "ValueError" });
    expect(error.details).not.toHaveProperty("traceback");
    const logged = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "job_failure" && l.job_id === req.job_id);
    expect((logged?.details as { traceback?: string[] } | undefined)?.traceback?.length).toBeGreaterThan(0);
    // Over within 25 ms: no job.started, the failure says what it would have (src/jobs/events.ts).
    expect(h.edge.eventsFor(req.job_id).map((e) => e.type)).toEqual(["job.failed"]);
    expect(h.edge.terminalsFor(req.job_id)[0]).toMatchObject({ model_fetch_ms: 0, input_fetch_ms: expect.any(Number) });
  });

  it("out of memory is recognised from torch's error", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(failing("OOMEmu", { allocate_gb: 500 }));
    await h.edge.dispatch(h.service.url, req);
    const error = await failureOf(h, req.job_id);
    expect(error.code).toBe("out_of_memory");
    expect(error.details).toMatchObject({ node_type: "OOMEmu" });
    expect(String((error.details as { exception_type: string }).exception_type)).toMatch(/OutOfMemoryError/);
  });

  it("an input the edge cannot serve fails retryably with input_unavailable, before ComfyUI sees the job", async ({ expect }) => {
    const h = await startHarness();
    const base = h.edge.newJob(invert());
    const input = h.edge.addInput(base.job_id, "in1", Buffer.from("x"), { node_id: "1", input_name: "image" });
    h.edge.inputs.clear(); // announced, but the edge no longer has it (404)
    const req = { ...base, inputs: [input] };
    await h.edge.dispatch(h.service.url, req);
    const error = await failureOf(h, req.job_id);
    expect(error.code).toBe("input_unavailable");
    expect(JOB_ERROR_CODES[error.code].retryable).toBe(true);
    expect(error.message).toContain("404");
    expect(h.edge.eventsFor(req.job_id).map((e) => e.type)).toEqual(["job.failed"]);
  });

  it("an input whose bytes differ from the announced sha256 is refused after bounded retries", async ({ expect }) => {
    const h = await startHarness({ env: { EDGE_RETRY_ATTEMPTS: "3" } });
    const base = h.edge.newJob(invert());
    const input = h.edge.addInput(base.job_id, "in1", Buffer.from("real bytes"), { node_id: "1", input_name: "image" });
    const req = { ...base, inputs: [{ ...input, sha256: "0".repeat(64) }] };
    await h.edge.dispatch(h.service.url, req);
    const error = await failureOf(h, req.job_id);
    expect(error.code).toBe("input_unavailable");
    expect(h.edge.inputFetches).toHaveLength(3);
  });
});
