// Rolling EDGE_SIGNING_KEY over with hosts in flight. Steps (docs/RUNBOOK.md): publish the next
// key (EDGE_PUBLISHED_KEYS) → hosts pin it from signed heartbeat replies → switch the signing
// key, publishing the old one → drop the old one. A simulated host follows the replies the real
// edge sends at each step and must verify every edge request signed at every step.
import { env } from "cloudflare:workers";
import type { JSONWebKeySet } from "jose";
import { describe, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { type EdgeSigningKey, generateEdgeSigningKey, signEdgeRequest, verifyEdgeRequest } from "../../src/protocol/edge-signing.ts";
import { signHostPayload } from "../../src/protocol/host-signing.ts";
import { verifyJwksUpdate } from "../../src/protocol/jwks-update.ts";
import type { HeartbeatReply } from "../../src/protocol/messages.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { MemoryReplayGuard } from "../../src/protocol/replay-guard.ts";
import { adminCall, createTenant, expectProblem, submitOk } from "../support/worker-helpers.ts";
import { heartbeatMessage, received, registerHost, type TestHost, useTestHosts, waitForDispatches } from "../support/worker-hosts.ts";

const { track, liveHost } = useTestHosts();
const CURRENT = JSON.parse(env.EDGE_SIGNING_KEY) as EdgeSigningKey["privateJwk"] & { kid: string };
const currentKey: EdgeSigningKey = { kid: CURRENT.kid, privateJwk: CURRENT };
const app = createApp();

type Step = { EDGE_SIGNING_KEY: string; EDGE_PUBLISHED_KEYS?: string };
const withKeys = (step: Step) => ({ ...env, EDGE_PUBLISHED_KEYS: undefined, ...step });

async function heartbeatUnder(step: Step, host: TestHost, kids: string[] | undefined): Promise<Response> {
  const text = JSON.stringify({ ...heartbeatMessage(host), ...(kids ? { edge_kids: kids } : {}) });
  const headers = { ...(await signHostPayload([host.secret], text)), "Content-Type": "application/json" };
  return app.request(`https://api.test${edgePaths.heartbeat(host.id)}`, { method: "POST", body: text, headers }, withKeys(step));
}

const kidsOf = (jwks: { keys: { kid?: unknown }[] }) => jwks.keys.map((k) => k.kid);

describe("edge signing key rollover", () => {
  it("publishes both kids in the JWKS and the registration answer, the signing key first", async ({ expect }) => {
    const next = await generateEdgeSigningKey("edge-next");
    const step = { EDGE_SIGNING_KEY: env.EDGE_SIGNING_KEY, EDGE_PUBLISHED_KEYS: JSON.stringify(next.jwks) };
    const jwks = (await (await app.request("https://api.test/v1/hosts/jwks.json", {}, withKeys(step))).json()) as JSONWebKeySet;
    expect(kidsOf(jwks)).toEqual([CURRENT.kid, "edge-next"]);
    expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);

    const id = `gpu-${crypto.randomUUID().slice(0, 8)}`;
    const reg = await app.request(
      "https://api.test/v1/admin/hosts",
      {
        method: "POST",
        body: JSON.stringify({ id, url: "https://gpu.example.com" }),
        headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
      },
      withKeys(step),
    );
    expect(reg.status).toBe(201);
    track({ id, secret: "", jwks: { keys: [] } });
    expect(kidsOf(((await reg.json()) as { edge_jwks: JSONWebKeySet }).edge_jwks)).toEqual([CURRENT.kid, "edge-next"]);
  });

  it("hands a host whose pins differ the current set, signed by the current key; nothing to a host that pins it or does not say", async ({ expect }) => {
    const host = track(await registerHost());
    const next = await generateEdgeSigningKey("edge-next");
    const step = { EDGE_SIGNING_KEY: env.EDGE_SIGNING_KEY, EDGE_PUBLISHED_KEYS: JSON.stringify(next.jwks) };
    const reply = (await (await heartbeatUnder(step, host, [CURRENT.kid])).json()) as HeartbeatReply;
    expect(reply.edge_jwks).toEqual(expect.any(String));
    const verdict = await verifyJwksUpdate(host.jwks as JSONWebKeySet, reply.edge_jwks!, host.id);
    expect(verdict.ok && kidsOf(verdict.jwks)).toEqual([CURRENT.kid, "edge-next"]);
    // Addressed to this host only.
    expect(await verifyJwksUpdate(host.jwks as JSONWebKeySet, reply.edge_jwks!, "gpu-other")).toEqual({ ok: false, reason: "wrong_host" });
    expect(((await (await heartbeatUnder(step, host, [CURRENT.kid, "edge-next"])).json()) as HeartbeatReply).edge_jwks).toBeUndefined();
    expect(((await (await heartbeatUnder(step, host, undefined)).json()) as HeartbeatReply).edge_jwks).toBeUndefined();
    // The Dispatcher records what the host said it pins: the operator's check before switching.
    const listed = ((await (await adminCall("/v1/admin/hosts")).json()) as { data: { id: string; edge_kids: string[] | null }[] }).data;
    expect(listed.find((h) => h.id === host.id)?.edge_kids).toEqual([CURRENT.kid, "edge-next"]);
  });

  it("no edge request fails at any step: the host always pins the key the edge signs with", async ({ expect }) => {
    const host = track(await registerHost());
    const next = await generateEdgeSigningKey("edge-next");
    const steps: { name: string; env: Step; signer: EdgeSigningKey }[] = [
      { name: "before", env: { EDGE_SIGNING_KEY: env.EDGE_SIGNING_KEY }, signer: currentKey },
      { name: "next published", env: { EDGE_SIGNING_KEY: env.EDGE_SIGNING_KEY, EDGE_PUBLISHED_KEYS: JSON.stringify(next.jwks) }, signer: currentKey },
      {
        name: "switched",
        env: { EDGE_SIGNING_KEY: JSON.stringify(next.key.privateJwk), EDGE_PUBLISHED_KEYS: JSON.stringify({ keys: [{ ...CURRENT, d: undefined }] }) },
        signer: next.key,
      },
      { name: "previous dropped", env: { EDGE_SIGNING_KEY: JSON.stringify(next.key.privateJwk) }, signer: next.key },
    ];
    let pinned = host.jwks as JSONWebKeySet;
    const failures: string[] = [];
    for (const [i, step] of steps.entries()) {
      // A deployment does not switch every isolate at once: requests signed under the previous
      // step's key still arrive after the change, so each step verifies both.
      const signers = i > 0 ? [steps[i - 1]!.signer, step.signer] : [step.signer];
      for (let beat = 0; beat < 3; beat++) {
        const res = await heartbeatUnder(
          step.env,
          host,
          pinned.keys.map((k) => String(k.kid)),
        );
        if (res.status !== 200) failures.push(`${step.name}: heartbeat ${res.status}`);
        const reply = (await res.json()) as HeartbeatReply;
        if (reply.edge_jwks) {
          const verdict = await verifyJwksUpdate(pinned, reply.edge_jwks, host.id);
          if (verdict.ok) pinned = verdict.jwks as JSONWebKeySet;
          else failures.push(`${step.name}: update refused (${verdict.reason})`);
        }
        for (const signer of signers) {
          const req = { hostId: host.id, method: "POST", path: "/v1/jobs", body: `{"beat":${beat}}` };
          const token = await signEdgeRequest(signer, req);
          const verdict = await verifyEdgeRequest(pinned, `Bearer ${token}`, req, new MemoryReplayGuard());
          if (!verdict.ok) failures.push(`${step.name}: request signed by ${signer.kid} refused (${verdict.reason})`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(kidsOf(pinned)).toEqual(["edge-next"]);
  });

  it("the Dispatcher signs dispatches with the current key", async ({ expect }) => {
    const host = await liveHost();
    const t = await createTenant();
    await submitOk(t.key, "alice");
    await waitForDispatches(host, 1);
    const [call] = await received(host);
    const header = JSON.parse(atob(call!.authorization.split(" ")[1]!.split(".")[0]!.replaceAll("-", "+").replaceAll("_", "/"))) as { kid: string };
    expect(header.kid).toBe(CURRENT.kid);
  });

  it("refuses a published key that reuses the signing key's kid with another key, or holds a private key", async ({ expect }) => {
    const impostor = await generateEdgeSigningKey(CURRENT.kid);
    const clash = await app.request(
      "https://api.test/v1/hosts/jwks.json",
      {},
      withKeys({ EDGE_SIGNING_KEY: env.EDGE_SIGNING_KEY, EDGE_PUBLISHED_KEYS: JSON.stringify(impostor.jwks) }),
    );
    const body = await expectProblem(clash, 503, "misconfigured");
    expect(body.detail).toContain("another key");
    const leak = await app.request(
      "https://api.test/v1/hosts/jwks.json",
      {},
      withKeys({ EDGE_SIGNING_KEY: env.EDGE_SIGNING_KEY, EDGE_PUBLISHED_KEYS: JSON.stringify({ keys: [impostor.key.privateJwk] }) }),
    );
    expect((await expectProblem(leak, 503, "misconfigured")).detail).toContain("private key");
  });
});
