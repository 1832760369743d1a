// Attacks through requests and answers, against the real stack (wrangler dev, one gpu-backend, one
// ComfyUI emulator): bodies that used to become 5xx or endless retries, host internals in errors,
// outputs that could run script, keys and tokens that said too much, a health page that did.
import { request } from "node:http";
import { hostname } from "node:os";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { Client, EMPTY_TO_SAVE } from "../e2e/support/client.ts";

let stack: LocalStack;
let api: Client;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 1 });
  api = new Client(stack);
});
afterAll(async () => {
  await stack?.stop();
});

/** A submit body whose one node input is nested `depth` objects deep (as text: too deep to stringify). */
function deepSubmit(depth: number): string {
  const shape = {
    workflow: { ...EMPTY_TO_SAVE(), "3": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0, deep: "__DEEP__" } } },
  };
  return JSON.stringify(shape).replace('"__DEEP__"', `${'{"v":'.repeat(depth)}1${"}".repeat(depth)}`);
}

describe("bodies are bounded: a bad request is a 4xx, never a 5xx or a retry", () => {
  it.for([8_000, 4_000, 65])("a node input nested %i deep is a 400, with and without an Idempotency-Key", async (depth, { expect }) => {
    const t = await api.tenant();
    for (const extra of [{}, { "Idempotency-Key": `"deep-${depth}"` }] as Record<string, string>[]) {
      const res = await fetch(`${stack.edge.url}/v1/jobs`, { method: "POST", headers: { ...api.headers(t, "u"), ...extra }, body: deepSubmit(depth) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { type: string }).type).toBe("https://comfyui-saas.dev/problems/json-too-deep");
    }
    const list = (await (await fetch(`${stack.edge.url}/v1/jobs`, { headers: api.headers(t, "u") })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("a 200 MB multipart upload is refused with 413 long before it is all sent", async ({ expect }) => {
    const t = await api.tenant();
    const url = new URL(`${stack.edge.url}/v1/uploads`);
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    const total = 200 * 1024 * 1024;
    // The edge answers 413 and closes while we are still sending; the close may reset the
    // connection before our side has read the answer, so either counts as "stopped reading".
    const { status, sent } = await new Promise<{ status: number | "reset"; sent: number }>((resolve) => {
      let sent = 0;
      let done = false;
      const finish = (status: number | "reset") => {
        if (done) return;
        done = true;
        resolve({ status, sent });
        req.destroy();
      };
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          headers: { ...api.headers(t, "u"), "Content-Type": "multipart/form-data; boundary=----x", "Transfer-Encoding": "chunked" },
        },
        (res) => {
          res.resume();
          finish(res.statusCode ?? 0);
        },
      );
      req.on("error", () => finish("reset"));
      req.write('------x\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n');
      const pump = () => {
        while (!done && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        if (!done) req.end();
      };
      pump();
    });
    if (status !== "reset") expect(status).toBe(413);
    // The cap is 20 MiB; what sat in buffers between us and the Worker is far less than 44 MiB more.
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    // Declared too large, the answer is a readable 413 before any body is sent.
    const declared = await fetch(url, {
      method: "POST",
      headers: { ...api.headers(t, "u"), "Content-Type": "image/png", "Content-Length": String(total) },
      body: new Uint8Array(0),
    }).catch(() => undefined);
    if (declared) expect(declared.status).toBe(413);
  });
});

describe("what tenants see carries no host internals", () => {
  it("an execution error keeps the exception and the file name, not the path, the traceback or the host's name", async ({ expect }) => {
    const t = await api.tenant();
    // The host's own name (too short a name cannot be hidden without mangling words: then its id).
    const machine = hostname().length >= 3 ? hostname() : stack.hosts[0]!.id;
    const job = await api.submitOk(t, "u", {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": {
        class_type: "RaiseErrorEmu",
        inputs: { image: ["1", 0], message: `cannot open /opt/ComfyUI/models/private/key.pem on ${hostname()}`, exception_type: "FileNotFoundError" },
      },
    });
    const done = await api.waitForEnd(t, "u", job.id);
    expect(done).toMatchObject({ status: "failed", error: { code: "execution_error" } });
    const text = JSON.stringify(done.error);
    expect(text).toContain("FileNotFoundError");
    expect(text).toContain("key.pem");
    expect(text).not.toContain("/opt/ComfyUI");
    expect(text).not.toContain(machine);
    expect(text).not.toMatch(/traceback/i);
    expect(done.error.details).toMatchObject({ node_id: "2", node_type: "RaiseErrorEmu", exception_type: "FileNotFoundError" });
  });

  it("/health tells the public only whether the service works", async ({ expect }) => {
    const body = (await (await fetch(`${stack.edge.url}/health`)).json()) as Record<string, unknown>;
    expect(Object.keys(body).filter((k) => k !== "reasons")).toEqual(["status"]);
    const admin = (await (await stack.admin("/health")).json()) as Record<string, unknown>;
    expect(admin.components).toBeDefined();
  });
});

describe("outputs cannot run script in anyone's origin", () => {
  it("every download is sandboxed and not sniffed", async ({ expect }) => {
    const t = await api.tenant();
    const job = await api.waitForEnd(t, "u", (await api.submitOk(t, "u", EMPTY_TO_SAVE())).id);
    expect(job.status).toBe("succeeded");
    for (const res of [
      await fetch(job.outputs[0].url),
      await fetch(`${stack.edge.url}/v1/jobs/${job.id}/outputs/${job.outputs[0].name}`, { headers: api.headers(t, "u") }),
    ]) {
      expect(res.status).toBe(200);
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-type")).toBe("image/png");
      await res.arrayBuffer();
    }
  });
});

describe("keys and tokens say no more than they must", () => {
  it("an Idempotency-Key belongs to one user: another user's same key is a new request", async ({ expect }) => {
    const t = await api.tenant();
    const headers = { "Idempotency-Key": '"shared-key-1"' };
    const post = (user: string) =>
      fetch(`${stack.edge.url}/v1/jobs`, {
        method: "POST",
        headers: { ...api.headers(t, user), ...headers },
        body: JSON.stringify({ workflow: EMPTY_TO_SAVE() }),
      });
    const a = await post("alice");
    const b = await post("bob");
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(((await a.json()) as { id: string }).id).not.toBe(((await b.json()) as { id: string }).id);
  });

  it("an unknown JWT issuer and a bad signature get the same 401 detail", async ({ expect }) => {
    const issuer = `https://issuer-${crypto.randomUUID()}.example.com`;
    const real = await generateKeyPair("ES256", { extractable: true });
    const other = await generateKeyPair("ES256", { extractable: true });
    const created = await stack.admin("/v1/admin/tenants", {
      method: "POST",
      body: JSON.stringify({ name: "jwt", jwt: { issuer, audience: "api", public_key: await exportSPKI(real.publicKey), algorithms: ["ES256"] } }),
    });
    expect(created.status).toBe(201);
    const token = (iss: string, key: Parameters<SignJWT["sign"]>[0]) =>
      new SignJWT({ sub: "alice" }).setProtectedHeader({ alg: "ES256" }).setIssuer(iss).setAudience("api").setExpirationTime("5m").sign(key);
    const detailOf = async (jwt: string) => {
      const res = await fetch(`${stack.edge.url}/v1/jobs`, { headers: { Authorization: `Bearer ${jwt}` } });
      expect(res.status).toBe(401);
      return ((await res.json()) as { detail: string }).detail;
    };
    const badSignature = await detailOf(await token(issuer, other.privateKey));
    const unknownIssuer = await detailOf(await token("https://nobody.example.com", other.privateKey));
    expect(badSignature).toBe(unknownIssuer);
    expect((await fetch(`${stack.edge.url}/v1/jobs`, { headers: { Authorization: `Bearer ${await token(issuer, real.privateKey)}` } })).status).toBe(200);
  });
});
