// The edge keys a host pins follow an update only when a key pinned now vouches for it: that is
// what lets the edge roll its signing key over without re-pinning hosts by hand, and what keeps a
// forged or replayed update from changing anything.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JSONWebKeySet } from "jose";
import { afterEach, describe, it } from "vitest";
import { generateEdgeSigningKey, publicJwkOf } from "../../../src/protocol/edge-signing.ts";
import { signJwksUpdate } from "../../../src/protocol/jwks-update.ts";
import { PinnedEdgeKeys } from "../../src/edge/pinned-keys.ts";

const HOST = "gpu-1";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function keys() {
  const current = await generateEdgeSigningKey("edge-1");
  const next = await generateEdgeSigningKey("edge-2");
  const both: JSONWebKeySet = { keys: [...current.jwks.keys, ...next.jwks.keys] };
  return { current, next, both };
}

describe("edge key updates", () => {
  it("pins the new set when a pinned key signed it, and then trusts the new key", async ({ expect }) => {
    const { current, next, both } = await keys();
    const pinned = new PinnedEdgeKeys(current.jwks, { hostId: HOST });
    expect(pinned.kids()).toEqual(["edge-1"]);
    const t0 = Date.now();
    expect(await pinned.apply(await signJwksUpdate(current.key, HOST, both, t0))).toEqual({ ok: true, changed: true, kids: ["edge-1", "edge-2"] });
    expect(pinned.kids()).toEqual(["edge-1", "edge-2"]);
    // After the switch the edge signs with edge-2, which the host now pins; dropping edge-1 works too.
    expect(await pinned.apply(await signJwksUpdate(next.key, HOST, next.jwks, t0 + 2_000))).toMatchObject({ ok: true, kids: ["edge-2"] });
    expect(pinned.current()).toEqual(next.jwks);
  });

  it("refuses an update signed by a key it does not pin, and keeps its keys", async ({ expect }) => {
    const { current, next, both } = await keys();
    const pinned = new PinnedEdgeKeys(current.jwks, { hostId: HOST });
    expect(await pinned.apply(await signJwksUpdate(next.key, HOST, both))).toEqual({ ok: false, reason: "unknown_key" });
    // A key with a pinned kid but other key material: a bad signature, not a match.
    const impostor = await generateEdgeSigningKey("edge-1");
    expect(await pinned.apply(await signJwksUpdate(impostor.key, HOST, impostor.jwks))).toEqual({ ok: false, reason: "bad_signature" });
    expect(pinned.current()).toEqual(current.jwks);
  });

  it("refuses an update for another host, an expired one, a replayed older one and one holding a private key", async ({ expect }) => {
    const { current, next, both } = await keys();
    const pinned = new PinnedEdgeKeys(current.jwks, { hostId: HOST });
    const now = Date.now();
    expect(await pinned.apply(await signJwksUpdate(current.key, "gpu-2", both, now))).toEqual({ ok: false, reason: "wrong_host" });
    expect(await pinned.apply(await signJwksUpdate(current.key, HOST, both, now - 10 * 60_000))).toEqual({ ok: false, reason: "expired" });
    const leaked = { keys: [...current.jwks.keys, next.key.privateJwk] };
    expect(await pinned.apply(await signJwksUpdate(current.key, HOST, leaked as JSONWebKeySet, now))).toEqual({ ok: false, reason: "invalid_keys" });
    expect(await pinned.apply("not-a-jwt")).toEqual({ ok: false, reason: "malformed" });
    // An older update (signed while edge-1 alone was published) replayed after a newer one.
    const older = await signJwksUpdate(current.key, HOST, current.jwks, now - 5_000);
    expect(await pinned.apply(await signJwksUpdate(current.key, HOST, both, now))).toMatchObject({ ok: true });
    expect(await pinned.apply(older)).toEqual({ ok: false, reason: "stale" });
    expect(pinned.kids()).toEqual(["edge-1", "edge-2"]);
  });

  it("keeps applied keys across a restart with EDGE_JWKS_FILE, unless EDGE_JWKS was changed since", async ({ expect }) => {
    const { current, next, both } = await keys();
    const dir = mkdtempSync(join(tmpdir(), "edge-keys-"));
    dirs.push(dir);
    const file = join(dir, "edge-jwks.json");
    const first = new PinnedEdgeKeys(current.jwks, { hostId: HOST, file });
    await first.apply(await signJwksUpdate(current.key, HOST, both));
    expect((JSON.parse(readFileSync(file, "utf8")) as { jwks: JSONWebKeySet }).jwks).toEqual(both);
    // Restarted with the same pin: the learned keys hold.
    expect(new PinnedEdgeKeys(current.jwks, { hostId: HOST, file }).kids()).toEqual(["edge-1", "edge-2"]);
    // Re-pinned by the operator: the new pin wins, the file is ignored.
    expect(new PinnedEdgeKeys(next.jwks, { hostId: HOST, file }).kids()).toEqual(["edge-2"]);
    // A damaged file is ignored too.
    writeFileSync(file, "{");
    expect(new PinnedEdgeKeys(current.jwks, { hostId: HOST, file }).kids()).toEqual(["edge-1"]);
    expect(publicJwkOf(next.key.privateJwk).d).toBeUndefined();
  });
});
