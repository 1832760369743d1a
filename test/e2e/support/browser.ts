// Browser tests' shared parts: Debian's Chromium through playwright-core (a test tool's own browser
// download does not work here), screenshots under .artifacts/ (git-ignored), an axe-core scan, and
// a record of every request and CSP report so a test can assert nothing left 127.0.0.1.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { ROOT } from "../../../scripts/lib/wrangler-dev.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(ROOT, ".artifacts", "screenshots");

export function launchBrowser(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

/** What a page did that a test asserts against: every request URL, page errors, CSP violations. */
export interface PageRecord {
  requests: string[];
  errors: string[];
  cspViolations: string[];
}

export function record(context: BrowserContext): PageRecord {
  const r: PageRecord = { requests: [], errors: [], cspViolations: [] };
  context.on("request", (req) => r.requests.push(req.url()));
  context.on("page", (page) => watchPage(page, r));
  for (const page of context.pages()) watchPage(page, r);
  return r;
}

function watchPage(page: Page, r: PageRecord): void {
  page.on("pageerror", (e) => r.errors.push(e.message));
  page.on("console", (m) => {
    // The API's own pages only: a browser's viewer of an opened output styles itself inline, which
    // the outputs' own CSP (default-src 'none') refuses, as it should.
    const ours = /^\/(?:console|docs)(?:\/|$)/.test(new URL(page.url()).pathname);
    if (ours && m.type() === "error" && /Content Security Policy/i.test(m.text())) r.cspViolations.push(`${page.url()}: ${m.text()}`);
  });
}

/** Requests that went anywhere but the local stack (data: and blob: URLs never leave the page). */
export const leftLoopback = (requests: readonly string[]) =>
  requests.filter((u) => !u.startsWith("data:") && !u.startsWith("blob:") && new URL(u).hostname !== "127.0.0.1");

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's WCAG 2 A/AA rules on the page as it is; the serious and critical violations. The
 * script is evaluated through the devtools protocol, which the page's CSP does not govern, so the
 * page is scanned under its real policy.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  // Text, so it runs in the page: these tests are not compiled against the DOM.
  const found = (await page.evaluate(`axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    resultTypes: ["violations"],
  }).then((r) => r.violations)`)) as { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
}

export const screenshot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
