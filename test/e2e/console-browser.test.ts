// The console in a real browser (Debian's Chromium through playwright-core) against the real local
// stack (wrangler dev, a gpu-backend, the ComfyUI emulator): a tenant signs in, submits the
// txt2img example and watches it to its image, cancels a slow job, sees a pre-flight error on its
// node; an operator sees the host and the queue, drains and resumes the host, edits a tenant's
// limits and creates and revokes a key. Every page is scanned with axe-core, looked at phone
// width, and screenshotted under .artifacts/screenshots/ (git-ignored); no request leaves 127.0.0.1.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, type ExpectStatic, it } from "vitest";
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";
import { ROOT } from "../../scripts/lib/wrangler-dev.ts";
import { launchBrowser, leftLoopback, type PageRecord, record, screenshot, seriousViolations } from "./support/browser.ts";
import { Client, pngSize, SLOW, type Tenant } from "./support/client.ts";

const USER = "console-user";
const TENANT_NAME = "Console Test Org";
const UI_TIMEOUT = 30_000;
const FAILING = {
  "1": { class_type: "EmptyImage", inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
  "2": { class_type: "RaiseErrorEmu", inputs: { image: ["1", 0], message: "boom", exception_type: "ValueError" } },
  "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "fail" } },
};

let stack: LocalStack;
let api: Client;
let browser: Browser;
let tenant: Tenant;

beforeAll(async () => {
  stack = await startLocalStack({ hosts: 1 });
  api = new Client(stack);
  const t = (await (await stack.admin("/v1/admin/tenants", { method: "POST", body: JSON.stringify({ name: TENANT_NAME }) })).json()) as { id: string };
  const k = (await (await stack.admin(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", body: JSON.stringify({ name: "console" }) })).json()) as {
    key: string;
  };
  tenant = { id: t.id, key: k.key };
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function open(viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page; seen: PageRecord }> {
  const context = await browser.newContext({ viewport });
  const seen = record(context);
  return { context, page: await context.newPage(), seen };
}

/** Signs in as a tenant's user with the keyboard only (labels, Tab, Enter). */
async function signIn(page: Page, key = tenant.key): Promise<void> {
  await page.goto(`${stack.edge.url}/console`, { waitUntil: "load" });
  await page.getByLabel("API key").focus();
  await page.keyboard.type(key);
  await page.keyboard.press("Tab");
  await page.keyboard.type(USER);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Your jobs" }).waitFor({ timeout: UI_TIMEOUT });
}

async function pasteWorkflow(page: Page, workflow: unknown): Promise<void> {
  await page.goto(`${stack.edge.url}/console/submit`, { waitUntil: "load" });
  await page.getByLabel(/Workflow JSON/).fill(JSON.stringify({ workflow }, null, 2));
}

const statusOf = (page: Page) => page.getByTestId("job-status");

function expectClean(expect: ExpectStatic, seen: PageRecord): void {
  expect(leftLoopback(seen.requests)).toEqual([]);
  expect(seen.cspViolations).toEqual([]);
  expect(seen.errors).toEqual([]);
}

describe("the console, tenant view", () => {
  it("signs in, submits the txt2img example with an edited prompt, and shows it to 100 % and its image", async ({ expect }) => {
    const { context, page, seen } = await open();
    try {
      await page.goto(`${stack.edge.url}/console`, { waitUntil: "load" });
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "console-sign-in");
      await signIn(page);
      // Credentials live in this tab's sessionStorage only: not in the URL, not in localStorage.
      expect(page.url()).not.toContain(tenant.key);
      expect(await page.evaluate("localStorage.length")).toBe(0);
      expect(await page.evaluate<string>("JSON.stringify(sessionStorage)")).toContain(tenant.key);

      await page.getByRole("link", { name: "New job" }).first().click();
      await page.getByLabel("Start from an example").selectOption({ label: "txt2img" });
      const prompt = page.locator('[data-node-id="6"]').getByLabel("text");
      await prompt.fill("a lighthouse at dusk, console test");
      await page.locator('[data-node-id="3"]').getByLabel("steps").fill("12");
      // The edits are in the workflow that is sent.
      const body = JSON.parse(await page.getByLabel(/Workflow JSON/).inputValue());
      expect(body["6"].inputs.text).toBe("a lighthouse at dusk, console test");
      expect(body["3"].inputs.steps).toBe(12);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "console-submit");

      await page.getByRole("button", { name: "Validate and submit" }).click();
      await page.waitForURL(/\/console\/jobs\/[^/]+$/, { timeout: UI_TIMEOUT });
      const jobId = decodeURIComponent(page.url().slice(page.url().lastIndexOf("/") + 1));
      await statusOf(page).getByText("succeeded").waitFor({ timeout: 60_000 });
      expect(await page.getByRole("progressbar", { name: "Job progress" }).getAttribute("value")).toBe("100");
      const image = page.getByRole("img", { name: /^Output / });
      await image.waitFor({ timeout: UI_TIMEOUT });
      // (The tests are not compiled against the DOM: the element's type is spelled out.)
      type Img = { complete: boolean; naturalWidth: number };
      await expect
        .poll(() => image.evaluate((el) => ((el as unknown as Img).complete ? (el as unknown as Img).naturalWidth : 0)), { timeout: UI_TIMEOUT })
        .toBe(512);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "console-job");

      // Opening the image: its signed link serves the PNG the host made.
      const [tab] = await Promise.all([context.waitForEvent("page"), page.getByRole("link", { name: /^Output / }).click()]);
      await tab.waitForLoadState("load");
      expect(await tab.evaluate("document.contentType")).toBe("image/png");
      const png = await context.request.get(tab.url());
      expect(png.status()).toBe(200);
      expect(pngSize(new Uint8Array(await png.body()))).toEqual([512, 512]);
      await tab.close();

      expect((await api.job(tenant, USER, jobId)).status).toBe("succeeded");

      // The jobs table lists it, ended.
      await page.getByRole("link", { name: "Jobs", exact: true }).click();
      const row = page.locator(`tr[data-job-id="${jobId}"]`);
      await row.getByText("succeeded").waitFor({ timeout: UI_TIMEOUT });
      expect(await row.getByRole("progressbar").getAttribute("value")).toBe("100");
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "console-jobs");
    } finally {
      await context.close();
    }
    expectClean(expect, seen);
  });

  it("cancels a slow job from its page, and the jobs table follows a job to its end without a reload", async ({ expect }) => {
    const { context, page, seen } = await open();
    try {
      await signIn(page);
      // Followed live by the table: a job submitted elsewhere shows up and reaches its end.
      const quick = await api.submitOk(tenant, USER, SLOW(20, 50));
      const row = page.locator(`tr[data-job-id="${quick.id}"]`);
      await row.getByText("succeeded").waitFor({ timeout: UI_TIMEOUT });

      await pasteWorkflow(page, SLOW(400, 50));
      await page.getByRole("button", { name: "Validate and submit" }).click();
      await page.waitForURL(/\/console\/jobs\/[^/]+$/, { timeout: UI_TIMEOUT });
      await statusOf(page)
        .getByText(/running|queued/)
        .waitFor({ timeout: UI_TIMEOUT });
      await page.getByRole("button", { name: "Cancel job" }).click();
      await statusOf(page).getByText("cancelled").waitFor({ timeout: UI_TIMEOUT });
      await page.getByRole("heading", { name: "Cancelled" }).waitFor({ timeout: UI_TIMEOUT });
      expect(await page.getByRole("button", { name: "Cancel job" }).count()).toBe(0);
      const id = decodeURIComponent(page.url().slice(page.url().lastIndexOf("/") + 1));
      expect((await api.job(tenant, USER, id)).status).toBe("cancelled");
    } finally {
      await context.close();
    }
    expectClean(expect, seen);
  });

  it("shows a pre-flight error on the node it belongs to, and submits nothing", async ({ expect }) => {
    const { context, page, seen } = await open();
    try {
      await signIn(page);
      const example = JSON.parse(readFileSync(join(ROOT, "examples/txt2img.json"), "utf8")) as {
        workflow: Record<string, { inputs: Record<string, unknown> }>;
      };
      example.workflow["4"]!.inputs.ckpt_name = "no-such-model.safetensors";
      const listed = async () =>
        ((await (await fetch(`${stack.edge.url}/v1/jobs?limit=100`, { headers: api.headers(tenant, USER) })).json()) as { data: unknown[] }).data.length;
      const before = await listed();
      await pasteWorkflow(page, example.workflow);
      await page.getByRole("button", { name: "Validate and submit" }).click();
      const node = page.locator('[data-node-id="4"]');
      await node.getByRole("alert").waitFor({ timeout: UI_TIMEOUT });
      expect(await node.getAttribute("aria-invalid")).toBe("true");
      expect(await node.getByRole("alert").textContent()).toContain("ckpt_name");
      // Only that node is marked.
      expect(await page.locator('[data-node-id][aria-invalid="true"]').count()).toBe(1);
      expect(page.url()).toMatch(/\/console\/submit$/);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "console-preflight-error");
      expect(await listed()).toBe(before);
    } finally {
      await context.close();
    }
    expectClean(expect, seen);
  });

  it("fits a phone's width", async ({ expect }) => {
    const { context, page, seen } = await open({ width: 390, height: 844 });
    try {
      await signIn(page);
      for (const path of ["/console", "/console/submit", "/console/operator"]) {
        await page.goto(`${stack.edge.url}${path}`, { waitUntil: "load" });
        await page.locator("h1").first().waitFor();
        const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
        expect(overflow, path).toBeLessThanOrEqual(0);
      }
      await screenshot(page, "console-phone-operator-sign-in");
    } finally {
      await context.close();
    }
    expectClean(expect, seen);
  });
});

describe("the console, operator view", () => {
  it("shows the host and the queue, drains and resumes the host, edits limits, creates and revokes a key", async ({ expect }) => {
    const { context, page, seen } = await open();
    const host = stack.hosts[0]!.id;
    try {
      await page.goto(`${stack.edge.url}/console/operator`, { waitUntil: "load" });
      expect(await seriousViolations(page)).toEqual([]);
      await page.getByLabel("Admin token").fill(stack.adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      const hostRow = page.locator(`tr[data-host-id="${host}"]`);
      await hostRow.getByText("live").waitFor({ timeout: UI_TIMEOUT });

      // A job that fails on the host shows in the failures, by its code, within a refresh.
      const failed = await api.waitForEnd(tenant, USER, (await api.submitOk(tenant, USER, FAILING)).id);
      expect(failed.status).toBe("failed");
      await page.locator("#failures-title + .table-wrap").getByText(failed.error!.code).waitFor({ timeout: UI_TIMEOUT });

      // Drained, the host takes no work: a job waits, and the queue shows it.
      await hostRow.getByRole("button", { name: `Drain host ${host}` }).click();
      await hostRow.getByRole("button", { name: `Resume host ${host}` }).waitFor({ timeout: UI_TIMEOUT });
      const hosts = (await (await stack.admin("/v1/admin/hosts")).json()) as { data: { id: string; draining: boolean }[] };
      expect(hosts.data.find((h) => h.id === host)?.draining).toBe(true);
      const waiting = await api.submitOk(tenant, USER, SLOW(10, 10));
      await page.getByTestId("queue-depth-default").getByText("1", { exact: true }).waitFor({ timeout: UI_TIMEOUT });
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, "console-operator");

      await hostRow.getByRole("button", { name: `Resume host ${host}` }).click();
      await hostRow.getByRole("button", { name: `Drain host ${host}` }).waitFor({ timeout: UI_TIMEOUT });
      expect((await api.waitForEnd(tenant, USER, waiting.id)).status).toBe("succeeded");
      await page.getByTestId("queue-depth-default").getByText("0", { exact: true }).waitFor({ timeout: UI_TIMEOUT });

      // A tenant's limits, edited.
      await page.getByRole("button", { name: TENANT_NAME }).click();
      await page.getByText(tenant.id).waitFor({ timeout: UI_TIMEOUT });
      const overrides = async () =>
        ((await (await stack.admin(`/v1/admin/tenants/${tenant.id}`)).json()) as { limit_overrides: Record<string, number | null> }).limit_overrides;
      await page.getByLabel("Active jobs per user").fill("7");
      await page.getByRole("button", { name: "Save limits" }).click();
      await page.getByRole("status").getByText("Saved.").waitFor({ timeout: UI_TIMEOUT });
      expect((await overrides()).max_active_jobs_per_user).toBe(7);

      // A key, created (shown once) and revoked.
      await page.getByLabel("New key's name").fill("from-the-console");
      await page.getByRole("button", { name: "Create key" }).click();
      const created = ((await page.getByTestId("created-key").textContent({ timeout: UI_TIMEOUT })) ?? "").trim();
      const usage = () => fetch(`${stack.edge.url}/v1/usage`, { headers: { Authorization: `Bearer ${created}`, "X-User-ID": USER } });
      expect((await usage()).status).toBe(200);
      await page.getByRole("button", { name: "Revoke key from-the-console" }).click();
      await page.getByRole("button", { name: "Revoke key from-the-console" }).waitFor({ state: "detached", timeout: UI_TIMEOUT });
      expect((await usage()).status).toBe(401);
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
    expectClean(expect, seen);
  });
});
