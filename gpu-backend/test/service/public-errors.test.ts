// Errors tenants see carry no host internals: a node's exception can name absolute paths, the
// machine's name and addresses, and ComfyUI adds a Python traceback (install paths, module
// layout). The host reports the error through publicFailure — paths reduced to file names, host
// names and addresses hidden, no traceback — and keeps the whole error in its own log, with the
// job id.
import { hostname } from "node:os";
import { describe, it } from "vitest";
import { startHarness } from "../support/harness.ts";
import { failing } from "../support/workflows.ts";

describe("errors the edge is told", () => {
  it("carry no traceback, absolute path, host name or address; the host's log has it all", async ({ expect }) => {
    const h = await startHarness();
    const machine = hostname();
    // Names shorter than 3 characters are not hidden (replacing them would garble any text).
    const hidden = [h.edge.hostId, ...(machine.length >= 3 ? [machine] : [])];
    const message = `cannot open /srv/private/models/${machine}/secret.safetensors on ${hidden.join(" and ")} (10.1.2.3:8188)`;
    const req = h.edge.newJob(failing("RaiseErrorEmu", { message, exception_type: "OSError" }));
    await h.edge.dispatch(h.service.url, req);
    const terminal = await h.edge.waitForTerminal(req.job_id);
    if (terminal.type !== "job.failed") throw new Error(`expected job.failed, got ${JSON.stringify(terminal)}`);
    const { error } = terminal;
    expect(error.code).toBe("execution_error");
    expect(error.message).toBe(`RaiseErrorEmu 2: OSError: cannot open secret.safetensors on ${hidden.map(() => "[host]").join(" and ")} ([address])`);
    expect(error.details).toMatchObject({ node_id: "2", node_type: "RaiseErrorEmu", exception_type: "OSError" });
    expect(error.details).not.toHaveProperty("traceback");
    const wire = JSON.stringify(error);
    for (const secret of ["/srv/private", "/ComfyUI/", "execution.py", "10.1.2.3", ...hidden]) expect(wire).not.toContain(secret);

    const logged = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "job_failure" && l.job_id === req.job_id);
    expect(logged).toMatchObject({ attempt: 1, code: "execution_error" });
    expect(String(logged!.message)).toContain(`/srv/private/models/${machine}/secret.safetensors`);
    expect(JSON.stringify((logged!.details as { traceback: string[] }).traceback)).toContain("execution.py");
  });
});
