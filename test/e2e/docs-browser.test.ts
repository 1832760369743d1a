// In a real browser (Debian's Chromium, driven by playwright-core), as a new user would open it:
// `/docs` renders the API's operations with every request going to the API itself (127.0.0.1),
// none to a CDN (issue 17.5). A screenshot is kept under .artifacts/ (git-ignored).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { ROOT } from "../../scripts/lib/wrangler-dev.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, ".artifacts", "screenshots");

let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 0 });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("/docs in a browser", () => {
  it("renders the operations list with no request leaving 127.0.0.1", async ({ expect }) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    try {
      await page.goto(`${stack.edge.url}/docs`, { waitUntil: "load", timeout: 30_000 });
      // The operations, by group: the first one open, the others listing their paths.
      await page.getByText("Service health").first().waitFor({ state: "visible", timeout: 30_000 });
      await page.getByText("/v1/jobs/{id}/events").first().waitFor({ state: "visible", timeout: 10_000 });
      await page.screenshot({ path: join(ARTIFACTS, "docs.png") });
    } finally {
      await page.close();
    }
    const elsewhere = requests.filter((u) => !u.startsWith("data:") && !u.startsWith("blob:") && new URL(u).hostname !== "127.0.0.1");
    expect(elsewhere).toEqual([]);
    expect(requests).toContain(`${stack.edge.url}/openapi.json`);
    expect(errors).toEqual([]);
  });
});
