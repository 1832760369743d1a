// Files generated from code must match the code: .env.example and docs/config.md from the config
// schema, docs/problems.md from the problem catalogue (audit items 3 and 4).
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import { renderConfigDoc, renderEnvExample } from "../../src/config/render.ts";
import { settings } from "../../src/config/schema.ts";
import { renderProblemsDoc } from "../../src/http/problem-catalog.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

describe("generated files", () => {
  it.each([
    [".env.example", renderEnvExample],
    ["docs/config.md", renderConfigDoc],
    ["docs/problems.md", renderProblemsDoc],
  ])("%s matches what the code generates (run `npm run config:gen`)", (path, render) => {
    if (read(path) !== render()) throw new Error(`${path} is out of date: run npm run config:gen and commit it`);
  });

  it("lists every variable and secret with the schema's default", ({ expect }) => {
    const example = read(".env.example");
    for (const [name, s] of Object.entries(settings)) {
      if (s.kind === "binding") continue;
      expect(example).toMatch(new RegExp(`^${name}=`, "m"));
    }
    expect(example).toMatch(/^MAX_ACTIVE_JOBS_PER_USER=5$/m);
    expect(example).toMatch(/^QUEUED_TIMEOUT_SECONDS=900$/m);
  });

  it("makes wrangler.toml's top level the production environment and dev an explicit one", ({ expect }) => {
    const toml = read("wrangler.toml");
    const topVars = toml.slice(toml.indexOf("[vars]"), toml.indexOf("\n[", toml.indexOf("[vars]") + 1));
    expect(topVars).toMatch(/^ENVIRONMENT = "production"$/m);
    expect(toml).toMatch(/^\[env\.dev\]\nvars = \{ ENVIRONMENT = "development" \}$/m);
    expect(toml).not.toMatch(/^\[env\.production\]/m);
  });

  it("keeps wrangler.toml's [vars] to values the schema accepts", ({ expect }) => {
    const toml = read("wrangler.toml");
    const vars = [...toml.matchAll(/^([A-Z_]+) = "([^"]*)"$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(vars.length).toBeGreaterThan(0);
    for (const [name, value] of vars) {
      const setting = (settings as Record<string, { schema: { safeParse(v: unknown): { success: boolean } } }>)[name];
      expect(setting, `${name} is not in the schema`).toBeDefined();
      expect(setting!.schema.safeParse(value).success, `${name}=${value}`).toBe(true);
    }
  });
});
