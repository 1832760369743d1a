// End to end (issue 16): the TypeScript client (packages/client) against the real stack (wrangler
// dev, a gpu-backend, a ComfyUI emulator). It runs a txt2img graph and watches every event,
// downloads PNGs that decode at the asked size, resumes a dropped event stream without loss, walks
// 250 jobs with `list`, retries a 429 after its Retry-After, and the README's "From code" runs as
// written.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, it } from "vitest";
import txt2img from "../../examples/txt2img.json" with { type: "json" };
import { ComfyClient, type JobStreamEvent } from "../../packages/client/src/index.ts";
import { downloadOutputs } from "../../packages/client/src/node.ts";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { ROOT } from "../../scripts/lib/wrangler-dev.ts";
import { Client, EMPTY_TO_SAVE, pngSize, SLOW } from "./support/client.ts";

const run = promisify(execFile);
let stack: LocalStack;
let api: Client;
let dir: string;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 1, emulatorArgs: ["--step-ms", "10"] });
  api = new Client(stack);
  dir = mkdtempSync(join(tmpdir(), "client-e2e-"));
});
afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function client(limits: Record<string, number> = {}, fetch?: typeof globalThis.fetch) {
  const t = await api.tenant({ max_active_jobs_per_user: 20, ...limits });
  return { t, c: new ComfyClient({ baseUrl: stack.edge.url, apiKey: t.key, userId: "dev", ...(fetch ? { fetch } : {}) }) };
}

let seed = 0;
const graph = (steps = 20) => {
  const wf = structuredClone(txt2img.workflow) as Record<string, any>;
  wf["3"].inputs.steps = steps;
  wf["3"].inputs.seed = ++seed + Date.now();
  return wf;
};

describe("the client on the real stack", () => {
  it("runs txt2img, watches every event and downloads PNGs of the asked size", async ({ expect }) => {
    const { c } = await client();
    const job = await c.submit(graph());
    const events: JobStreamEvent[] = [];
    for await (const e of c.watch(job.id)) events.push(e);
    expect(events[0]!.type).toBe("job.queued");
    expect(events.at(-1)!.type).toBe("job.succeeded");
    expect(events.map((e) => e.type)).toContain("job.progress");
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    const done = await c.get(job.id);
    const files = await downloadOutputs(c, done, join(dir, "txt2img"));
    expect(files).toHaveLength(1);
    expect(pngSize(readFileSync(files[0]!))).toEqual([512, 512]);
  });

  it("resumes a dropped event stream with Last-Event-ID and loses or repeats nothing", async ({ expect }) => {
    // The first event stream this client opens is cut after a few chunks, as a flaky network would.
    let cut = false;
    let opened = 0;
    const dropping: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith("/events")) opened++;
      if (cut || !url.endsWith("/events") || !res.body) return res;
      cut = true;
      let chunks = 0;
      const body = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            if (++chunks > 4) controller.error(new Error("connection reset"));
            else controller.enqueue(chunk);
          },
        }),
      );
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const { t, c } = await client({}, dropping);
    const job = await c.submit(graph(150));
    const seen: JobStreamEvent[] = [];
    for await (const e of c.watch(job.id)) seen.push(e);
    // The cut came before the end (the job sends far more than 4 chunks), so the stream was reopened.
    expect(opened).toBeGreaterThanOrEqual(2);
    // A second, undisturbed reading of the whole history is the same events.
    const again: JobStreamEvent[] = [];
    for await (const e of new ComfyClient({ baseUrl: stack.edge.url, apiKey: t.key, userId: "dev" }).watch(job.id)) again.push(e);
    expect(seen.map((e) => [e.id, e.type])).toEqual(again.map((e) => [e.id, e.type]));
    expect(seen.at(-1)!.type).toBe("job.succeeded");
  });

  it("walks 250 jobs with list, every page", async ({ expect }) => {
    const { c } = await client({ max_active_jobs_per_user: 300, max_active_jobs_per_tenant: 300, requests_per_minute: 1000 });
    // No host takes them fast enough to matter: submitted and cancelled, they are 250 jobs all the same.
    const ids: string[] = [];
    for (let i = 0; i < 250; i += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => c.submit(SLOW(1000, 1))));
      ids.push(...batch.map((j) => j.id));
      await Promise.all(batch.map((j) => c.cancel(j.id)));
    }
    const listed: string[] = [];
    for await (const j of c.list({ pageSize: 40 })) listed.push(j.id);
    expect(listed).toHaveLength(250);
    expect(new Set(listed)).toEqual(new Set(ids));
  });

  it("retries a 429 after its Retry-After and then succeeds", async ({ expect }) => {
    const statuses: number[] = [];
    let onRefused: (() => void) | undefined;
    const watching: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const req = input instanceof Request ? input : undefined;
      if (req?.method === "POST" && req.url.endsWith("/v1/jobs")) {
        statuses.push(res.status);
        if (res.status === 429) onRefused?.();
      }
      return res;
    };
    const { c } = await client({ max_active_jobs_per_user: 1 }, watching);
    const first = await c.submit(SLOW(400, 20));
    // The second submit is refused (one active job allowed); the first is cancelled meanwhile, so
    // the retry after Retry-After (5 s) is admitted.
    onRefused = () => void c.cancel(first.id);
    const second = await c.submit(EMPTY_TO_SAVE(8, 8, 1));
    expect(statuses).toEqual([202, 429, 202]);
    expect((await c.waitFor(second.id, { timeoutMs: 60_000 })).status).toBe("succeeded");
  });
});

function readmeBlock(name: string): string {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const m = new RegExp(`<!-- ${name}:start[^>]*-->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`).exec(readme);
  if (!m) throw new Error(`README has no ${name} block`);
  return m[1]!;
}

describe("README: From code", () => {
  it("runs as written against the stack, with the built package", async ({ expect }) => {
    await run("npm", ["run", "build", "-w", "comfyui-saas-client"], { cwd: ROOT, timeout: 120_000 });
    const t = await api.tenant();
    // In the repository's root, so `comfyui-saas-client` and ./examples resolve as in a checkout.
    const file = join(ROOT, `.readme-from-code-${process.pid}.ts`);
    writeFileSync(file, readmeBlock("code"));
    const out = join(dir, "from-code");
    try {
      const { stdout } = await run(process.execPath, [file], {
        cwd: dir,
        env: { ...process.env, BASE: stack.edge.url, KEY: t.key, OUT: out },
        timeout: 120_000,
      });
      const lines = stdout.trim().split("\n");
      expect(lines.some((l) => /^\d+(\.\d+)?%$/.test(l))).toBe(true);
      const written = JSON.parse(lines.at(-1)!) as string[];
      expect(written).toHaveLength(1);
      expect(pngSize(readFileSync(written[0]!))).toEqual([512, 512]);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
