// Bootstrapping a launched GPU host (issue 18.3): the admin API (or the autoscaler) issues a
// one-time, short-lived token; the host trades it once at POST /v1/hosts/bootstrap for its secret
// and the edge's keys, and then authenticates like any registered host. A used, expired, unknown
// or orphaned token gets one 401 answer.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { issueBootstrapToken } from "../../src/db/bootstrap-tokens.ts";
import { createDb } from "../../src/db/client.ts";
import { BOOTSTRAP_TOKEN_RE } from "../../src/protocol/bootstrap.ts";
import { edgePaths } from "../../src/protocol/paths.ts";
import { adminCall, call, expectProblem, json } from "../support/worker-helpers.ts";
import { heartbeat, registerHost } from "../support/worker-hosts.ts";

const redeem = (token: unknown) => call(edgePaths.bootstrap, json({ token }));

async function issue(hostId: string, body: Record<string, unknown> = {}): Promise<{ token: string; expires_at: string }> {
  const res = await adminCall(`/v1/admin/hosts/${hostId}/bootstrap-tokens`, json(body));
  if (res.status !== 201) throw new Error(`issue: ${res.status} ${await res.text()}`);
  expect201NoStore(res);
  return (await res.json()) as { token: string; expires_at: string };
}

function expect201NoStore(res: Response): void {
  if (res.headers.get("Cache-Control") !== "no-store") throw new Error("a token answer must not be cached");
}

describe("host bootstrap tokens", () => {
  it("trade once for the host's secret and the edge's keys, which then sign its heartbeats", async ({ expect }) => {
    const host = await registerHost();
    const { token, expires_at } = await issue(host.id, { ttl_seconds: 120 });
    expect(token).toMatch(BOOTSTRAP_TOKEN_RE);
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(100_000);
    expect(Date.parse(expires_at) - Date.now()).toBeLessThanOrEqual(120_000);

    const res = await redeem(token);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const reply = (await res.json()) as { host_id: string; pool: string; secret: string; edge_jwks: unknown };
    expect(reply).toEqual({ host_id: host.id, pool: "default", secret: host.secret, edge_jwks: host.jwks });
    expect((await heartbeat({ id: host.id, secret: reply.secret, jwks: host.jwks })).status).toBe(200);

    // Used up.
    await expectProblem(await redeem(token), 401, "unauthenticated");
  });

  it("refuses unknown, expired and orphaned tokens alike, and malformed ones as invalid (422)", async ({ expect }) => {
    const host = await registerHost();
    const db = createDb(env.DB);
    const unknown = `cbt_${"A".repeat(43)}`;
    const unknownAnswer = await expectProblem(await redeem(unknown), 401, "unauthenticated");
    const expired = await issueBootstrapToken(db, host.id, 1_000, Date.now() - 10_000);
    const expiredAnswer = await expectProblem(await redeem(expired.token), 401, "unauthenticated");
    expect(expiredAnswer.detail).toBe(unknownAnswer.detail);
    // The host is removed: its tokens go with it.
    const orphan = await issue(host.id);
    expect((await adminCall(`/v1/admin/hosts/${host.id}`, { method: "DELETE" })).status).toBe(200);
    await expectProblem(await redeem(orphan.token), 401, "unauthenticated");

    for (const bad of ["", "cbt_short", 42, `csk_${"A".repeat(43)}`]) await expectProblem(await redeem(bad), 422, "validation-failed");
    await expectProblem(await call(edgePaths.bootstrap, json({ token: unknown, host_id: "x" })), 422, "validation-failed");
  });

  it("issues tokens only for registered hosts, with the deployment's TTL by default and a bounded one on request", async ({ expect }) => {
    await expectProblem(await adminCall("/v1/admin/hosts/no-such-host/bootstrap-tokens", json({})), 404, "not-found");
    const host = await registerHost();
    const res = await adminCall(`/v1/admin/hosts/${host.id}/bootstrap-tokens`, { method: "POST" });
    expect(res.status).toBe(201);
    const { expires_at } = (await res.json()) as { expires_at: string };
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(800_000); // BOOTSTRAP_TOKEN_TTL_SECONDS 900
    for (const ttl of [10, 86_401, 1.5]) {
      await expectProblem(await adminCall(`/v1/admin/hosts/${host.id}/bootstrap-tokens`, json({ ttl_seconds: ttl })), 422, "validation-failed");
    }
    // Two tokens of one host are independent.
    const a = await issue(host.id);
    const b = await issue(host.id);
    expect((await redeem(b.token)).status).toBe(200);
    expect((await redeem(a.token)).status).toBe(200);
  });
});
