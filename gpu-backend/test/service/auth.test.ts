// Every edge → host request must carry a valid EdDSA JWT for exactly this request, this host, once.
// Anything else is a 401 problem and changes nothing.
import { describe, it } from "vitest";
import { generateEdgeSigningKey } from "../../../src/protocol/edge-signing.ts";
import { hostPaths } from "../../../src/protocol/paths.ts";
import { type HostReply, post } from "../support/fake-edge.ts";
import { startHarness } from "../support/harness.ts";
import { minimal } from "../support/workflows.ts";

const expectUnauthenticated = (reply: HostReply, expect: (v: unknown) => { toBe(x: unknown): void }) => {
  expect(reply.status).toBe(401);
  expect(reply.headers.get("content-type")).toBe("application/problem+json");
  expect(reply.json.type).toBe("https://comfyui-saas.dev/problems/unauthenticated");
};

describe("edge request signatures", () => {
  it("refuses unsigned, malformed, foreign-key, expired, mis-addressed and replayed requests", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(minimal());
    const body = JSON.stringify(req);
    const url = h.service.url;
    const { key: otherKey } = await generateEdgeSigningKey("test-edge-key"); // same kid, other key

    expectUnauthenticated(await post(url, hostPaths.dispatch, body), expect);
    expectUnauthenticated(await post(url, hostPaths.dispatch, body, { Authorization: "Bearer not-a-jwt" }), expect);
    expectUnauthenticated(await post(url, hostPaths.dispatch, body, { Authorization: "Basic dXNlcjpwYXNz" }), expect);
    expectUnauthenticated(await h.edge.signedPost(url, hostPaths.dispatch, body, { key: otherKey }), expect);
    expectUnauthenticated(await h.edge.signedPost(url, hostPaths.dispatch, body, { now: Date.now() - 5 * 60_000 }), expect);
    expectUnauthenticated(await h.edge.signedPost(url, hostPaths.dispatch, body, { hostId: "gpu-other" }), expect);
    expectUnauthenticated(await h.edge.signedPost(url, hostPaths.dispatch, body, { path: hostPaths.cancel(req.job_id) }), expect);
    expectUnauthenticated(await h.edge.signedPost(url, hostPaths.dispatch, body, { method: "PUT" }), expect);
    expectUnauthenticated(await h.edge.signedPost(url, hostPaths.dispatch, body, { body: JSON.stringify({ ...req, attempt: 2 }) }), expect);
    // None of these reached the job manager.
    expect(h.service.manager.held).toBe(0);
    expect(h.edge.events).toEqual([]);

    // A good token works once; the same token again is a replay.
    const { signEdgeRequest } = await import("../../../src/protocol/edge-signing.ts");
    const token = await signEdgeRequest(h.edge.key, { hostId: h.edge.hostId, method: "POST", path: hostPaths.dispatch, body });
    expect((await post(url, hostPaths.dispatch, body, { Authorization: `Bearer ${token}` })).status).toBe(202);
    expectUnauthenticated(await post(url, hostPaths.dispatch, body, { Authorization: `Bearer ${token}` }), expect);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const reason of ["missing", "malformed", "bad_signature", "expired", "wrong_host", "wrong_request", "body_mismatch", "replayed"]) {
      expect(metrics).toMatch(new RegExp(`gpu_backend_auth_rejected_total\\{reason="${reason}"\\} [1-9]`));
    }
  });

  it("a cancel signed for another job's path is refused", async ({ expect }) => {
    const h = await startHarness();
    const req = h.edge.newJob(minimal());
    const body = JSON.stringify({ job_id: req.job_id, attempt: 1, lease_id: req.lease_id, reason: "user" });
    expectUnauthenticated(await h.edge.signedPost(h.service.url, hostPaths.cancel(req.job_id), body, { path: hostPaths.cancel("job_other") }), expect);
  });

  it("checks the signature, then the size, then JSON, then the schema", async ({ expect }) => {
    const h = await startHarness({ env: { MAX_DISPATCH_BYTES: "2048" } });
    const big = JSON.stringify({ pad: "x".repeat(4000) });
    const tooBig = await h.edge.signedPost(h.service.url, hostPaths.dispatch, big);
    expect(tooBig.status).toBe(413);
    // Unsigned, the same body is refused for its signature, before its size is looked at.
    expectUnauthenticated(await post(h.service.url, hostPaths.dispatch, big), expect);
    const notJson = await h.edge.signedPost(h.service.url, hostPaths.dispatch, "{nope");
    expect([notJson.status, notJson.json.type]).toEqual([400, "https://comfyui-saas.dev/problems/malformed-json"]);
    const badShape = await h.edge.signedPost(h.service.url, hostPaths.dispatch, JSON.stringify({ job_id: "j", attempt: 0 }));
    expect(badShape.status).toBe(422);
    expect(badShape.json.errors).toEqual(expect.arrayContaining([expect.objectContaining({ pointer: "/attempt" })]));
    const wrongMethod = await fetch(`${h.service.url}${hostPaths.dispatch}`);
    expect(wrongMethod.status).toBe(405);
    const unknown = await fetch(`${h.service.url}/v1/nope`, { method: "POST" });
    expect(unknown.status).toBe(404);
  });
});
