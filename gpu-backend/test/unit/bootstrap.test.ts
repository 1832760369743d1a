// A launched host trades its one-time BOOTSTRAP_TOKEN for HOST_SECRET and EDGE_JWKS before its
// configuration is read: retried while the edge refuses (it may not know the host yet) or is
// unreachable, until BOOTSTRAP_WAIT_MS; a malformed token or a foreign host id end it at once. The
// clock and the waits are injected, so nothing here depends on timing.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, it } from "vitest";
import { generateEdgeSigningKey } from "../../../src/protocol/edge-signing.ts";
import { newSecret } from "../../../src/protocol/standard-webhooks.ts";
import { bootstrapEnv } from "../../src/bootstrap.ts";
import { loadConfig } from "../../src/config.ts";

const TOKEN = `cbt_${"x".repeat(43)}`;
let server: Server;
let edge: string;
let answers: { status: number; body?: unknown }[] = [];
const seen: { path: string; body: string }[] = [];
let secret: string;
let jwks: unknown;

beforeAll(async () => {
  secret = newSecret();
  jwks = (await generateEdgeSigningKey("k1")).jwks;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ path: req.url ?? "", body });
      const next = answers.shift() ?? { status: 200, body: { host_id: "gpu-boot-1", pool: "default", secret, edge_jwks: jwks } };
      res.writeHead(next.status, { "Content-Type": "application/json" }).end(JSON.stringify(next.body ?? { status: next.status }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  edge = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  answers = [];
  seen.length = 0;
});

/** A fake clock: every wait moves it on by the time waited. */
function clock() {
  let t = 1_000_000;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

describe("bootstrap", () => {
  it("trades the token for the host's credentials, which then make a valid configuration", async ({ expect }) => {
    const env: Record<string, string | undefined> = { EDGE_URL: edge, BOOTSTRAP_TOKEN: TOKEN, COMFY_BASE_DIR: "/opt/comfyui" };
    answers = [{ status: 401 }, { status: 503 }];
    const result = await bootstrapEnv(env, clock());
    expect(result).toEqual({ ok: true, bootstrapped: true });
    expect(seen.map((s) => s.path)).toEqual(["/v1/hosts/bootstrap", "/v1/hosts/bootstrap", "/v1/hosts/bootstrap"]);
    expect(JSON.parse(seen[0]!.body)).toEqual({ token: TOKEN });
    expect(env).toMatchObject({ HOST_ID: "gpu-boot-1", HOST_SECRET: secret, EDGE_JWKS: JSON.stringify(jwks) });
    expect(env.BOOTSTRAP_TOKEN).toBeUndefined();
    const loaded = loadConfig(env);
    expect(loaded.ok).toBe(true);
  });

  it("gives up after BOOTSTRAP_WAIT_MS of refusals, with a reason and without the token", async ({ expect }) => {
    answers = Array.from({ length: 100 }, () => ({ status: 401 }));
    const env = { EDGE_URL: edge, BOOTSTRAP_TOKEN: TOKEN, BOOTSTRAP_WAIT_MS: "20000" };
    const result = await bootstrapEnv(env, clock());
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toContain("the edge answered 401");
    expect(result.problem).not.toContain(TOKEN);
    // Backing off 0.5, 1, 2, 4, 5, 5 … s: a bounded number of tries within 20 s.
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.length).toBeLessThan(10);
  });

  it("stops at once on a malformed token or an answer for another host", async ({ expect }) => {
    answers = [{ status: 422 }];
    expect(await bootstrapEnv({ EDGE_URL: edge, BOOTSTRAP_TOKEN: TOKEN }, clock())).toEqual({
      ok: false,
      problem: "BOOTSTRAP_TOKEN: refused by the edge as malformed",
    });
    expect(seen).toHaveLength(1);
    const env = { EDGE_URL: edge, BOOTSTRAP_TOKEN: TOKEN, HOST_ID: "gpu-other" };
    expect(await bootstrapEnv(env, clock())).toEqual({ ok: false, problem: "HOST_ID: differs from the host the bootstrap token was issued for" });
  });

  it("does nothing without a token, and leaves a token given with HOST_SECRET to the configuration check", async ({ expect }) => {
    expect(await bootstrapEnv({ EDGE_URL: edge }, clock())).toEqual({ ok: true, bootstrapped: false });
    const both = {
      HOST_ID: "gpu-1",
      EDGE_URL: edge,
      HOST_SECRET: secret,
      EDGE_JWKS: JSON.stringify(jwks),
      BOOTSTRAP_TOKEN: TOKEN,
      COMFY_BASE_DIR: "/opt/comfyui",
    };
    expect(await bootstrapEnv(both, clock())).toEqual({ ok: true, bootstrapped: false });
    expect(seen).toHaveLength(0);
    const loaded = loadConfig(both);
    expect(loaded).toEqual({ ok: false, problems: ["BOOTSTRAP_TOKEN: set together with HOST_SECRET; give a host one or the other"] });
  });

  it("refuses an edge URL it would not send credentials to", async ({ expect }) => {
    const result = await bootstrapEnv({ EDGE_URL: "http://edge.example.com", BOOTSTRAP_TOKEN: TOKEN }, clock());
    expect(result).toMatchObject({ ok: false, problem: expect.stringContaining("EDGE_URL: must be https://") });
  });
});
