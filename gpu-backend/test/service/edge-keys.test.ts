// An edge key rollover as the running host sees it: heartbeats name the keys it pins; a reply's
// update signed by a pinned key makes the next key trusted (dispatches signed with it are taken),
// an update signed by a key it does not pin changes nothing.
import { describe, it } from "vitest";
import { generateEdgeSigningKey } from "../../../src/protocol/edge-signing.ts";
import { signJwksUpdate } from "../../../src/protocol/jwks-update.ts";
import { hostPaths } from "../../../src/protocol/paths.ts";
import { startHarness } from "../support/harness.ts";
import { sampler } from "../support/workflows.ts";

describe("edge keys", () => {
  it("pins the next key from a heartbeat reply signed by the pinned one, then accepts dispatches signed with it", async ({ expect }) => {
    const h = await startHarness();
    expect((await h.edge.waitForHeartbeat(() => true)).edge_kids).toEqual(["test-edge-key"]);
    const next = await generateEdgeSigningKey("next-edge-key");
    // Not yet pinned: a dispatch signed with the next key is refused.
    const early = h.edge.newJob(sampler(2, 5));
    expect((await h.edge.signedPost(h.service.url, hostPaths.dispatch, JSON.stringify(early), { key: next.key })).status).toBe(401);

    h.edge.edgeJwksUpdate = await signJwksUpdate(h.edge.key, h.edge.hostId, { keys: [...h.edge.jwks.keys, ...next.jwks.keys] });
    await h.edge.waitForHeartbeat((b) => b.edge_kids?.includes("next-edge-key") === true);
    const req = h.edge.newJob(sampler(2, 5));
    expect((await h.edge.signedPost(h.service.url, hostPaths.dispatch, JSON.stringify(req), { key: next.key })).status).toBe(202);
    // The current key still works during the overlap.
    const other = h.edge.newJob(sampler(2, 5));
    expect((await h.edge.dispatch(h.service.url, other)).status).toBe(202);
  });

  it("ignores an update signed by a key it does not pin", async ({ expect }) => {
    const h = await startHarness();
    await h.edge.waitForHeartbeat(() => true);
    const rogue = await generateEdgeSigningKey("rogue");
    h.edge.edgeJwksUpdate = await signJwksUpdate(rogue.key, h.edge.hostId, rogue.jwks);
    const seen = h.edge.heartbeats.length;
    // Two more heartbeats after the update was offered: the host still names only its pin.
    const later = await h.edge.waitForHeartbeat(() => h.edge.heartbeats.length >= seen + 2);
    expect(later.edge_kids).toEqual(["test-edge-key"]);
    const req = h.edge.newJob(sampler(2, 5));
    expect((await h.edge.signedPost(h.service.url, hostPaths.dispatch, JSON.stringify(req), { key: rogue.key })).status).toBe(401);
    expect(h.logs.some((l) => l.includes("edge_keys_update_refused"))).toBe(true);
  });
});
