// src/jobs/lifecycle.ts is the only code that writes a job's status: every other module reads
// jobs, or changes what is not a status. Checked on the source itself, so a new shortcut (an
// UPDATE that sets status from a route, a DO or a helper) fails here before it can skip the
// follow-up work a status change owes (webhook event, slot release).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OWNER = "src/jobs/lifecycle.ts";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Places in `text` that write jobs.status: drizzle update/insert of `jobs`, or raw SQL. */
function statusWrites(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\.update\(jobs\)([\s\S]{0,400}?)\.where\(/g)) {
    if (/\.set\(\{[\s\S]*\bstatus\s*:/.test(m[1]!)) found.push(m[0].slice(0, 80));
  }
  for (const m of text.matchAll(/\.insert\(jobs\)/g)) found.push(m[0]);
  for (const m of text.matchAll(/\b(UPDATE\s+jobs\s+SET[^;"'`]*\bstatus\b|INSERT\s+INTO\s+jobs\b)/gi)) found.push(m[0]);
  return found;
}

describe("the job lifecycle has one owner", () => {
  it("nothing outside src/jobs/lifecycle.ts writes jobs.status", ({ expect }) => {
    const offenders: Record<string, string[]> = {};
    for (const file of [...sources(join(ROOT, "src")), ...sources(join(ROOT, "durable-objects"))]) {
      const rel = relative(ROOT, file);
      if (rel === OWNER) continue;
      const writes = statusWrites(readFileSync(file, "utf8"));
      if (writes.length > 0) offenders[rel] = writes;
    }
    expect(offenders).toEqual({});
  });

  it("the check does see the writes lifecycle.ts makes", ({ expect }) => {
    expect(statusWrites(readFileSync(join(ROOT, OWNER), "utf8")).length).toBeGreaterThanOrEqual(5);
  });
});
