// The client as its users get it (issue 16): `npm pack` of packages/client gives a tarball that
// installs into a fresh folder (dependencies from the npm registry or its cache) and imports there,
// core and Node entry, with its `comfyui-saas` command on the PATH.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "client-pack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm pack of the client", () => {
  it("installs and imports in a fresh folder", async ({ expect }) => {
    await run("npm", ["pack", "-w", "comfyui-saas-client", "--pack-destination", dir], { cwd: ROOT, timeout: 180_000 });
    const tarball = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    expect(tarball).toMatch(/^comfyui-saas-client-\d+\.\d+\.\d+\.tgz$/);
    const app = join(dir, "app");
    await run("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, tarball!)], { cwd: app, timeout: 180_000 });
    writeFileSync(
      join(app, "check.js"),
      [
        'import { ComfyClient, ApiError, webhooks } from "comfyui-saas-client";',
        'import { downloadOutputs } from "comfyui-saas-client/node";',
        'const c = new ComfyClient({ baseUrl: "http://127.0.0.1:1", apiKey: "k", userId: "u" });',
        "console.log(JSON.stringify([typeof c.submit, typeof c.watch, typeof ApiError, typeof webhooks.verify, typeof downloadOutputs]));",
      ].join("\n"),
    );
    const { stdout } = await run(process.execPath, ["check.js"], { cwd: app, timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual(["function", "function", "function", "function", "function"]);
    const help = await run(join(app, "node_modules", ".bin", "comfyui-saas"), ["--help"], { cwd: app, timeout: 30_000 });
    expect(help.stdout).toContain("run");
  });
});
