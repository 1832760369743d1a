// Attacks on the GPU host's files, against the real stack (wrangler dev, one gpu-backend, one
// ComfyUI emulator that is faithful to ComfyUI: it really opens absolute paths and `[temp]` names).
// Each was tried from outside on the code before the isolation work and succeeded; each must now
// fail, at the edge (422 before anything runs) and — where the edge is bypassed — on the host.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { decodePng, encodePng } from "../../gpu-backend/emulator/media/png.ts";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { Client, type Tenant } from "../e2e/support/client.ts";

let stack: LocalStack;
let api: Client;
let secretDir: string;
let secretPath: string;
/** A 7×5 PNG that only the GPU host has (a stand-in for another tenant's file or a host secret). */
const SECRET = encodePng({ width: 7, height: 5, channels: 3, data: new Uint8Array(7 * 5 * 3).fill(0x5a) });

beforeAll(async () => {
  secretDir = mkdtempSync(join(tmpdir(), "host-private-"));
  secretPath = join(secretDir, "secret.png");
  writeFileSync(secretPath, SECRET);
  stack = await startLocalStack({ hosts: 1 });
  api = new Client(stack);
});
afterAll(async () => {
  await stack?.stop();
  rmSync(secretDir, { recursive: true, force: true });
});

const base = () => stack.hosts[0]!.emulator.baseDir;
const load = (image: unknown) => ({
  "1": { class_type: "LoadImage", inputs: { image } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "stolen" } },
});

/** Files under ComfyUI's folders (relative paths), skipping nothing. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(base(), p));
    }
  };
  walk(dir);
  return out;
}

/**
 * Waits (bounded) until the gpu-backend holds no job: it lets a job go only after its files are
 * removed, so from then on the folders show what the job left behind.
 */
async function hostHoldsNothing(): Promise<void> {
  const url = `http://127.0.0.1:${stack.hosts[0]!.port}/health`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const health = (await (await fetch(url)).json()) as { held: number };
    if (health.held === 0) return;
    if (Date.now() > deadline) throw new Error(`gpu-backend still holds ${health.held} jobs`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The outputs of a job that (wrongly) ran, decoded, to tell whether the secret leaked. */
async function leaked(t: Tenant, user: string, res: Response): Promise<boolean> {
  if (res.status !== 202) return false;
  const job = await api.waitForEnd(t, user, ((await res.json()) as { id: string }).id);
  for (const o of job.outputs ?? []) {
    const img = decodePng(new Uint8Array(await (await fetch(o.url)).arrayBuffer()));
    if (img.width === 7 && img.height === 5) return true;
  }
  return false;
}

describe("a workflow reaches only its own job's files", () => {
  it.for([
    ["an absolute path", () => secretPath],
    ["a relative escape from the input folder", () => relative(join(base(), "input"), secretPath)],
    ["a path with a [input] suffix", () => `${relative(join(base(), "input"), secretPath)} [input]`],
  ] as const)("LoadImage of %s is refused before anything runs and nothing leaks", async ([, image], { expect }) => {
    const t = await api.tenant();
    const res = await api.submit(t, "mallory", load(image()));
    expect(res.status).toBe(422);
    expect(((await res.clone().json()) as { type: string }).type).toBe("https://comfyui-saas.dev/problems/invalid-input");
    expect(await leaked(t, "mallory", res)).toBe(false);
  });

  it("tenant B cannot read tenant A's preview through a [temp] name", async ({ expect }) => {
    const a = await api.tenant();
    const preview = await api.submitOk(a, "alice", {
      "1": { class_type: "EmptyImage", inputs: { width: 7, height: 5, batch_size: 1, color: 0x5a5a5a } },
      "2": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
    });
    expect((await api.waitForEnd(a, "alice", preview.id)).status).toBe("succeeded");
    // What ComfyUI would have called it: PreviewImage's reused prefix, first counter.
    const named = readdirSync(join(base(), "temp")).find((f) => f.startsWith("ComfyUI_temp_")) ?? "ComfyUI_temp_abcde_00001_.png";
    const b = await api.tenant();
    const res = await api.submit(b, "bob", load(`${named} [temp]`));
    expect(res.status).toBe(422);
    expect(await leaked(b, "bob", res)).toBe(false);
  });

  it("another scheme or a link into a file input is refused too", async ({ expect }) => {
    const t = await api.tenant();
    for (const image of ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://example.com/_x"]) {
      expect((await api.submit(t, "mallory", load(image))).status).toBe(422);
    }
    const linked = await api.submit(t, "mallory", { ...load(["5", 0]), "5": { class_type: "PrimitiveString", inputs: { value: secretPath } } });
    expect(linked.status).toBe(422);
  });

  it("a node class that writes model files is refused", async ({ expect }) => {
    const t = await api.tenant();
    const res = await api.submit(t, "mallory", { "1": { class_type: "CheckpointSave", inputs: { filename_prefix: "checkpoints/evil" } } });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { type: string }).type).toBe("https://comfyui-saas.dev/problems/node-class-not-allowed");
  });

  it("after jobs end, nothing of them is left in the host's ComfyUI folders", async ({ expect }) => {
    const t = await api.tenant();
    const job = await api.submitOk(t, "alice", {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "kept" } },
      "3": { class_type: "PreviewImage", inputs: { images: ["1", 0] } },
    });
    const done = await api.waitForEnd(t, "alice", job.id);
    expect(done.status).toBe("succeeded");
    expect(done.outputs).toHaveLength(2);
    // The host cleans up right after the job's last report; wait until it holds nothing.
    await hostHoldsNothing();
    expect(filesUnder(join(base(), "output")).filter((f) => f.startsWith("output/saas"))).toEqual([]);
    expect(filesUnder(join(base(), "input")).filter((f) => f.startsWith("input/saas"))).toEqual([]);
    expect(filesUnder(join(base(), "temp"))).toEqual([]);
  });
});
