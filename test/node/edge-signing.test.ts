// Edge → host signatures: a token is good for one request, to one host, once, for a minute.

import type { JSONWebKeySet } from "jose";
import { generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, it } from "vitest";
import {
  EDGE_ISSUER,
  EDGE_TOKEN_TYPE,
  type EdgeSigningKey,
  generateEdgeSigningKey,
  signEdgeRequest,
  verifyEdgeBody,
  verifyEdgeRequest,
  verifyEdgeToken,
} from "../../src/protocol/edge-signing.ts";
import { MemoryReplayGuard } from "../../src/protocol/replay-guard.ts";

let key: EdgeSigningKey;
let jwks: JSONWebKeySet;
const req = { hostId: "gpu-1", method: "POST", path: "/v1/jobs", body: '{"job_id":"job_1"}' };

beforeAll(async () => {
  ({ key, jwks } = await generateEdgeSigningKey("k1"));
});

const verify = async (token: string, over: Partial<typeof req> = {}, guard = new MemoryReplayGuard(), now?: number) =>
  verifyEdgeRequest(jwks, `Bearer ${token}`, { ...req, ...over }, guard, now);

describe("edge request signatures", () => {
  it("accept the request they were made for, once", async ({ expect }) => {
    const guard = new MemoryReplayGuard();
    const token = await signEdgeRequest(key, req);
    expect((await verify(token, {}, guard)).ok).toBe(true);
    expect(await verify(token, {}, guard)).toEqual({ ok: false, reason: "replayed" });
  });

  it.for([
    ["another host", { hostId: "gpu-2" }, "wrong_host"],
    ["another path", { path: "/v1/jobs/job_1/cancel" }, "wrong_request"],
    ["another method", { method: "PUT" }, "wrong_request"],
    ["another body", { body: '{"job_id":"job_2"}' }, "body_mismatch"],
  ] as const)("refuse %s", async ([, over, reason], { expect }) => {
    expect(await verify(await signEdgeRequest(key, req), over)).toEqual({ ok: false, reason });
  });

  it("verify in two steps: the token from the headers alone, then the body; a wrong body does not burn the token", async ({ expect }) => {
    const guard = new MemoryReplayGuard();
    const token = await signEdgeRequest(key, req);
    const { body: _body, ...headersOnly } = req;
    const step1 = await verifyEdgeToken(jwks, `Bearer ${token}`, headersOnly);
    if (!step1.ok) throw new Error(step1.reason);
    expect(await verifyEdgeToken(jwks, `Bearer ${token}`, { ...headersOnly, hostId: "gpu-2" })).toEqual({ ok: false, reason: "wrong_host" });
    // Someone who saw the token sends another body: refused, and the edge's own request still works once.
    expect(await verifyEdgeBody(step1.token, '{"job_id":"job_2"}', guard)).toEqual({ ok: false, reason: "body_mismatch" });
    expect(guard.size).toBe(0);
    expect((await verifyEdgeBody(step1.token, req.body, guard)).ok).toBe(true);
    expect(await verifyEdgeBody(step1.token, req.body, guard)).toEqual({ ok: false, reason: "replayed" });
  });

  it("refuse an expired token", async ({ expect }) => {
    const token = await signEdgeRequest(key, req, Date.now() - 120_000);
    expect(await verify(token)).toEqual({ ok: false, reason: "expired" });
  });

  it("refuse a token signed by a key the host does not pin", async ({ expect }) => {
    const other = await generateEdgeSigningKey("k1");
    expect(await verify(await signEdgeRequest(other.key, req))).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("refuse missing, malformed and unsigned tokens", async ({ expect }) => {
    const guard = new MemoryReplayGuard();
    expect(await verifyEdgeRequest(jwks, undefined, req, guard)).toEqual({ ok: false, reason: "missing" });
    expect(await verifyEdgeRequest(jwks, "Basic abc", req, guard)).toEqual({ ok: false, reason: "malformed" });
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const none = `${enc({ alg: "none", typ: EDGE_TOKEN_TYPE })}.${enc({ iss: EDGE_ISSUER, aud: "gpu-1" })}.`;
    expect((await verifyEdgeRequest(jwks, `Bearer ${none}x`, req, guard)).ok).toBe(false);
  });

  it("refuse a token with a lifetime over 60 s, even if validly signed", async ({ expect }) => {
    const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
    void privateKey;
    const { importJWK } = await import("jose");
    const long = await new SignJWT({ htm: "POST", htu: req.path, bsha: "x" })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: EDGE_TOKEN_TYPE })
      .setIssuer(EDGE_ISSUER)
      .setAudience("gpu-1")
      .setIssuedAt()
      .setExpirationTime("10m")
      .setJti("j")
      .sign(await importJWK(key.privateJwk, "EdDSA"));
    expect((await verify(long)).ok).toBe(false);
  });

  it("refuse a replay guard that is full of live entries instead of forgetting one", ({ expect }) => {
    const guard = new MemoryReplayGuard(2);
    const now = Date.now();
    expect(guard.claim("a", now + 60_000, now)).toBe(true);
    expect(guard.claim("b", now + 60_000, now)).toBe(true);
    expect(guard.claim("c", now + 60_000, now)).toBe(false);
    expect(guard.claim("c", now + 120_000, now + 61_000)).toBe(true);
  });
});
