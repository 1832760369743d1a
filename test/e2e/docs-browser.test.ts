// In a real browser (Debian's Chromium, driven by playwright-core), as a new user would open it:
// `/docs` renders the API's operations with every request going to the API itself (127.0.0.1),
// none to a CDN (issue 17.5). A screenshot is kept under .artifacts/ (git-ignored).
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { launchBrowser, leftLoopback, record, screenshot } from "./support/browser.ts";

let stack: LocalStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 0 });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe("/docs in a browser", () => {
  it("renders the operations list with no request leaving 127.0.0.1", async ({ expect }) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const seen = record(context);
    const page = await context.newPage();
    try {
      await page.goto(`${stack.edge.url}/docs`, { waitUntil: "load", timeout: 30_000 });
      // The operations, by group: the first one open, the others listing their paths.
      await page.getByText("Service health").first().waitFor({ state: "visible", timeout: 30_000 });
      await page.getByText("/v1/jobs/{id}/events").first().waitFor({ state: "visible", timeout: 10_000 });
      await screenshot(page, "docs");
    } finally {
      await context.close();
    }
    expect(leftLoopback(seen.requests)).toEqual([]);
    expect(seen.requests).toContain(`${stack.edge.url}/openapi.json`);
    expect(seen.errors).toEqual([]);
    expect(seen.cspViolations).toEqual([]);
  });
});
