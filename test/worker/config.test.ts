// Production refuses to serve on a bad configuration, on every route, saying what is wrong; an
// invalid value is refused in any environment.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { createApp } from "../../src/app.ts";
import { expectProblem } from "../support/worker-helpers.ts";

const PROD = {
  ...env,
  ENVIRONMENT: "production",
  OUTBOUND_ALLOW_HOSTS: "",
  ADMIN_TOKEN: "p".repeat(48),
  DATA_ENCRYPTION_KEYS: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
};

async function withErrors<T>(fn: () => Promise<T>): Promise<{ result: T; logged: string[] }> {
  const logged: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => logged.push(args.join(" "));
  try {
    return { result: await fn(), logged };
  } finally {
    console.error = original;
  }
}

const ROUTES: [string, RequestInit][] = [
  ["/health", {}],
  ["/v1/jobs", {}],
  ["/v1/jobs", { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } }],
  ["/v1/admin/tenants", { method: "POST" }],
  ["/openapi.json", {}],
  ["/no/such/route", {}],
];

describe("production configuration", () => {
  it("serves with every secret set and no dev setting on", async ({ expect }) => {
    const res = await createApp().request("/openapi.json", {}, PROD);
    expect(res.status).toBe(200);
  });

  it.each([
    ["a missing ADMIN_TOKEN", { ADMIN_TOKEN: undefined }, "ADMIN_TOKEN is not set"],
    ["a missing DATA_ENCRYPTION_KEYS", { DATA_ENCRYPTION_KEYS: undefined }, "DATA_ENCRYPTION_KEYS is not set"],
    ["a missing OUTPUT_URL_KEYS", { OUTPUT_URL_KEYS: undefined }, "OUTPUT_URL_KEYS is not set"],
    ["a data key without an id", { DATA_ENCRYPTION_KEYS: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" }, "DATA_ENCRYPTION_KEYS entry 1 has no key id"],
    [
      "a data key id listed twice",
      { DATA_ENCRYPTION_KEYS: "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" },
      "DATA_ENCRYPTION_KEYS lists key id k1 twice",
    ],
    ["a short URL key", { OUTPUT_URL_KEYS: "u1:c2hvcnQ=" }, "OUTPUT_URL_KEYS key u1 must be the base64 encoding of exactly 32 random bytes"],
    ["a private published edge key", { EDGE_PUBLISHED_KEYS: JSON.stringify({ keys: [JSON.parse(env.EDGE_SIGNING_KEY)] }) }, "holds a private key (d)"],
    ["a short ADMIN_TOKEN", { ADMIN_TOKEN: "short" }, "ADMIN_TOKEN must be at least 32 characters"],
    ["a dev-only OUTBOUND_ALLOW_HOSTS", { OUTBOUND_ALLOW_HOSTS: "127.0.0.1:9999" }, "OUTBOUND_ALLOW_HOSTS is a dev-only setting"],
  ])("refuses every route with %s", async (_, override, expected) => {
    const envProd = { ...PROD, ...override };
    const { result, logged } = await withErrors(async () => {
      const app = createApp();
      const out: Response[] = [];
      for (const [path, init] of ROUTES) out.push(await app.request(path, init, envProd));
      return out;
    });
    for (const res of result) {
      const body = await expectProblem(res, 503, "misconfigured");
      if (!(body.detail as string).includes(expected)) throw new Error(`detail lacks "${expected}": ${body.detail as string}`);
      if (!(body.problems as string[]).some((p) => p.includes(expected))) throw new Error("problems[] lacks it");
    }
    // Logged once, naming the problem but never a secret's value.
    const lines = logged.filter((l) => l.includes('"misconfigured"'));
    if (lines.length !== 1 || !lines[0]!.includes(expected)) throw new Error(`log lines: ${JSON.stringify(logged)}`);
    if (lines[0]!.includes("p".repeat(48))) throw new Error("secret in log");
  });
});

describe("any environment", () => {
  it("refuses an invalid number instead of guessing", async ({ expect }) => {
    const { result } = await withErrors(async () => createApp().request("/health", {}, { ...env, MAX_ACTIVE_JOBS_PER_USER: "five" }));
    const body = await expectProblem(result, 503, "misconfigured");
    expect(body.detail).toMatch(/MAX_ACTIVE_JOBS_PER_USER/);
  });

  it("applies the schema's defaults when a variable is unset or empty", async ({ expect }) => {
    const app = createApp();
    const res = await app.request("/openapi.json", {}, { ...env, MAX_ACTIVE_JOBS_PER_USER: "", QUEUED_TIMEOUT_SECONDS: undefined });
    expect(res.status).toBe(200);
  });
});
