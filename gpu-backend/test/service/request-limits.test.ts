// Bounded and verified bodies. The edge's signature is checked from the headers before a byte of
// the body is read: a large unsigned body is answered 401 while the client is still sending it,
// and its connection closed. A workflow nested deeper than MAX_JSON_DEPTH, or a deadline longer
// than MAX_JOB_DEADLINE_MS, is a deterministic 422 — never an accepted job that fails in every
// attempt with the retryable host_error.
import { request } from "node:http";
import { describe, it } from "vitest";
import { generateEdgeSigningKey, signEdgeRequest } from "../../../src/protocol/edge-signing.ts";
import { MAX_JSON_DEPTH } from "../../../src/protocol/node-policy.ts";
import { hostPaths } from "../../../src/protocol/paths.ts";
import { startHarness } from "../support/harness.ts";
import { minimal } from "../support/workflows.ts";

describe("request bodies", () => {
  it("a large body with a bad signature is refused before it is read: 401 while the client is still sending", async ({ expect }) => {
    const h = await startHarness();
    const { key: otherKey } = await generateEdgeSigningKey("test-edge-key"); // right kid, wrong key
    const token = await signEdgeRequest(otherKey, { hostId: h.edge.hostId, method: "POST", path: hostPaths.dispatch, body: "" });
    const url = new URL(hostPaths.dispatch, h.service.url);
    const declared = 4 * 1024 * 1024; // under MAX_DISPATCH_BYTES: only the signature can refuse it
    const answer = await new Promise<{ status: number; sentBytes: number; closed: Promise<void> }>((resolve, reject) => {
      const req = request(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Content-Length": declared },
      });
      let sent = 0;
      const closed = new Promise<void>((r) => req.once("close", () => r()));
      req.on("error", () => {}); // the host closes the connection once it has answered
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, sentBytes: sent, closed });
      });
      // 80 KiB, then nothing more: the rest of the declared body is never sent.
      const chunk = Buffer.alloc(80 * 1024, 0x20);
      req.write(chunk, () => (sent += chunk.length));
      setTimeout(() => reject(new Error("no answer while the body was still being sent")), 10_000).unref();
    });
    expect(answer.status).toBe(401);
    expect(answer.sentBytes).toBeLessThan(declared);
    await answer.closed; // and the host did not wait for (or keep) the connection
    expect(h.service.manager.held).toBe(0);
  });

  it("a workflow nested deeper than MAX_JSON_DEPTH is a 422, not an accepted job", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob({ ...minimal(), "3": { class_type: "EmptyImage", inputs: { width: "DEEP" } } });
    const depth = 10_000; // deep enough to overflow structuredClone / JSON.stringify
    const body = JSON.stringify(req).replace('"DEEP"', `${"[".repeat(depth)}${"]".repeat(depth)}`);
    const reply = await h.edge.signedPost(h.service.url, hostPaths.dispatch, body);
    expect(reply.status).toBe(422);
    expect(reply.json).toMatchObject({ type: "https://comfyui-saas.dev/problems/validation-failed", errors: [{ pointer: "/workflow" }] });
    expect(String(reply.json.detail)).toContain(String(MAX_JSON_DEPTH));
    expect(h.service.manager.held).toBe(0);
    expect(h.edge.events).toEqual([]);
  });

  it("a deadline longer than MAX_JOB_DEADLINE_MS is a 422", async ({ expect }) => {
    const h = await startHarness({ env: { MAX_JOB_DEADLINE_MS: "120000" } });
    const tooLong = await h.edge.dispatch(h.service.url, h.edge.newJob(minimal(), { deadline_ms: 120_001 }));
    expect(tooLong.status).toBe(422);
    expect(tooLong.json).toMatchObject({ errors: [{ pointer: "/deadline_ms" }] });
    expect(h.service.manager.held).toBe(0);
    const ok = h.edge.newJob(minimal(), { deadline_ms: 120_000 });
    expect((await h.edge.dispatch(h.service.url, ok)).status).toBe(202);
    expect((await h.edge.waitForTerminal(ok.job_id)).type).toBe("job.succeeded");
  });
});
