// Lock files: every entry pinned or the file is refused; the hash does not depend on formatting;
// a ComfyUI checkout is compared with the lock; models download with resume and sha256 checks.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";
import { createCatalog } from "../../emulator/nodes/catalog.ts";
import { EMULATOR_MODULE } from "../../emulator/nodes/ksampler-emu.ts";
import { allowedNodeClasses, type LockFile, loadLock, parseLock, verifyOnDisk } from "../../src/locks.ts";
import { fetchModel } from "../../src/model-fetch.ts";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const COMMIT = "a125cd84b054a57729b5eecab930ca9408719832";
const HASH = `sha256:${"ab".repeat(32)}`;

function comfyLock(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    lock_version: 1,
    target: "comfyui",
    comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: COMMIT, version: "0.3.64" },
    custom_nodes: [{ name: "comfyui-example", repo: "https://github.com/example/comfyui-example", commit: "b".repeat(40) }],
    python: {
      version: "3.12.3",
      requirements: ["torch", "torchvision", "torchaudio"].map((name) => ({ name, version: "2.8.0+cu128", hashes: [HASH] })),
    },
    models: [
      {
        name: "sd15",
        url: `https://huggingface.co/org/sd15/resolve/${"c".repeat(40)}/model.safetensors`,
        revision: "c".repeat(40),
        sha256: "d".repeat(64),
        size: 10,
        path: "models/checkpoints/sd15.safetensors",
      },
    ],
    ...over,
  };
}

const problemsOf = (lock: unknown) => {
  const r = parseLock(JSON.stringify(lock));
  return r.ok ? [] : r.problems;
};

describe("lock files", () => {
  it("the emulator lock in the repository is valid", ({ expect }) => {
    const r = loadLock(new URL("../../locks/emulator.lock.json", import.meta.url).pathname);
    if (!r.ok) throw new Error(r.problems.join("; "));
    expect(r.lock.target).toBe("emulator");
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the emulator lock allows ComfyUI core's classes at its commit plus the emulator's own", ({ expect }) => {
    const r = loadLock(new URL("../../locks/emulator.lock.json", import.meta.url).pathname);
    if (!r.ok) throw new Error(r.problems.join("; "));
    const allowed = allowedNodeClasses(r.lock);
    if (!allowed.ok) throw new Error(allowed.problem);
    expect(allowed.source).toBe("core+extra");
    // Every class the emulator has is allowed: its core ones are in the bundled list of a125cd84.
    for (const [name, node] of createCatalog()) {
      expect(allowed.classes.has(name), name).toBe(true);
      expect(r.lock.extra_node_classes?.includes(name), name).toBe(node.pythonModule === EMULATOR_MODULE);
    }
    expect(allowed.classes.has("KSampler")).toBe(true);
    expect(allowed.classes.has("NoSuchNode")).toBe(false);
  });

  it("node classes: an explicit list replaces core's; a commit without a bundled list and no explicit list is refused", ({ expect }) => {
    const parse = (over: Record<string, unknown>) => {
      const r = parseLock(JSON.stringify(comfyLock(over)));
      if (!r.ok) throw new Error(r.problems.join("; "));
      return r.lock;
    };
    expect(allowedNodeClasses(parse({ allowed_node_classes: ["LoadImage", "SaveImage"] }))).toMatchObject({
      ok: true,
      source: "explicit",
      classes: new Set(["LoadImage", "SaveImage"]),
    });
    const extra = allowedNodeClasses(parse({ extra_node_classes: ["Image Resize (rgthree)"] }));
    expect(extra.ok && extra.classes.has("Image Resize (rgthree)") && extra.classes.has("LoadImage")).toBe(true);
    const unknown = allowedNodeClasses(parse({ comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: "e".repeat(40), version: "0.3.99" } }));
    expect(unknown).toMatchObject({ ok: false, problem: expect.stringMatching(/no bundled list .* e{40}.* no allowed_node_classes/) });
    expect(problemsOf(comfyLock({ allowed_node_classes: ["A"], extra_node_classes: ["B"] })).join("\n")).toMatch(
      /either allowed_node_classes or extra_node_classes/,
    );
    expect(problemsOf(comfyLock({ allowed_node_classes: [] })).join("\n")).toMatch(/allowed_node_classes/);
  });

  it("a fully pinned ComfyUI lock is valid", ({ expect }) => {
    expect(problemsOf(comfyLock())).toEqual([]);
  });

  it.for<[string, Record<string, unknown>, RegExp]>([
    [
      "a branch instead of a commit",
      { comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: "master", version: "0.3.64" } },
      /comfyui\.commit/,
    ],
    ["a tag for a custom node", { custom_nodes: [{ name: "x", repo: "https://github.com/a/x", commit: "v1.2.0" }] }, /custom_nodes\.0\.commit/],
    ["an abbreviated commit", { comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: "a125cd84", version: "0.3.64" } }, /40-character/],
    [
      "a requirement without hashes",
      {
        python: {
          version: "3.12.3",
          requirements: [
            { name: "torch", version: "2.8.0", hashes: [] },
            { name: "torchvision", version: "0.23.0", hashes: [HASH] },
            { name: "torchaudio", version: "2.8.0", hashes: [HASH] },
          ],
        },
      },
      /hash/,
    ],
    [
      "a version range",
      {
        python: {
          version: "3.12.3",
          requirements: [
            { name: "torch", version: ">=2.0", hashes: [HASH] },
            { name: "torchvision", version: "0.23.0", hashes: [HASH] },
            { name: "torchaudio", version: "2.8.0", hashes: [HASH] },
          ],
        },
      },
      /exact version/,
    ],
    ["'latest'", { python: { version: "latest", requirements: [] } }, /exact version/],
    [
      "torchaudio missing",
      {
        python: {
          version: "3.12.3",
          requirements: [
            { name: "torch", version: "2.8.0", hashes: [HASH] },
            { name: "torchvision", version: "0.23.0", hashes: [HASH] },
          ],
        },
      },
      /torchaudio must be pinned/,
    ],
    [
      "a model URL to a branch",
      {
        models: [
          {
            name: "m",
            url: "https://huggingface.co/org/m/resolve/main/m.safetensors",
            revision: "c".repeat(40),
            sha256: "d".repeat(64),
            size: 1,
            path: "models/m",
          },
        ],
      },
      /must contain the pinned revision/,
    ],
    [
      "a model without sha256",
      { models: [{ name: "m", url: `https://huggingface.co/org/m/resolve/${"c".repeat(40)}/m`, revision: "c".repeat(40), size: 1, path: "models/m" }] },
      /models\.0\.sha256/,
    ],
    [
      "a model path escaping the folder",
      { models: [{ name: "m", url: `https://x.example/${"c".repeat(40)}`, revision: "c".repeat(40), sha256: "d".repeat(64), size: 1, path: "../m" }] },
      /relative path/,
    ],
    ["an unknown key", { extra: true }, /Unrecognized key/i],
  ])("refuses %s", ([, over, problem], { expect }) => {
    expect(problemsOf(comfyLock(over)).join("\n")).toMatch(problem);
  });

  it("hashes the canonical JSON: key order and whitespace do not matter, content does", ({ expect }) => {
    const a = parseLock(JSON.stringify(comfyLock()));
    const reordered = Object.fromEntries(Object.entries(comfyLock()).reverse());
    const b = parseLock(JSON.stringify(reordered, null, 4));
    const c = parseLock(
      JSON.stringify(comfyLock({ comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: "e".repeat(40), version: "0.3.64" } })),
    );
    if (!a.ok || !b.ok || !c.ok) throw new Error("invalid");
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
  });

  it("compares a ComfyUI checkout with the lock: commits, local edits, model size and sha256", async ({ expect, onTestFinished }) => {
    const dir = mkdtempSync(join(tmpdir(), "lock-verify-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const git = (cwd: string, ...args: string[]) =>
      execFileSync("git", ["-C", cwd, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { encoding: "utf8" }).trim();
    const repo = (path: string) => {
      mkdirSync(path, { recursive: true });
      git(path, "init", "-q");
      writeFileSync(join(path, "main.py"), "print('hi')\n");
      git(path, "add", ".");
      git(path, "commit", "-q", "-m", "init");
      return git(path, "rev-parse", "HEAD");
    };
    const comfyCommit = repo(dir);
    const nodeCommit = repo(join(dir, "custom_nodes", "comfyui-example"));
    const model = Buffer.from("model-bytes");
    mkdirSync(join(dir, "models", "checkpoints"), { recursive: true });
    writeFileSync(join(dir, "models", "checkpoints", "m.safetensors"), model);
    const rev = "c".repeat(40);
    const lockOf = (over: Partial<{ comfy: string; node: string; sha: string; size: number }> = {}) => {
      const parsed = parseLock(
        JSON.stringify(
          comfyLock({
            comfyui: { repo: "https://github.com/comfyanonymous/ComfyUI", commit: over.comfy ?? comfyCommit, version: "0.3.64" },
            custom_nodes: [{ name: "comfyui-example", repo: "https://github.com/example/comfyui-example", commit: over.node ?? nodeCommit }],
            models: [
              {
                name: "m",
                url: `https://huggingface.co/o/m/resolve/${rev}/m.safetensors`,
                revision: rev,
                sha256: over.sha ?? sha(model),
                size: over.size ?? model.length,
                path: "models/checkpoints/m.safetensors",
              },
            ],
          }),
        ),
      );
      if (!parsed.ok) throw new Error(parsed.problems.join("; "));
      return parsed.lock as LockFile;
    };
    expect(await verifyOnDisk(lockOf(), dir)).toEqual([]);
    expect(await verifyOnDisk(lockOf({ comfy: "f".repeat(40) }), dir)).toEqual([expect.stringMatching(/^ComfyUI: checked out at .*, lock pins f+$/)]);
    expect(await verifyOnDisk(lockOf({ node: "f".repeat(40) }), dir)).toEqual([expect.stringMatching(/^custom node comfyui-example/)]);
    expect(await verifyOnDisk(lockOf({ sha: "0".repeat(64) }), dir)).toEqual(["model m: SHA-256 differs from the lock"]);
    expect(await verifyOnDisk(lockOf({ sha: "0".repeat(64) }), dir, "size")).toEqual([]);
    expect(await verifyOnDisk(lockOf({ size: 3 }), dir)).toEqual([`model m: ${model.length} bytes, lock says 3`]);
    writeFileSync(join(dir, "main.py"), "print('patched')\n");
    expect(await verifyOnDisk(lockOf(), dir)).toEqual(["ComfyUI: tracked files are modified"]);
  });
});

describe("host setup from a lock", () => {
  it("lock-plan writes hashed pip requirements and the checkouts; setup-host.sh parses", async ({ expect, onTestFinished }) => {
    const dir = mkdtempSync(join(tmpdir(), "lock-plan-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "host.lock.json"), JSON.stringify(comfyLock()));
    const plan = fileURLToPath(new URL("../../src/cli/lock-plan.ts", import.meta.url));
    const out = execFileSync(process.execPath, [plan, join(dir, "host.lock.json"), join(dir, "req.txt")], { encoding: "utf8" });
    expect(out.trim().split("\n")).toEqual([
      `. https://github.com/comfyanonymous/ComfyUI ${COMMIT}`,
      `custom_nodes/comfyui-example https://github.com/example/comfyui-example ${"b".repeat(40)}`,
    ]);
    const req = readFileSync(join(dir, "req.txt"), "utf8");
    expect(req).toContain(`torch==2.8.0+cu128 \\\n    --hash=${HASH}`);
    expect(req.match(/==/g)).toHaveLength(3);
    // The emulator lock is not a ComfyUI host: refused.
    const emu = fileURLToPath(new URL("../../locks/emulator.lock.json", import.meta.url));
    expect(() => execFileSync(process.execPath, [plan, emu, join(dir, "x.txt")], { stdio: "pipe" })).toThrow();
    execFileSync("bash", ["-n", fileURLToPath(new URL("../../scripts/setup-host.sh", import.meta.url))]);
  });
});

describe("model download", () => {
  it("resumes an interrupted download with a Range request and verifies the sha256", async ({ expect, onTestFinished }) => {
    const body = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => i % 251));
    const dir = mkdtempSync(join(tmpdir(), "model-fetch-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const ranges: string[] = [];
    let first = true;
    const server = createServer((req, res) => {
      ranges.push(req.headers.range ?? "none");
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      const start = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, {
        "Content-Length": body.length - start,
        ...(m ? { "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
      });
      if (first) {
        first = false;
        // The connection ends mid-file, once some bytes are on disk (bytes still in fetch's
        // buffers when a connection dies are lost; resuming from what is on disk covers that).
        res.write(body.subarray(0, 100_000));
        const part = join(dir, "models/m.bin.part");
        const started = Date.now();
        const poll = setInterval(() => {
          if ((existsSync(part) && statSync(part).size > 0) || Date.now() - started > 5_000) {
            clearInterval(poll);
            res.socket?.end();
          }
        }, 5);
        return;
      }
      res.end(body.subarray(start));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const model = {
      name: "m",
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/m.bin`,
      sha256: sha(body),
      size: body.length,
      path: "models/m.bin",
    };

    await expect(fetchModel(model, dir)).rejects.toThrow();
    expect(statSync(join(dir, "models/m.bin.part")).size).toBeGreaterThan(0);
    expect(await fetchModel(model, dir)).toBe("resumed");
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[1]!)![0])).toBeGreaterThan(0);
    expect(readFileSync(join(dir, "models/m.bin")).equals(body)).toBe(true);
    expect(await fetchModel(model, dir)).toBe("present");
  });

  it("refuses a file whose sha256 differs from the lock and removes the partial download", async ({ expect, onTestFinished }) => {
    const server = createServer((_req, res) => res.end("not the model"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const dir = mkdtempSync(join(tmpdir(), "model-fetch-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const model = { name: "m", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/m`, sha256: "0".repeat(64), size: 13, path: "m.bin" };
    await expect(fetchModel(model, dir)).rejects.toThrow(/SHA-256 differs/);
    expect(existsSync(join(dir, "m.bin.part"))).toBe(false);
    expect(existsSync(join(dir, "m.bin"))).toBe(false);
  });
});
