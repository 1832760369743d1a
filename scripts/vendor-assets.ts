// Copies the third-party browser code the Worker serves into its static assets (public/vendor/),
// from the exact npm package versions package-lock.json pins: nothing is ever fetched from a CDN at
// view time (issue 17.5). Runs on `npm install` / `npm ci` (the `prepare` script).
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const vendor = new URL("public/vendor/", root);
mkdirSync(vendor, { recursive: true });

// The API reference page of /docs (src/routes/docs.ts).
const scalar = new URL("node_modules/@scalar/api-reference/", root);
copyFileSync(new URL("dist/browser/standalone.js", scalar), new URL("scalar-api-reference.js", vendor));
const { version } = JSON.parse(readFileSync(new URL("package.json", scalar), "utf8")) as { version: string };
console.log(`public/vendor: @scalar/api-reference ${version}`);
